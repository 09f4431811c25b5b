"""No call hangs and no reply fills the memory: deadlines per attempt and per call,
and a cap on the decoded body, against real loopback servers that trickle bytes,
never accept, or send a gzip bomb."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest
from client_helpers import ACTIVITY, LoopbackServer
from spp_activities import (
    APITimeoutError,
    AsyncSPPClient,
    InvalidResponseError,
    ServerError,
    SPPClient,
    SPPError,
)
from spp_activities.config import (
    DEFAULT_ATTEMPT_DEADLINE,
    DEFAULT_CALL_DEADLINE,
    DEFAULT_MAX_RESPONSE_BYTES,
)

TOKEN = "sk-test-bounds-Rr4"
Factory = Callable[[Callable[[BaseHTTPRequestHandler], None]], LoopbackServer]


@pytest.fixture(params=["sync", "async", "async-your-http-client"])
def create(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``create(url, client_id, content, client={client options}, **per-call options)``
    on a fresh client of one kind against a real server: no mock transport between.

    The client's own pools end every socket operation by the deadline; with your own
    ``httpx.AsyncClient`` ("async-your-http-client") the async client keeps it with a
    cancel scope instead, so both ways are held to the same behaviour."""

    def run(
        url: str, client_id: int, content: str, client: dict[str, Any] | None = None, **options: Any
    ) -> Any:
        client_options = client or {}
        if request.param == "sync":
            with SPPClient(url, TOKEN, **client_options) as sync_client:
                return sync_client.activities.create(client_id, content, **options)

        async def main() -> Any:
            if request.param == "async-your-http-client":
                async with (
                    httpx.AsyncClient(trust_env=False) as http,
                    AsyncSPPClient(url, TOKEN, http_client=http, **client_options) as async_client,
                ):
                    return await async_client.activities.create(client_id, content, **options)
            async with AsyncSPPClient(url, TOKEN, **client_options) as async_client:
                return await async_client.activities.create(client_id, content, **options)

        return asyncio.run(main())

    return run


def trickle(handler: BaseHTTPRequestHandler, head: bytes) -> None:
    """Write ``head``, then one byte every half second for two minutes or until the test
    ends: each read gets a byte well within httpx's per-read timeout. Says in the
    server's ``events`` how it ended."""
    events = handler.server.events  # type: ignore[attr-defined]
    stopping = handler.server.stopping  # type: ignore[attr-defined]
    try:
        handler.wfile.write(head)
        handler.wfile.flush()
        for _ in range(240):
            if stopping.wait(0.5):
                events.append("test ended")
                return
            handler.wfile.write(b"a")
            handler.wfile.flush()
    except OSError:
        events.append("client hung up")
        raise
    events.append("trickled to the end")


def assert_the_client_hung_up_mid_trickle(server: LoopbackServer) -> None:
    """The client gave up on its own deadline while the server was still trickling,
    rather than when the server stopped (the server notices at its next byte)."""
    for _ in range(100):
        if server.events:
            break
        server.stopping.wait(0.1)
    assert server.events == ["client hung up"]


