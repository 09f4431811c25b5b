"""The Makefile installs Node only for what needs it: the spec lint (Spectral) and the Prism
tests. `make demo` and `make generate` need Python alone. Read from `make -n -B` (what make
would run from scratch), so nothing is installed by this test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def would_run(target: str) -> str:
    return subprocess.run(
        ["make", "-n", "-B", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


@pytest.mark.parametrize("target", ["demo", "generate"])
def test_python_only_targets_never_run_npm(target: str) -> None:
    plan = would_run(target)
    assert "pip install" in plan
    assert "npm" not in plan


@pytest.mark.parametrize("target", ["lint-spec", "test", "install"])
def test_node_targets_install_node(target: str) -> None:
    assert "npm ci" in would_run(target)
