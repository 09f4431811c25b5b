"""What the client tests share, importable by them (conftest.py is not, under
--import-mode=importlib): `Api`, a harness that runs `activities.create` on SPPClient or
AsyncSPPClient over httpx.MockTransport, for failure modes a real server cannot
produce on demand; and `LoopbackServer`, a real HTTP server on 127.0.0.1 for what
the sandbox does not do on purpose (trickle, redirect, gzip bombs, proxying).
The fixtures `api` and `loopback_server` (tests/client/conftest.py) give them.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from spp_activities import AsyncSPPClient, SPPClient

TOKEN = "sk-test-Zq8vN3-do-not-leak"  # distinctive, so a leak is easy to find
WORKSPACE = "https://example.spp.co"

ACTIVITY = {
    "id": 7,
    "content": "Client called to discuss project requirements.",
    "created_at": "2025-12-19T10:00:00.000000Z",
    "updated_at": "2025-12-19T10:00:00.000000Z",
    "author": {"id": 456, "name": "John Doe", "email": "john@example.com"},
}

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Api:
    """Runs one client kind against scripted replies; records requests and sleeps.

    The reply builders and constants are reached through the fixture too.
    """

    TOKEN = TOKEN
    ACTIVITY = ACTIVITY

    @staticmethod
    def created(body: Any = None, status: int = 201) -> httpx.Response:
        return httpx.Response(
            status,
            json=ACTIVITY if body is None else body,
            headers={"X-Api-Version": "2024-03-05"},
        )

    @staticmethod
    def error(
        status: int, body: Any = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        all_headers = {"X-Api-Version": "2024-03-05", **(headers or {})}
        if isinstance(body, str | bytes):
            return httpx.Response(status, content=body, headers=all_headers)
        if body is None:
            return httpx.Response(status, headers=all_headers)
        return httpx.Response(status, json=body, headers=all_headers)

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []
        self._replies: list[Reply] = []
        self.client_options: dict[str, Any] = {"workspace_url": WORKSPACE, "token": TOKEN}

    def reply(self, *replies: Reply) -> Api:
        self._replies.extend(replies)
        return self

    def _handle(self, request: httpx.Request) -> httpx.Response:
        # A copy as it is on the wire: the client takes the token off the request
        # once the attempt is over.
        self.requests.append(
            httpx.Request(
                request.method,
                request.url,
                headers=request.headers.copy(),
                content=request.content,
                extensions=dict(request.extensions),
            )
        )
        if not self._replies:
            raise AssertionError(f"unexpected request #{len(self.requests)}")
        reply = self._replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        return reply(request)

    @property
    def bodies(self) -> list[Any]:
        return [json.loads(request.content) for request in self.requests]

    def create(self, *args: Any, raw: bool = False, **options: Any) -> Any:
        """Run `client.activities.create` (or `.with_raw_response.create` if raw)
        on a fresh client of this kind over the mock transport."""
        transport = httpx.MockTransport(self._handle)

        def creator(client: Any) -> Any:
            return client.activities.with_raw_response if raw else client.activities

        if self.kind == "sync":
            with SPPClient(
                **self.client_options,
                http_client=httpx.Client(transport=transport),
                sleep=self.sleeps.append,
            ) as client:
                return creator(client).create(*args, **options)

        async def record_sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        async def run() -> Any:
            async with AsyncSPPClient(
                **self.client_options,
                http_client=httpx.AsyncClient(transport=transport),
                sleep=record_sleep,
            ) as client:
                return await creator(client).create(*args, **options)

        return asyncio.run(run())


# --- tiny loopback HTTP servers, for what the sandbox does not do on purpose -------


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 whose replies come from ``respond(handler)``.

    ``hits`` counts the requests it received; ``stopping`` is set when the test ends,
    so that a handler that trickles bytes can stop.
    """

    def __init__(self, respond: Callable[[BaseHTTPRequestHandler], None]) -> None:
        self.hits = 0
        self.stopping = threading.Event()
        self.events: list[str] = []  # what handlers saw happen, e.g. "client hung up"
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                server.hits += 1
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    respond(self)
                except OSError:  # the client hung up: what a deadline does
                    self.close_connection = True

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # a trickling handler stops on its own
        self._httpd.stopping = self.stopping  # type: ignore[attr-defined]
        self._httpd.events = self.events  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()


LoopbackServerFactory = Callable[[Callable[[BaseHTTPRequestHandler], None]], LoopbackServer]
