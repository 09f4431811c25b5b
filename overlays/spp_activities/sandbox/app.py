"""The sandbox's HTTP surface: the contract's create-activity route and /_sandbox inspection.

The create route is a raw ASGI endpoint so that it can drop a connection without any reply
(the `reset` faults); everything else is ordinary Starlette.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import importlib.resources
import json
import re
import socket
import struct
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spp_activities.sandbox.contract import (
    CLIENT_NOT_FOUND,
    UNAUTHENTICATED,
    ContractValidator,
    content_error,
)
from spp_activities.sandbox.faults import AFTER_STORE_FAULTS, FaultPlan
from spp_activities.sandbox.options import ClientIds
from spp_activities.sandbox.ratelimit import RateLimiter, ThrottleDecision
from spp_activities.sandbox.store import ActivityStore, Author
from spp_activities.vendor import DEFAULT_API_VERSION

#: Where the sandbox's HTTP protocol puts the connection's transport in the ASGI scope.
TRANSPORT_EXTENSION = "spp_activities.sandbox.transport"
CREATE_PATH = "/api/clients/{user}/activities"
MAX_BODY_BYTES = 1024 * 1024
_JSON = (b"content-type", b"application/json")
NOT_UTF8 = "The content field must be valid UTF-8 text."
TIMELINE_PATH = "/_sandbox/"
TIMELINE_ASSET = "timeline.html"


class ConnectionDropped(RuntimeError):
    """The server under the app cannot drop connections (it does not expose its transport)."""


@dataclass(frozen=True, slots=True)
class Stats:
    """Counts since the start or the last reset, of requests to the create route."""

    requests: int
    created: int
    by_status: dict[str, int]
    by_fault: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            # Activities stored, including those whose reply was a 500 or a dropped connection.
            "created": self.created,
            "faults_injected": sum(self.by_fault.values()),
            # Every 429: from the rate limit and from the `429` fault.
            "rate_limited": self.by_status.get("429", 0),
            # Connections closed without a reply: the `reset` faults and clients gone mid-body.
            "dropped": self.by_status.get("dropped", 0),
            "by_status": self.by_status,
            "by_fault": self.by_fault,
        }


class SandboxState:
    """Everything the routes share: storage, who may call, faults, throttle, counters."""

    def __init__(
        self,
        *,
        store: ActivityStore,
        tokens: Sequence[str],
        clients: ClientIds,
        faults: FaultPlan,
        slow_seconds: float,
        rate_limiter: RateLimiter | None,
        contract: ContractValidator,
    ) -> None:
        self.store = store
        self.clients = clients
        self.faults = faults
        self.slow_seconds = slow_seconds
        self.rate_limiter = rate_limiter
        self.contract = contract
        self._authors = [
            (token.encode("utf-8"), _author_for(index)) for index, token in enumerate(tokens)
        ]
        #: Set when the sandbox shuts down; long waits (the `slow` fault) end early.
        self.stopping = threading.Event()
        self._stats_lock = threading.Lock()
        self._by_status: Counter[str] = Counter()
        self._by_fault: Counter[str] = Counter()
        self._requests = 0
        self._created = 0

    def author_for(self, presented: bytes | None) -> Author | None:
        """The author whose token was presented, compared in constant time against each."""
        found = None
        for token, author in self._authors:
            if presented is not None and hmac.compare_digest(presented, token):
                found = author
        return found

    def record(self, *, status: int | None, fault: str | None) -> None:
        with self._stats_lock:
            self._requests += 1
            self._by_status["dropped" if status is None else str(status)] += 1
            if fault is not None:
                self._by_fault[fault] += 1

    def record_created(self) -> None:
        with self._stats_lock:
            self._created += 1

    def stats(self) -> Stats:
        with self._stats_lock:
            return Stats(self._requests, self._created, dict(self._by_status), dict(self._by_fault))

    def reset(self) -> None:
        """Back to a fresh start: no activities, zero counters, faults from the seed again."""
        self.store.clear()
        self.faults.restart()
        if self.rate_limiter is not None:
            self.rate_limiter.clear()
        with self._stats_lock:
            self._by_status.clear()
            self._by_fault.clear()
            self._requests = 0
            self._created = 0


def _author_for(index: int) -> Author:
    if index == 0:
        return Author(1, "Sandbox User", "sandbox@example.com")
    return Author(index + 1, f"Sandbox User {index + 1}", f"sandbox{index + 1}@example.com")


def _json_bytes(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class CreateActivityEndpoint:
    """POST /api/clients/{user}/activities, as the contract says, plus injected faults."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _decoded_headers(scope)
        read = await _read_body(receive, headers)
        if read is None:  # the client went away mid-body: an incomplete request does nothing
            self.state.record(status=None, fault=None)
            return
        body, too_large = read
        author = self.state.author_for(_bearer_token(scope))
        extra: list[tuple[bytes, bytes]] = []

        limiter = self.state.rate_limiter
        if limiter is not None:
            decision = limiter.hit(_throttle_key(author, scope))
            extra += _rate_limit_headers(decision)
            if not decision.allowed:
                await self._reply(send, 429, {"message": "Too Many Attempts."}, extra, None)
                return

        fault = self.state.faults.draw()
        if fault == "429":
            extra.append((b"retry-after", b"1"))
            await self._reply(send, 429, {"message": "Too Many Attempts."}, extra, fault)
            return
        if fault == "503":
            await self._reply(send, 503, {"message": "Service Unavailable"}, extra, fault)
            return
        if fault == "reset":
            self.state.record(status=None, fault=fault)
            await self._drop(scope, receive)
            return

        status, reply = self._create(scope, headers, body, too_large, author)
        if status != 201 and fault in AFTER_STORE_FAULTS:
            fault = None  # nothing was stored, so there is nothing to be unsure about
        if fault == "500":
            await self._reply(send, 500, {"message": "Server Error"}, extra, fault)
            return
        if fault == "reset-after":
            self.state.record(status=None, fault=fault)
            await self._drop(scope, receive)
            return
        if fault == "slow":
            await self._slow_down()
        await self._reply(send, status, reply, extra, fault)

    def _create(
        self,
        scope: Scope,
        headers: Mapping[str, str],
        body: bytes,
        too_large: bool,
        author: Author | None,
    ) -> tuple[int, dict[str, Any]]:
        if author is None:
            return 401, {"message": UNAUTHENTICATED}
        rejection = self.state.contract.check_create(
            path=scope["path"],
            headers=headers,
            body=None if too_large else (body or None),
            content_type=headers.get("content-type"),
        )
        if too_large and (rejection is None or rejection.status == 400):
            too_big = (
                f"The request body is larger than the sandbox accepts ({MAX_BODY_BYTES} bytes)."
            )
            rejection = content_error(too_big, too_big)
        if rejection is not None and rejection.status in (401, 404):
            return rejection.status, rejection.to_json()
        user = scope["path_params"]["user"]
        # openapi-core reads the ID with int(), which also takes " 1" and a full-width one (U+FF11);
        # a URL's client ID is ASCII digits.
        if not (user.isascii() and user.isdigit()) or int(user) not in self.state.clients:
            return 404, {"message": CLIENT_NOT_FOUND}
        if rejection is not None:
            return rejection.status, rejection.to_json()
        content = json.loads(body)["content"]
        try:
            content.encode("utf-8")
        except UnicodeEncodeError:
            return 400, content_error(NOT_UTF8, NOT_UTF8).to_json()
        api_version = headers.get("x-api-version", "").strip() or DEFAULT_API_VERSION
        activity = self.state.store.add(
            client_id=int(user), content=content, author=author, api_version=api_version
        )
        self.state.record_created()
        return 201, {
            key: activity[key] for key in ("id", "content", "created_at", "updated_at", "author")
        }

    async def _slow_down(self) -> None:
        """Wait `slow_seconds`, cut short when the sandbox is stopping (so stop stays quick)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.state.slow_seconds
        while not self.state.stopping.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, 0.05))

    async def _reply(
        self,
        send: Send,
        status: int,
        body: Mapping[str, Any],
        extra: list[tuple[bytes, bytes]],
        fault: str | None,
    ) -> None:
        payload = _json_bytes(body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [_JSON, (b"content-length", str(len(payload)).encode()), *extra],
            }
        )
        self.state.record(status=status, fault=fault)
        await send({"type": "http.response.body", "body": payload})

    async def _drop(self, scope: Scope, receive: Receive) -> None:
        """Reset the connection (RST) without sending a byte of reply."""
        transport = scope.get("extensions", {}).get(TRANSPORT_EXTENSION)
        if transport is None:
            raise ConnectionDropped(
                "this server does not let the sandbox drop connections; run it with Sandbox()"
            )
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER with a zero timeout: close() sends RST, a real "connection reset".
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        # Wait until the server has seen the connection go, so it does not answer for us.
        async with asyncio.timeout(5):
            while (await receive())["type"] != "http.disconnect":
                pass


def _decoded_headers(scope: Scope) -> Headers:
    """Case-insensitive, as openapi-core looks headers up by their spelling in the spec."""
    return Headers(scope=scope)


def _bearer_token(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = bytes(value).strip().partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return token.strip()
            return None
    return None


def _throttle_key(author: Author | None, scope: Scope) -> str:
    if author is not None:
        return f"user:{author.id}"
    client = scope.get("client")
    return f"ip:{client[0] if client else 'unknown'}"


def _rate_limit_headers(decision: ThrottleDecision) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-ratelimit-limit", str(decision.limit).encode()),
        (b"x-ratelimit-remaining", str(decision.remaining).encode()),
    ]
    if not decision.allowed:
        headers += [
            (b"retry-after", str(decision.retry_after).encode()),
            (b"x-ratelimit-reset", str(decision.reset_at).encode()),
        ]
    return headers


async def _read_body(receive: Receive, headers: Mapping[str, str]) -> tuple[bytes, bool] | None:
    """The request body, and whether it is over the limit; None if the client disconnected
    before sending all of it.

    An oversized body is not read further: the 400 goes out at once, and uvicorn reads and
    discards the rest, so the client sees that reply rather than a broken connection (which
    would leave it unsure whether the activity was created).
    """
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return b"", True
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"", True
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks), False


class ApiVersionHeader:
    """Echo the request's X-Api-Version (default 2024-03-05) on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        version = DEFAULT_API_VERSION.encode()
        for name, value in scope["headers"]:
            if name == b"x-api-version":  # the first one, as the create route stores it
                version = value.strip() or version
                break

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-api-version", version)]
            await send(message)

        await self.app(scope, receive, send_with_version)


