"""Without the `sandbox` extra, `sandbox` and `demo` say how to get it, in one line, exit 2,
and everything else still works. The missing packages are simulated in a child interpreter
by a meta-path finder that refuses to import them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BLOCK_SANDBOX_PACKAGES = """
import importlib.abc, sys
BLOCKED = {"starlette", "uvicorn", "openapi_core"}

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
from spp_activities.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_without_extra(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_SANDBOX_PACKAGES, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", [["sandbox"], ["sandbox", "--port", "0"], ["demo"]])
def test_sandbox_and_demo_name_the_extra_in_one_line(command: list[str]) -> None:
    result = run_without_extra(*command)
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "pip install 'spp-activities[sandbox]'" in line
    assert "Traceback" not in result.stderr


def test_the_client_commands_need_no_extra(tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("client_id,content\n1,hello\n", encoding="utf-8")
    result = run_without_extra("import", str(rows), "--dry-run", "--progress", "none")
    assert result.returncode == 0, result.stderr
    assert "spp-activities[sandbox]" not in result.stderr
    assert run_without_extra("create", "--help").returncode == 0