def trickle_headers(handler: BaseHTTPRequestHandler) -> None:
    trickle(handler, b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Slow: ")


def trickle_body(handler: BaseHTTPRequestHandler) -> None:
    trickle(
        handler,
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
    )


def test_the_defaults_are_documented_values() -> None:
    assert (DEFAULT_ATTEMPT_DEADLINE, DEFAULT_CALL_DEADLINE) == (60.0, 180.0)
    assert DEFAULT_MAX_RESPONSE_BYTES == 1024 * 1024
    with SPPClient("example.spp.co", "t") as client:
        assert (client.attempt_deadline, client.call_deadline) == (60.0, 180.0)
        assert client.max_response_bytes == 1024 * 1024


@pytest.mark.parametrize("respond", [trickle_headers, trickle_body], ids=["headers", "body"])
def test_a_trickling_server_cannot_outlast_the_attempt_deadline(
    create: Callable[..., Any],
    loopback_server: Factory,
    respond: Callable[[BaseHTTPRequestHandler], None],
) -> None:
    server = loopback_server(respond)
    with pytest.raises(APITimeoutError) as caught:
        create(server.url, 1, "x", client={"attempt_deadline": 1.5})
    error = caught.value
    assert "attempt deadline (attempt_deadline=1.5 s)" in str(error)
    assert error.may_have_been_created is True  # the request went out
    assert "after the request was sent" in str(error)
    assert error.attempts == 1  # an unknown outcome is not re-sent
    assert server.hits == 1
    assert_the_client_hung_up_mid_trickle(server)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_copy_from_with_options_keeps_the_pools_deadline(
    loopback_server: Factory, kind: str
) -> None:
    """A copy shares the client's own pool, and with it the clip on every socket read:
    a server that trickles its headers cannot outlast the copy's deadline either."""
    server = loopback_server(trickle_headers)

    def sync_copy() -> None:
        with SPPClient(server.url, TOKEN) as client:
            client.with_options(attempt_deadline=1.5).activities.create(1, "x")

    async def async_copy() -> None:
        async with AsyncSPPClient(server.url, TOKEN) as client:
            await client.with_options(attempt_deadline=1.5).activities.create(1, "x")

    run = sync_copy if kind == "sync" else lambda: asyncio.run(async_copy())
    with pytest.raises(APITimeoutError, match=r"attempt_deadline=1.5 s"):
        run()
    assert_the_client_hung_up_mid_trickle(server)


def test_the_call_deadline_bounds_a_call_with_a_generous_attempt_deadline(
    create: Callable[..., Any], loopback_server: Factory
) -> None:
    server = loopback_server(trickle_body)
    with pytest.raises(APITimeoutError, match=r"call deadline \(call_deadline=1.5 s\)") as caught:
        create(server.url, 1, "x", client={"call_deadline": 1.5})  # attempt deadline: 60 s
    assert caught.value.may_have_been_created is True
    assert_the_client_hung_up_mid_trickle(server)


def test_per_call_deadlines_override_the_clients(
    create: Callable[..., Any], loopback_server: Factory
) -> None:
    server = loopback_server(trickle_headers)
    with pytest.raises(APITimeoutError, match=r"attempt_deadline=1 s"):
        create(server.url, 1, "x", client={"attempt_deadline": 30.0}, attempt_deadline=1.0)
    with pytest.raises(APITimeoutError, match=r"call_deadline=1 s"):
        create(server.url, 1, "x", client={"call_deadline": 30.0}, call_deadline=1.0)


@pytest.fixture
def never_accepting() -> Iterator[str]:
    """A listener whose accept queue is full: a new connection never completes."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(8):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield f"http://127.0.0.1:{port}"
    for filler in fillers:
        filler.close()
    listener.close()


def test_a_deadline_before_the_request_left_says_nothing_was_created(
    create: Callable[..., Any], never_accepting: str
) -> None:
    with pytest.raises(APITimeoutError) as caught:
        create(never_accepting, 1, "x", client={"attempt_deadline": 1.0, "max_retries": 0})
    error = caught.value
    assert error.may_have_been_created is False
    assert "before the request was sent" in str(error)


def test_a_retry_whose_wait_would_pass_the_call_deadline_is_not_made(
    create: Callable[..., Any], loopback_server: Factory
) -> None:
    def unavailable(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(503)
        handler.send_header("Retry-After", "2")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    server = loopback_server(unavailable)
    with pytest.raises(ServerError) as caught:
        create(server.url, 1, "x", client={"max_retries": 10, "call_deadline": 3.0})
    # 10 retries of 2 s would take 20 s; the call ends with the 503 instead
    assert caught.value.attempts < 4
    assert caught.value.may_have_been_created is False
    assert server.hits == caught.value.attempts


def test_the_call_deadline_is_spent_across_retries_and_their_waits(
    create: Callable[..., Any], loopback_server: Factory
) -> None:
    """The first attempt gets 503 with Retry-After: 1 (nothing created, a wait that fits);
    the retry's reply then never ends, and no single attempt is over its own (60 s)
    deadline: the call deadline, counted from the first attempt through the wait, ends it.
    The retry's request went out, so the activity may exist."""
    attempts = []

    def unavailable_then_stuck(handler: BaseHTTPRequestHandler) -> None:
        attempts.append(handler.path)
        if len(attempts) == 1:
            handler.send_response(503)
            handler.send_header("Retry-After", "1")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        trickle_headers(handler)

    server = loopback_server(unavailable_then_stuck)
    with pytest.raises(APITimeoutError) as caught:
        create(server.url, 1, "x", client={"max_retries": 5, "call_deadline": 4.0})
    error = caught.value
    assert "call deadline (call_deadline=4 s) passed after the request was sent" in str(error)
    assert error.may_have_been_created is True
    assert error.attempts == 2  # the 503, then the retry the deadline cut short
    assert server.hits == 2


# --- the body cap ------------------------------------------------------------------


def gzip_bomb(megabytes: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1024 * 1024)
    return b"".join(compressor.compress(block) for _ in range(megabytes)) + compressor.flush()


def replying(status: int, body: bytes, encoding: str | None = None) -> Callable[..., None]:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        if encoding:
            handler.send_header("Content-Encoding", encoding)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


BOMB = gzip_bomb(64)  # 64 MiB of zeros in about 64 KiB


def test_a_gzip_bomb_stops_at_the_cap_without_filling_the_memory(
    create: Callable[..., Any], loopback_server: Factory
) -> None:
    assert len(BOMB) < 100_000
    server = loopback_server(replying(201, BOMB, "gzip"))
    tracemalloc.start()
    try:
        with pytest.raises(InvalidResponseError) as caught:
            create(server.url, 1, "x")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    error = caught.value
    assert "larger than max_response_bytes (1048576 bytes); the rest was not read" in str(error)
    assert error.may_have_been_created is True
    assert error.response.status_code == 201
    assert error.response.content == b""
    # httpx alone inflates a whole 64 KiB read at once: 64 MiB here
    assert peak < 16 * 1024 * 1024


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        (None, lambda body: body),
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda body: zlib.compress(body, wbits=-zlib.MAX_WBITS)),  # raw deflate
    ],
    ids=["identity", "gzip", "deflate", "raw-deflate"],
)
def test_a_reply_under_the_cap_is_read_in_every_encoding(
    create: Callable[..., Any],
    loopback_server: Factory,
    encoding: str | None,
    encode: Callable[[bytes], bytes],
) -> None:
    server = loopback_server(replying(201, encode(json.dumps(ACTIVITY).encode()), encoding))
    assert create(server.url, 1, "x").id == ACTIVITY["id"]


