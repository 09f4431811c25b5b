"""Fixtures of the client tests: `api` (parametrised over both clients, so every
test that uses it states one behaviour for the sync and the async client alike) and
`loopback_server`. Their classes live in client_helpers.py, which the tests import
for their type annotations.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from client_helpers import Api, LoopbackServer

LoopbackServerFactory = Callable[[Callable[[BaseHTTPRequestHandler], None]], LoopbackServer]


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest) -> Api:
    return Api(request.param)


@pytest.fixture
def loopback_server() -> Iterator[LoopbackServerFactory]:
    started: list[LoopbackServer] = []

    def start(respond: Callable[[BaseHTTPRequestHandler], None]) -> LoopbackServer:
        server = LoopbackServer(respond)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
