"""A new project: `pip install '<this checkout>[sandbox]'` (and pytest) into an empty virtual
environment, a short test that asks for `spp_sandbox`, and it passes.

This is the one test that installs from the package index (the dependencies are not in the
checkout), so it is marked slow: `pytest -m 'not slow'` leaves it out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

USER_TEST = """\
from spp_activities import SPPClient

def test_logs_the_call(spp_sandbox):
    SPPClient().activities.create(1, "Called about the invoice")
    assert spp_sandbox.activities(client_id=1)[0]["content"] == "Called about the invoice"
"""


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_new_project_needs_only_the_sandbox_extra(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env = {k: v for k, v in env.items() if not k.startswith(("SPP_", "PYTEST_"))}
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", f"{ROOT}[sandbox]", f"pytest=={pytest.__version__}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=840,
    )
    assert install.returncode == 0, install.stderr[-3000:]

    project = tmp_path / "project"
    project.mkdir()
    (project / "test_integration.py").write_text(USER_TEST)
    result = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