@pytest.mark.parametrize("encoding", [None, "gzip"])
def test_the_cap_is_a_client_option(
    create: Callable[..., Any], loopback_server: Factory, encoding: str | None
) -> None:
    body = json.dumps(ACTIVITY).encode()
    server = loopback_server(replying(201, gzip.compress(body) if encoding else body, encoding))
    with pytest.raises(InvalidResponseError, match=r"max_response_bytes \(100 bytes\)"):
        create(server.url, 1, "x", client={"max_response_bytes": 100})
    assert create(server.url, 1, "x", client={"max_response_bytes": len(body)}).id == ACTIVITY["id"]


@pytest.mark.parametrize(("status", "may_exist"), [(404, False), (500, True)])
def test_an_oversized_error_reply_keeps_its_outcome(
    create: Callable[..., Any], loopback_server: Factory, status: int, may_exist: bool
) -> None:
    server = loopback_server(replying(status, b" " * (2 * 1024 * 1024)))
    with pytest.raises(SPPError) as caught:
        create(server.url, 1, "x")
    assert type(caught.value) is InvalidResponseError
    assert caught.value.may_have_been_created is may_exist
    assert str(caught.value).startswith(f"{status} ")


def test_the_socket_clip_is_installed_on_the_own_pools() -> None:
    """httpx offers no public way to pass a network backend: if the private path the
    client uses moves, this fails at once (the trickle tests would hang first)."""
    from spp_activities.transport import _AsyncDeadlineBackend, _DeadlineBackend

    for url in ("https://example.spp.co", "http://127.0.0.1:8000"):
        with SPPClient(url, "t") as client:
            pool = client._http._transport._pool  # type: ignore[attr-defined]
            assert isinstance(pool._network_backend, _DeadlineBackend)
        async_client = AsyncSPPClient(url, "t")
        pool = async_client._http._transport._pool  # type: ignore[attr-defined]
        assert isinstance(pool._network_backend, _AsyncDeadlineBackend)
        asyncio.run(async_client.aclose())
