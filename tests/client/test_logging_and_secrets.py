"""One log line per attempt, and the token nowhere: not in logs (at DEBUG, httpx's
included), reprs, error messages or the tracebacks the package builds."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from client_helpers import Api
from spp_activities import AsyncSPPClient, SPPClient, SPPError


def test_one_line_per_attempt_with_method_path_status_time_and_reason(
    api: Api, caplog: pytest.LogCaptureFixture
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


def test_final_failure_is_logged_once(api: Api, caplog: pytest.LogCaptureFixture) -> None:
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
    api: Api, caplog: pytest.LogCaptureFixture, scenario: Callable[[], list[Any]]
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


# --- tracebacks that capture local variables (Sentry, rich, pytest -l) ---------------

SECRET = "sk-live-Locals-Vv5-secret"


def formatted_with_locals(error: BaseException) -> str:
    return "".join(traceback.TracebackException.from_exception(error, capture_locals=True).format())


def make_client(kind: str, **options: Any) -> Any:
    cls = SPPClient if kind == "sync" else AsyncSPPClient
    return cls(token=SECRET, **options)


FAILING_CONSTRUCTIONS: list[dict[str, Any]] = [
    {"workspace_url": "http://example.spp.co"},  # plain http
    {"workspace_url": "https://example.spp.co", "http_client": "not a client"},
    {"workspace_url": "https://example.spp.co", "timeout": -1},
    {"workspace_url": "https://example.spp.co", "retry_policy": object()},
    {"workspace_url": "https://example.spp.co", "max_response_bytes": 0},
    {"workspace_url": "https://example.spp.co", "base_url": "https://x.example"},
    {},  # no workspace
]


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("options", FAILING_CONSTRUCTIONS)
def test_a_failing_construction_never_shows_the_token_in_locals(
    kind: str, options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPP_WORKSPACE_URL", raising=False)
    with pytest.raises(SPPError) as caught:
        make_client(kind, **options)
    text = formatted_with_locals(caught.value)
    assert "self = " in text or "token = " in text  # locals were captured
    assert SECRET not in text


# Globals, not parameters: the test's own frame must not hold them either.
BAD_TOKENS = [f"Bearer {SECRET}", f"{SECRET} extra", f"{SECRET}\u00e9", f" {SECRET}\n\t x"]


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("index", range(len(BAD_TOKENS)))
def test_a_refused_token_is_not_in_locals_either(kind: str, index: int) -> None:
    cls = SPPClient if kind == "sync" else AsyncSPPClient
    with pytest.raises(SPPError) as caught:
        cls("example.spp.co", BAD_TOKENS[index])
    assert SECRET not in formatted_with_locals(caught.value)


def test_the_token_from_the_environment_is_not_in_locals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPP_API_TOKEN", SECRET)
    with pytest.raises(SPPError) as caught:
        SPPClient("http://example.spp.co")  # os.environ's repr would show it
    assert SECRET not in formatted_with_locals(caught.value)


def test_repr_of_a_half_built_client_does_not_raise() -> None:
    half = SPPClient.__new__(SPPClient)
    assert repr(half) == "SPPClient(<not configured>)"
    ahalf = AsyncSPPClient.__new__(AsyncSPPClient)
    assert repr(ahalf) == "AsyncSPPClient(<not configured>)"


def leaky_transport_failure(request: httpx.Request) -> httpx.Response:
    """A transport whose frame holds the headers in a plain dict when it fails (any
    third-party transport may): the client drops such tracebacks from the chain."""
    headers = dict(request.headers)
    raise httpx.RemoteProtocolError(f"Server disconnected ({len(headers)} headers sent)")


CALL_FAILURES: list[Callable[[], list[Any]]] = [
    lambda: [leaky_transport_failure],
    lambda: [httpx.Response(404, json={"message": "Client not found."})],
    lambda: [httpx.Response(500, text="boom")],
    lambda: [httpx.Response(201, json={"id": "x"})],
    lambda: [httpx.ConnectError("[Errno 111] Connection refused")] * 3,
    lambda: [httpx.ReadTimeout("timed out")],
    lambda: [httpx.RemoteProtocolError("Server disconnected")],
]


@pytest.mark.parametrize("scenario", CALL_FAILURES)
def test_a_failing_call_never_shows_the_token_in_locals(
    api: Api, scenario: Callable[[], list[Any]]
) -> None:
    api.reply(*scenario())
    with pytest.raises(SPPError) as caught:
        api.create(1, "x")
    text = formatted_with_locals(caught.value)
    assert "call = " in text or "self = " in text
    assert api.TOKEN not in text


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_failing_real_call_never_shows_the_token_in_locals(
    kind: str, sandbox_factory: Any
) -> None:
    """Over a real socket: the frames down in httpcore hold the header list."""
    sandbox = sandbox_factory(tokens=[SECRET])
    failures: list[BaseException] = []

    async def calls(client: Any) -> None:
        for step in ("404", "refused"):
            if step == "refused":
                sandbox.stop()  # now the connection fails
            try:
                result = client.activities.create(99_999, "x", max_retries=0)
                if kind == "async":
                    await result
            except SPPError as error:
                failures.append(error)

    client = make_client(kind, workspace_url=sandbox.url)
    asyncio.run(calls(client))
    assert [type(error).__name__ for error in failures] == ["NotFoundError", "APIConnectionError"]
    for error in failures:
        assert SECRET not in formatted_with_locals(error)
    assert failures[1].__cause__ is not None  # the network error stays chained


# --- SPP_LOG --------------------------------------------------------------------------

SPP_LOG_SCRIPT = """
import sys
from spp_activities import SPPClient
with SPPClient(sys.argv[1], sys.argv[2]) as client:
    client.activities.create(1, "Logged without code.")
"""


@pytest.mark.parametrize("level", ["debug", "info", "DEBUG", "", "verbose"])
def test_spp_log_turns_logging_on_without_code(level: str, sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(tokens=[SECRET])
    env = {**os.environ, "SPP_LOG": level}
    done = subprocess.run(
        [sys.executable, "-c", SPP_LOG_SCRIPT, sandbox.url, SECRET],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert SECRET not in done.stderr + done.stdout
    ours = "spp_activities] POST /api/clients/1/activities -> 201 in "
    if level.lower() == "debug":
        assert ours in done.stderr
        assert " DEBUG spp_activities] " in done.stderr
        assert "httpx] HTTP Request: POST" in done.stderr
    elif level == "info":
        assert done.stderr == ""  # a success is logged at DEBUG; INFO shows retries
    else:
        assert done.stderr == ""


def test_spp_log_info_shows_retries(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(tokens=[SECRET], faults={"503": 1.0})
    done = subprocess.run(
        [sys.executable, "-c", SPP_LOG_SCRIPT, sandbox.url, SECRET],
        capture_output=True,
        text=True,
        env={**os.environ, "SPP_LOG": "info"},
        timeout=60,
    )
    assert " INFO spp_activities] POST /api/clients/1/activities -> 503 in " in done.stderr
    assert "retrying in" in done.stderr
    assert SECRET not in done.stderr
