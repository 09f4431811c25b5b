"""The sandbox bounds slow clients and stays on loopback unless told otherwise.

Real sockets on loopback. No timed assertion: a tiny read timeout is configured and the test
checks that the server closed the connection (a recv returning b""), with a generous socket
timeout only as a safety net, and bounded loops where the server's bookkeeping is asynchronous.
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from typing import Any

import pytest
from spp_activities.sandbox import (
    DEFAULT_TOKEN,
    Sandbox,
    SandboxOptionError,
    SandboxOptions,
)

SandboxFactory = Callable[..., Sandbox]
SAFETY_NET = 30.0  # seconds; a hang fails the test instead of blocking the suite
PARTIAL_REQUEST = b"POST /api/clients/1/activities HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def connect(sandbox: Sandbox) -> socket.socket:
    sock = socket.create_connection((sandbox.host, sandbox.port), timeout=SAFETY_NET)
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server closed the connection: recv returns b"" (or the peer reset)."""
    try:
        while chunk := sock.recv(65536):
            if b"HTTP/1.1" in chunk:
                return False  # it answered instead
        return True
    except ConnectionResetError:
        return True


def test_a_client_that_trickles_its_headers_is_cut_off(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(read_timeout=0.2)
    with closing(connect(sandbox)) as sock:
        sock.sendall(PARTIAL_REQUEST)
        try:
            for _ in range(1000):  # one byte at a time, never finishing the headers
                sock.sendall(b"x")
                time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            pass  # already closed: what is wanted
        assert closed_by_server(sock)
    assert sandbox.activities() == []


def test_a_client_that_trickles_its_body_is_cut_off(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(read_timeout=0.2)
    with closing(connect(sandbox)) as sock:
        sock.sendall(
            b"POST /api/clients/1/activities HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer sandbox-token\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n{"
        )
        assert closed_by_server(sock)
    assert sandbox.activities() == []


def test_an_idle_connection_after_a_reply_is_closed(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(read_timeout=0.2)
    conn = http.client.HTTPConnection(sandbox.host, sandbox.port, timeout=SAFETY_NET)
    with closing(conn):
        conn.request("GET", "/_sandbox/stats")
        assert conn.getresponse().read()
        assert conn.sock is not None
        conn.sock.sendall(PARTIAL_REQUEST)  # starts a second request, never finishes it
        assert closed_by_server(conn.sock)


def test_a_prompt_client_is_served_under_a_tiny_read_timeout(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(read_timeout=0.5)
    conn = http.client.HTTPConnection(sandbox.host, sandbox.port, timeout=SAFETY_NET)
    with closing(conn):
        for n in range(3):  # also on a kept-alive connection
            conn.request(
                "POST",
                "/api/clients/1/activities",
                body=b'{"content": "prompt"}',
                headers={
                    "Authorization": f"Bearer {sandbox.token}",
                    "Content-Type": "application/json",
                },
            )
            reply = conn.getresponse()
            reply.read()
            assert reply.status == 201, n
    assert len(sandbox.activities()) == 3


@pytest.fixture
def kept_alive(sandbox_factory: SandboxFactory) -> Iterator[tuple[Sandbox, list[Any]]]:
    """A sandbox that allows 3 connections, and 3 kept-alive connections that each had a reply
    (so the server has counted them)."""
    sandbox = sandbox_factory(max_connections=3)
    with ExitStack() as stack:
        held = []
        for _ in range(3):
            conn = http.client.HTTPConnection(sandbox.host, sandbox.port, timeout=SAFETY_NET)
            stack.callback(conn.close)
            conn.request("GET", "/_sandbox/stats")
            reply = conn.getresponse()
            reply.read()
            assert reply.status == 200
            held.append(conn)
        yield sandbox, held


def test_connections_beyond_the_cap_are_closed_at_once(
    kept_alive: tuple[Sandbox, list[Any]],
) -> None:
    sandbox, held = kept_alive
    with closing(connect(sandbox)) as extra:
        extra.sendall(b"GET /_sandbox/stats HTTP/1.1\r\nHost: x\r\n\r\n")
        assert closed_by_server(extra)
    # The connections already open are still served.
    held[0].request("GET", "/_sandbox/stats")
    assert held[0].getresponse().status == 200


def test_a_freed_slot_is_given_to_the_next_connection(
    kept_alive: tuple[Sandbox, list[Any]],
) -> None:
    sandbox, held = kept_alive
    held.pop().close()
    for _ in range(200):  # the server learns of the close asynchronously
        conn = http.client.HTTPConnection(sandbox.host, sandbox.port, timeout=SAFETY_NET)
        with closing(conn):
            try:
                conn.request("GET", "/_sandbox/stats")
                if conn.getresponse().status == 200:
                    return
            except (ConnectionError, http.client.RemoteDisconnected):
                time.sleep(0.05)
    pytest.fail("no connection was accepted after one of the three was closed")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.com"])
def test_a_host_others_can_reach_needs_allow_remote_and_an_own_token(host: str) -> None:
    with pytest.raises(SandboxOptionError, match="allow-remote"):
        Sandbox(host=host)
    with pytest.raises(SandboxOptionError, match="token of your own"):
        Sandbox(host=host, allow_remote=True)
    with pytest.raises(SandboxOptionError, match="token of your own"):
        Sandbox(host=host, allow_remote=True, tokens=[DEFAULT_TOKEN, "mine-4f2a"])
    options = SandboxOptions(host=host, allow_remote=True, tokens=["mine-4f2a"])
    assert options.tokens == ("mine-4f2a",)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost"])
def test_loopback_hosts_need_nothing(host: str) -> None:
    assert SandboxOptions(host=host).host == host


def test_options_one_dataclass_for_every_entry_point() -> None:
    base = SandboxOptions(clients=range(1, 4), faults="429=0.5", seed=1)
    sandbox = Sandbox(base, seed=2)  # keywords override the options
    assert sandbox.options == SandboxOptions(clients=[1, 2, 3], faults={"429": 0.5}, seed=2)
    assert Sandbox(seed=2, clients=range(1, 4), faults={"429": 0.5}).options == sandbox.options
    with pytest.raises(SandboxOptionError, match="unknown sandbox option"):
        Sandbox(colour="blue")
    with pytest.raises(SandboxOptionError, match="must be greater than 0"):
        SandboxOptions(read_timeout=0)
    with pytest.raises(SandboxOptionError, match="whole number from 1 to"):
        SandboxOptions(max_connections=0)
