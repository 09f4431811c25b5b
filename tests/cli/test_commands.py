"""The `sandbox` and `demo` subcommands' wiring, and fast start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import spp_activities.cli.demo
import spp_activities.sandbox
from spp_activities.sandbox import SandboxOptions

HEAVY = ("uvicorn", "starlette", "openapi_core", "tqdm")

RunCli = Callable[..., Any]  # the run_cli fixture (tests/conftest.py)


def test_sandbox_passes_its_flags_to_serve(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[SandboxOptions] = []
    monkeypatch.setattr(spp_activities.sandbox, "serve", seen.append)
    args = ["sandbox", "--port", "0", "--token", "a", "--token", "b", "--clients", "1-3,7"]
    args += ["--faults", "429=0.5", "--seed", "3", "--slow-seconds", "0.5", "--rate-limit", "50"]
    args += ["--read-timeout", "2.5", "--max-connections", "7"]
    result = run_cli(args)
    assert result.code == 0, result.err
    (options,) = seen
    assert options == SandboxOptions(
        host="127.0.0.1",
        port=0,
        db=None,
        tokens=("a", "b"),
        clients=[1, 2, 3, 7],
        faults={"429": 0.5},
        seed=3,
        rate_limit=50.0,
        slow_seconds=0.5,
        read_timeout=2.5,
        max_connections=7,
    )


def test_sandbox_flags_left_out_take_the_options_defaults(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[SandboxOptions] = []
    monkeypatch.setattr(spp_activities.sandbox, "serve", seen.append)
    assert run_cli(["sandbox"]).code == 0
    assert seen == [SandboxOptions(port=8000)]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--port", "70000"], "expected a port from 0 to 65535"),
        (["--clients", "5-1"], "ends before it starts"),
        (["--clients", "1,x"], "entry 2 is not a client ID"),
        (["--slow-seconds", "-1"], "expected a number >= 0"),
        (["--faults", "429=2"], "rates are probabilities"),
        (["--faults", "teapot=0.1"], "entry 1 names an unknown fault kind; expected one of"),
        (["--rate-limit", "0"], "expected a number > 0"),
        (["--read-timeout", "0"], "expected a number of seconds > 0"),
        (["--max-connections", "0"], "a whole number >= 1"),
        (["--host", "0.0.0.0"], "pass --allow-remote"),
        (["--host", "::"], "pass --allow-remote"),
        (["--host", "0.0.0.0", "--allow-remote"], "a token of your own"),
        (["--host", "0.0.0.0", "--allow-remote", "--token", "sandbox-token"], "token of your own"),
    ],
)
def test_sandbox_rejects_bad_flags_with_2(run_cli: RunCli, args: list[str], says: str) -> None:
    result = run_cli(["sandbox", "--port", "0", *args])
    assert result.code == 2
    assert says in result.err


def test_demo_returns_the_demos_exit_code(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spp_activities.cli.demo, "run", lambda: 0)
    assert run_cli(["demo"]).code == 0


STARTUP_PROBE = """
import json, sys
from spp_activities.cli import main
codes = [main(argv) for argv in ARGVS]
print(json.dumps({"codes": codes, "modules": sorted(sys.modules)}))
"""


@pytest.mark.parametrize(
    "argvs",
    [
        [["--help"]],
        [["create", "--client-id", "0", "--content", "x"]],
        [["create", "--client-id", "1", "--content", " "]],
        [["import", "--help"]],
        [["import", "/nonexistent/notes.csv"], ["import", "/nonexistent/notes.csv", "--dry-run"]],
    ],
)
def test_help_and_bad_input_do_not_import_the_heavy_stack(argvs: list[list[str]]) -> None:
    code = STARTUP_PROBE.replace("ARGVS", json.dumps(argvs))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["codes"][0] in (0, 2)
    loaded = {name.split(".")[0] for name in report["modules"]}
    assert not loaded & set(HEAVY)
    if argvs[0][0] != "import" or "--help" in argvs[0]:
        # Nor the client: help and rejecting bad input need neither httpx nor spp_api.
        assert not loaded & {"httpx", "spp_api", "attrs"}
    if all("--help" in argv or argv[0] != "import" for argv in argvs):
        assert "spp_activities.importer" not in report["modules"]