def timeline_page() -> HTMLResponse:
    """The timeline page (package data), with a Content-Security-Policy that lets only its own
    inline script and style run and lets it fetch only from the sandbox itself: even if a
    note were ever written into the page as HTML, no script in it would run."""
    html = importlib.resources.files(__package__).joinpath(TIMELINE_ASSET).read_bytes()

    def hashes(tag: bytes) -> str:
        pattern = re.compile(rb"<%s>(.*?)</%s>" % (tag, tag), re.DOTALL)
        return " ".join(
            f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'"
            for body in pattern.findall(html)
        )

    policy = (
        f"default-src 'none'; script-src {hashes(b'script')}; style-src {hashes(b'style')}; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return HTMLResponse(
        html,
        headers={
            "content-security-policy": policy,
            "x-content-type-options": "nosniff",
            "cache-control": "no-store",
        },
    )


def build_app(state: SandboxState) -> ASGIApp:
    """The whole sandbox as one ASGI application."""

    async def list_activities(request: Request) -> Response:
        raw = request.query_params.get("client_id")
        client_id = None
        if raw is not None:
            try:
                client_id = int(raw)
            except ValueError:
                return JSONResponse(
                    {"message": f"client_id must be an integer, not {raw!r}."}, status_code=400
                )
        return JSONResponse({"activities": state.store.activities(client_id)})

    page = timeline_page()

    async def timeline(request: Request) -> Response:
        return page

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"message": "The sandbox was reset."})

    async def stats(request: Request) -> Response:
        body = state.stats().to_json()
        body["activities"] = state.store.count()
        return JSONResponse(body)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = "Not Found." if exc.status_code == 404 else exc.detail
        if exc.status_code == 405:
            message = "The method is not supported for this route."
        return JSONResponse({"message": message}, status_code=exc.status_code, headers=exc.headers)

    app = Starlette(
        routes=[
            Route(CREATE_PATH, CreateActivityEndpoint(state), methods=["POST"]),
            Route(TIMELINE_PATH, timeline, methods=["GET"]),
            Route("/_sandbox/activities", list_activities, methods=["GET"]),
            Route("/_sandbox/reset", reset, methods=["POST"]),
            Route("/_sandbox/stats", stats, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error},
    )
    return ApiVersionHeader(app)
