"""`run_cli`: `spp-activities ...` in-process, with the environment set per call."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
from spp_activities.cli import main


@dataclass
class Run:
    code: int
    out: str
    err: str


RunCli = Callable[..., Run]


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> RunCli:
    def run(
        args: Sequence[object],
        *,
        workspace: str | None = None,
        token: str | None = None,
        stdin: bytes | None = None,
        api_version: str | None = None,
    ) -> Run:
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
        return Run(code, captured.out, captured.err)

    return run
