"""One log line per attempt, and the token nowhere: not in logs (at DEBUG, httpx's
included), reprs, error messages or the tracebacks the package builds."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from spp_activities import SPPClient, SPPError


def test_one_line_per_attempt_with_method_path_status_time_and_reason(
    api: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="spp_activities")
    api.reply(
        api.error(503, {"message": "Down"}),
        httpx.ConnectError("[Errno 111] Connection refused"),
        api.created(),
    )
    api.create(5, "x")

    lines = [r for r in caplog.records if r.name == "spp_activities"]
    assert len(lines) == 3
    messages = [r.getMessage() for r in lines]
    for message in messages:
        assert message.startswith("POST /api/clients/5/activities -> ")
        assert " ms (attempt " in message
    assert "-> 503 in" in messages[0]
    assert "retrying in" in messages[0]
    assert "503 Service Unavailable" in messages[0]
    assert "-> ConnectError in" in messages[1]
    assert "retrying in" in messages[1]
    assert "Could not connect" in messages[1]
    assert "-> 201 in" in messages[2]
    assert "retrying" not in messages[2]
    assert [r.levelno for r in lines] == [logging.INFO, logging.INFO, logging.DEBUG]


def test_final_failure_is_logged_once(api: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="spp_activities")
    api.reply(api.error(500, {"message": "Server Error"}))
    with pytest.raises(SPPError):
        api.create(1, "x")
    [line] = [r.getMessage() for r in caplog.records if r.name == "spp_activities"]
    assert "-> 500 in" in line
    assert "attempt 1 of 3" in line


# Factories: a response object must not be reused across tests.
SCENARIOS: list[Callable[[], list[Any]]] = [
    lambda: [httpx.Response(201, json={"id": 1})],
    lambda: [httpx.Response(400, json={"message": "Bad.", "errors": {"content": ["Required."]}})],
    lambda: [httpx.Response(401, json={"message": "Unauthenticated."})],
    lambda: [httpx.Response(403, text="Forbidden")],
    lambda: [httpx.Response(404, json={"message": "Client not found."})],
    lambda: [httpx.Response(422, json={"message": "Invalid."})],
    lambda: [httpx.Response(429, headers={"Retry-After": "1"})] * 3,
    lambda: [httpx.Response(499)],
    lambda: [httpx.Response(500, json={"message": "Server Error"})],
    lambda: [httpx.Response(502, text="<html>bad gateway</html>")],
    lambda: [httpx.Response(503)] * 3,
    lambda: [httpx.Response(520)],
    lambda: [httpx.ConnectError("refused")] * 3,
    lambda: [httpx.ConnectTimeout("timed out")] * 3,
    lambda: [httpx.ReadTimeout("timed out")],
    lambda: [httpx.RemoteProtocolError("Server disconnected")],
    lambda: [httpx.Response(200, json={})],
]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_token_never_in_logs_errors_or_tracebacks(
    api: Any, caplog: pytest.LogCaptureFixture, scenario: Callable[[], list[Any]]
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, httpx's, httpcore's
    api.reply(*scenario())
    with pytest.raises(SPPError) as caught:
        api.create(1, "x")

    error = caught.value
    token = api.TOKEN
    assert api.requests[0].headers["Authorization"] == f"Bearer {token}"  # it was sent
    assert caplog.records, "nothing was logged"
    assert token not in caplog.text
    assert token not in str(error)
    assert token not in repr(error)
    assert token not in "".join(traceback.format_exception(error))
    response = getattr(error, "response", None)
    if response is not None:
        assert token not in repr(response.request)
        assert token not in repr(response.request.headers)


def test_token_not_in_client_repr_or_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "sk-live-Xy7-secret"
    client = SPPClient("example.spp.co", token)
    assert token not in repr(client)
    assert token not in repr(client._config)
    client.close()
    for bad in (f"Bearer {token}", f"{token} extra", f"{token}\u00e9"):
        with pytest.raises(SPPError) as caught:
            SPPClient("example.spp.co", bad)
        assert token not in str(caught.value)
        assert token not in repr(caught.value)


def test_credentials_in_the_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(SPPError) as caught:
        SPPClient("https://admin:hunter2@example.spp.co", "t")
    assert "hunter2" not in str(caught.value)
