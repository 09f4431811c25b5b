"""Both clients over real loopback HTTP against the sandbox: what is stored, and
that a failure whose outcome is unknown is never re-sent (no duplicates)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from spp_activities import (
    APIConnectionError,
    AsyncSPPClient,
    ConfigurationError,
    InvalidInputError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    SPPClient,
)
from spp_activities.config import MAX_TIMEOUT
from spp_activities.sandbox import FaultPlan


@pytest.fixture(params=["sync", "async"])
def create(request: pytest.FixtureRequest) -> Any:
    """create(sandbox, client_id, content) on one client kind; retries wait for nothing."""

    def run(sandbox: Any, client_id: int, content: str) -> Any:
        options = {"workspace_url": sandbox.workspace_url, "token": sandbox.token}
        if request.param == "sync":
            with SPPClient(**options, sleep=lambda seconds: None) as client:
                return client.activities.create(client_id, content)

        async def no_wait(seconds: float) -> None:
            pass

        async def run_async() -> Any:
            async with AsyncSPPClient(**options, sleep=no_wait) as client:
                return await client.activities.create(client_id, content)

        return asyncio.run(run_async())

    return run


def stats(sandbox: Any) -> dict[str, Any]:
    result: dict[str, Any] = httpx.get(f"{sandbox.url}/_sandbox/stats", timeout=10).json()
    return result


# Create, read back, 401, 404 and 400 over real HTTP with both clients:
# tests/sandbox/test_client_e2e.py.


@pytest.mark.parametrize(
    ("fault", "error_class", "status", "may_have_been_created", "requests", "stored"),
    [
        # nothing can exist: retried until the budget (2 retries) runs out
        ("503", ServerError, 503, False, 3, 0),
        ("429", RateLimitError, 429, False, 3, 0),
        # the outcome is unknown: sent once, never again, and the error says so
        ("500", ServerError, 500, True, 1, 1),
        ("reset-after", APIConnectionError, None, True, 1, 1),
        # the client cannot tell a reset before storing from one after, so it says "may"
        ("reset", APIConnectionError, None, True, 1, 0),
    ],
)
def test_faults_are_retried_only_when_nothing_can_exist(
    sandbox_factory: Any,
    create: Any,
    fault: str,
    error_class: type[Exception],
    status: int | None,
    may_have_been_created: bool,
    requests: int,
    stored: int,
) -> None:
    sandbox = sandbox_factory(faults={fault: 1.0}, seed=1)
    with pytest.raises(error_class) as caught:
        create(sandbox, 3, "Only once")
    error: Any = caught.value
    assert type(caught.value) is error_class  # e.g. a reset is not a timeout
    assert getattr(error, "status_code", None) == status
    assert error.may_have_been_created is may_have_been_created
    if fault == "429":
        assert error.retry_after == 1.0  # the sandbox's Retry-After
    assert stats(sandbox)["requests"] == requests
    assert [a["content"] for a in sandbox.activities(3)] == ["Only once"] * stored


def test_cancelling_an_async_create_propagates_and_the_client_stays_usable(
    sandbox_factory: Any,
) -> None:
    # The first reply is slow (after storing), so that call is cancelled mid-request;
    # the second is normal.
    plan = FaultPlan({"slow": 0.5}, seed=1)
    assert [plan.draw(), plan.draw()] == ["slow", None]
    sandbox = sandbox_factory(faults={"slow": 0.5}, seed=1, slow_seconds=60)

    async def run() -> None:
        async with AsyncSPPClient(sandbox.workspace_url, sandbox.token) as client:
            task = asyncio.create_task(client.activities.create(3, "cancelled"))
            for _ in range(1000):  # until the sandbox has the request (bounded)
                if sandbox.activities(3):
                    break
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The half-used connection is gone from the pool, not handed to the next call.
            activity = await client.activities.create(3, "after")
            assert activity.content == "after"

    asyncio.run(run())
    assert [a["content"] for a in sandbox.activities(3)] == ["cancelled", "after"]


def test_the_longest_accepted_timeout_works_on_real_sockets(sandbox: Any) -> None:
    # One step beyond what sockets accept raises OverflowError; the cap stays below it.
    with SPPClient(sandbox.workspace_url, sandbox.token, timeout=MAX_TIMEOUT) as client:
        assert client.activities.create(3, "sync").content == "sync"

    async def run() -> None:
        async with AsyncSPPClient(sandbox.workspace_url, sandbox.token) as client:
            activity = await client.activities.create(3, "async", timeout=MAX_TIMEOUT)
            assert activity.content == "async"

    asyncio.run(run())


# --- bad input that used to escape untyped: a typed error, and the sandbox saw nothing ---

BAD_CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("10**5000", (10**5000, "x"), {}),
    ("2**63", (2**63, "x"), {}),
    *[
        (f"extra_headers {name}", (1, "x"), {"extra_headers": {name: value}})
        for name, value in [
            ("Content-Length", "1"),
            ("Host", "evil.example"),
            ("Transfer-Encoding", "chunked"),
            ("Connection", "close"),
            ("Upgrade", "websocket"),
            ("TE", "trailers"),
            ("Trailer", "X-Sum"),
            ("Expect", "100-continue"),
        ]
    ],
    # Strict writer: the body is always plain JSON, whatever a header would claim.
    *[
        (f"extra_headers {name}={value}", (1, "x"), {"extra_headers": {name: value}})
        for name, value in [
            ("Content-Encoding", "gzip"),
            ("content-encoding", "identity"),
            ("Content-Type", "text/plain"),
            ("CONTENT-TYPE", "application/json"),
            ("Content-Type", None),
            ("Content-Encoding", None),
            ("Content-Range", "bytes 0-1/2"),
            ("Content-MD5", "Q2hlY2sgSW50ZWdyaXR5IQ=="),
            ("Content-Digest", "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"),
            ("Repr-Digest", "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"),
            ("Digest", "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="),
        ]
    ],
    ("extra_headers as a list", (1, "x"), {"extra_headers": [("X-Trace", "1")]}),
    ("call_deadline=0", (1, "x"), {"call_deadline": 0}),
]


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize(("label", "args", "options"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_input_is_a_typed_error_and_nothing_reaches_the_sandbox(
    sandbox: Any, kind: str, label: str, args: tuple[Any, ...], options: dict[str, Any]
) -> None:
    def call() -> None:
        if kind == "sync":
            with SPPClient(sandbox.workspace_url, sandbox.token) as client:
                client.activities.create(*args, **options)
            return

        async def main() -> None:
            async with AsyncSPPClient(sandbox.workspace_url, sandbox.token) as client:
                await client.activities.create(*args, **options)

        asyncio.run(main())

    with pytest.raises(InvalidInputError) as caught:
        call()
    assert caught.value.may_have_been_created is False
    assert stats(sandbox)["requests"] == 0


@pytest.mark.parametrize(
    "policy",
    [
        {"retry_unknown_outcome": "no"},
        {"backoff_initial": -1},
        {"backoff_max": float("inf")},
        {"retry_after_max": "60"},
    ],
)
def test_a_bad_retry_policy_is_a_configuration_error(sandbox: Any, policy: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="RetryPolicy"):
        SPPClient(sandbox.workspace_url, sandbox.token, retry_policy=RetryPolicy(**policy))
    assert stats(sandbox)["requests"] == 0
