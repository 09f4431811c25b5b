"""The `run_cli` fixture: `spp-activities ...` in-process, with env set per call."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from import_helpers import Run
from spp_activities.cli import main


@pytest.fixture
def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Run]:
    """Run `spp-activities ...` in-process against a workspace, with a token from the env."""

    def run(args: Sequence[str], *, workspace: str | None = None, token: str | None = None) -> Run:
        monkeypatch.delenv("SPP_WORKSPACE_URL", raising=False)
        monkeypatch.delenv("SPP_API_TOKEN", raising=False)
        if workspace is not None:
            monkeypatch.setenv("SPP_WORKSPACE_URL", workspace)
        if token is not None:
            monkeypatch.setenv("SPP_API_TOKEN", token)
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
