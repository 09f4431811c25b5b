"""Fixtures shared by every test area: a real sandbox on a free loopback port, and the CLI.

`sandbox` is a started `Sandbox` with a temporary SQLite database and default options
(token "sandbox-token", clients 1-100). `sandbox_factory(**options)` starts one with other
options (faults, seed, rate_limit, tokens, clients, db, ...). Each is stopped after its test.
`run_cli(args, workspace=..., token=...)` runs `spp-activities ...` in-process with the
environment set for that call, and returns its exit code, stdout and stderr.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from spp_activities.cli import main
from spp_activities.sandbox import Sandbox

# pytest's own `pytester` fixture: the pytest plugin's tests (tests/plugin) run users' test
# files with it. pytest takes `pytest_plugins` only from the top-level conftest.
pytest_plugins = ["pytester"]

SandboxFactory = Callable[..., Sandbox]


@pytest.fixture
def sandbox_factory(tmp_path: Path) -> Iterator[SandboxFactory]:
    started: list[Sandbox] = []

    def start(**options: Any) -> Sandbox:
        sandbox = Sandbox(**options).start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in reversed(started):
        sandbox.stop()


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory, tmp_path: Path) -> Sandbox:
    return sandbox_factory(db=tmp_path / "sandbox.db")


@dataclass
class CliRun:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliRun]:
    def run(
        args: Sequence[object],
        *,
        workspace: str | None = None,
        token: str | None = None,
        stdin: bytes | None = None,
        api_version: str | None = None,
    ) -> CliRun:
        for name in ("SPP_WORKSPACE_URL", "SPP_API_TOKEN", "SPP_API_VERSION"):
            monkeypatch.delenv(name, raising=False)
        if api_version is not None:
            monkeypatch.setenv("SPP_API_VERSION", api_version)
        if workspace is not None:
            monkeypatch.setenv("SPP_WORKSPACE_URL", workspace)
        if token is not None:
            monkeypatch.setenv("SPP_API_TOKEN", token)
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return run
