"""The error -> exit code table, for every error class the client can raise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from spp_activities import errors
from spp_activities.cli import UsageError, exit_code_for


def status_error(status: int) -> errors.APIStatusError:
    cls, maybe = errors.error_for_status(status)
    response = httpx.Response(status, request=httpx.Request("POST", "https://x.test/api"))
    return cls(response=response, message="m", may_have_been_created=maybe)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UsageError("bad flag"), 2),
        (errors.InvalidInputError("client_id", argument="client_id"), 2),
        (errors.ConfigurationError("no token"), 2),
        (status_error(401), 3),
        (status_error(403), 3),
        (status_error(404), 4),
        (status_error(400), 5),
        (status_error(422), 5),
        (status_error(409), 5),  # another 4xx: refused, nothing created
        (status_error(429), 6),
        (status_error(503), 6),
        (errors.APIConnectionError("refused", may_have_been_created=False), 6),
        (errors.APITimeoutError("connect timeout", may_have_been_created=False), 6),
        (errors.APITimeoutError("read timeout", may_have_been_created=True), 7),
        (errors.APIConnectionError("reset after sending", may_have_been_created=True), 7),
        (status_error(500), 7),
        (status_error(502), 7),
        (status_error(520), 7),
        (RuntimeError("a bug"), 1),
    ],
)
def test_exit_code_for(error: BaseException, code: int) -> None:
    assert exit_code_for(error) == code


def test_every_exit_code_is_explained_in_help(run_cli: Callable[..., Any]) -> None:
    from spp_activities.cli.exit_codes import MEANINGS, ExitCode

    assert set(MEANINGS) == set(ExitCode)
    shown = " ".join(run_cli(["--help"]).out.split())
    for code, text in MEANINGS.items():
        assert f"{code.value} {text}" in shown
