"""Running the sandbox: in a background thread (`Sandbox`) or in the foreground (`serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self, TextIO

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from spp_activities.config import is_loopback
from spp_activities.sandbox.app import TRANSPORT_EXTENSION, SandboxState, build_app
from spp_activities.sandbox.contract import ContractValidator
from spp_activities.sandbox.faults import FaultPlan
from spp_activities.sandbox.options import ClientIds, SandboxOptionError, SandboxOptions
from spp_activities.sandbox.ratelimit import RateLimiter
from spp_activities.sandbox.store import ActivityStore

#: `serve`'s port when none is given (`Sandbox` picks a free one).
SERVE_PORT = 8000
_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 15.0


class _SandboxH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with the transport shown to the app and slow clients bounded.

    - ASGI has no way to close a connection without replying; the `reset` faults need one,
      so the app finds the transport under `scope["extensions"][TRANSPORT_EXTENSION]`.
    - uvicorn bounds neither how long a client may take to send its request (its keep-alive
      timeout stops as soon as one byte arrives) nor how many connections stay open. Here a
      connection has `read_timeout` seconds to send a whole request, from when it opens or
      from the previous reply, and beyond `max_connections` open connections a new one is
      closed at once.

    `for_options` makes the subclass that carries one sandbox's limits (uvicorn builds the
    protocol itself, from the class).
    """

    read_timeout: float
    max_connections: int

    @classmethod
    def for_options(cls, options: SandboxOptions) -> type[_SandboxH11Protocol]:
        limits = {"read_timeout": options.read_timeout, "max_connections": options.max_connections}
        return type("SandboxH11Protocol", (cls,), limits)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_deadline: asyncio.TimerHandle | None = None
        app = self.app

        async def app_with_transport(scope: Any, receive: Any, send: Any) -> None:
            scope["extensions"] = {
                **scope.get("extensions", {}),
                TRANSPORT_EXTENSION: self.transport,
            }
            await app(scope, receive, send)

        self.app = app_with_transport

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.close()  # connection_lost forgets it
            return
        self._await_request()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state not in _READING:
            self._cancel_read_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state in _READING:
            self._await_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_deadline()
        super().connection_lost(exc)

    def _await_request(self) -> None:
        self._cancel_read_deadline()
        self._read_deadline = self.loop.call_later(self.read_timeout, self._read_timed_out)

    def _cancel_read_deadline(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_timed_out(self) -> None:
        self._read_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


#: h11 states in which the client is still sending its request.
_READING = (h11.IDLE, h11.SEND_BODY)


class Sandbox:
    """A local stand-in for SPP's create-activity API, following openapi.yaml.

    >>> with Sandbox() as sandbox:          # doctest: +SKIP
    ...     print(sandbox.workspace_url, sandbox.token)

    Takes a `SandboxOptions`, or its fields as keyword arguments (or both: the keywords
    override). `db=None` keeps activities in memory; a path keeps them across restarts.
    `clients` are the client IDs that exist (default 1-100). `faults` maps fault kinds ("429",
    "503", "500", "reset", "reset-after", "slow") to probabilities, or is the `--faults` text;
    `seed` makes their sequence reproducible. `rate_limit` allows that many requests per
    second per token. `port=0` picks a free port; `port` then holds the one chosen.
    """

    def __init__(self, options: SandboxOptions | None = None, /, **kwargs: Any) -> None:
        self.options = options_from(options, kwargs)
        self.port = self.options.port
        self._state: SandboxState | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    # The options, read as attributes of the sandbox, as before SandboxOptions existed.
    @property
    def host(self) -> str:
        return self.options.host

    @property
    def db(self) -> Path | None:
        return self.options.db

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.options.tokens

    @property
    def clients(self) -> ClientIds:
        return self.options.clients

    @property
    def faults(self) -> Mapping[str, float]:
        return self.options.faults

    @property
    def seed(self) -> int | None:
        return self.options.seed

    @property
    def slow_seconds(self) -> float:
        return self.options.slow_seconds

    @property
    def rate_limit(self) -> float | None:
        return self.options.rate_limit

    def __repr__(self) -> str:  # never shows the tokens
        where = self.url if self.running else "not running"
        return f"<Sandbox {where} clients={self.clients} faults={self.faults or 'none'}>"

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> Self:
        """Serve in a background thread; returns once the sandbox accepts connections."""
        if self._thread is not None:
            raise RuntimeError("this sandbox is already running")
        store = ActivityStore(self.db)
        try:
            self._state = SandboxState(
                store=store,
                tokens=self.tokens,
                clients=self.clients,
                faults=FaultPlan(self.faults, self.seed),
                slow_seconds=self.slow_seconds,
                rate_limiter=None if self.rate_limit is None else RateLimiter(self.rate_limit),
                contract=ContractValidator(),
            )
            self._socket = _listening_socket(self.host, self.port)
            self.port = self._socket.getsockname()[1]
            config = uvicorn.Config(
                build_app(self._state),
                http=_SandboxH11Protocol.for_options(self.options),
                ws="none",
                lifespan="off",
                loop="asyncio",
                log_config=None,
                log_level="error",
                access_log=False,
                timeout_graceful_shutdown=2,
                timeout_keep_alive=math.ceil(self.options.read_timeout),
                backlog=2048,
            )
            self._server = uvicorn.Server(config)
            self._thread = threading.Thread(
                target=self._server.run,
                kwargs={"sockets": [self._socket]},
                name=f"spp-sandbox-{self.port}",
                daemon=True,
            )
            self._thread.start()
            deadline = time.monotonic() + _START_TIMEOUT
            while not self._server.started:
                if not self._thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"the sandbox did not start on {self.host}:{self.port}")
                time.sleep(0.005)
        except BaseException:
            self._teardown()
            raise
        return self

    def stop(self) -> None:
        """Shut down, wait for the server thread, close the socket and the database."""
        if self._state is not None:
            self._state.stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        self._teardown()

    def _teardown(self) -> None:
        if self._thread is not None:
            self._thread.join(_STOP_TIMEOUT)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(_STOP_TIMEOUT)
        if self._socket is not None:
            self._socket.close()
        if self._state is not None:
            self._state.store.close()
        self._thread = self._server = self._socket = self._state = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- where to find it -----------------------------------------------------------------
    @property
    def url(self) -> str:
        """The root URL, e.g. http://127.0.0.1:8000 (the API lives under /api)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def workspace_url(self) -> str:
        """What SPPClient takes as `workspace_url`; the client appends /api."""
        return self.url

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    @property
    def token(self) -> str:
        """The first (by default the only) token the sandbox accepts."""
        return self.tokens[0]

    # -- inspection -------------------------------------------------------------------------
    def activities(self, client_id: int | None = None) -> list[dict[str, Any]]:
        """Stored activities (oldest first), optionally for one client."""
        return self._running_state().store.activities(client_id)

    def stats(self) -> dict[str, Any]:
        """Counts of requests to the API by reply status and by injected fault."""
        state = self._running_state()
        body = state.stats().to_json()
        body["activities"] = state.store.count()
        return body

    def reset(self) -> None:
        """Forget all activities and counters; faults start again from the seed."""
        self._running_state().reset()

    def _running_state(self) -> SandboxState:
        if self._state is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return self._state


def _listening_socket(host: str, port: int) -> socket.socket:
    """Bind before serving, so that port 0 gives a free port with no race."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio turns on TCP_NODELAY only for sockets that say TCP,
    # and without it every reply waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.set_inheritable(True)
    except OSError as exc:
        sock.close()
        where = f"{host}:{port}" if is_loopback(host) else f"that host, port {port}"
        raise SandboxOptionError(f"cannot listen on {where}: {exc.strerror}") from None
    return sock


def _banner(sandbox: Sandbox) -> str:
    custom_tokens = sandbox.options.custom_tokens
    token_line = (
        f"  API token:     {sandbox.token}"
        if not custom_tokens
        else f"  API token:     the one you passed with --token ({len(sandbox.tokens)} accepted)"
    )
    token_shown = "$SPP_API_TOKEN" if custom_tokens else sandbox.token
    storage = str(sandbox.db) if sandbox.db is not None else "in memory (lost on exit)"
    extras = []
    if sandbox.faults:
        extras.append(
            "  Faults:        "
            + ", ".join(f"{kind}={rate:g}" for kind, rate in sandbox.faults.items())
            + (f" (seed {sandbox.seed})" if sandbox.seed is not None else "")
        )
    if sandbox.rate_limit is not None:
        extras.append(f"  Rate limit:    {sandbox.rate_limit:g} requests per second per token")
    lines = [
        "SPP sandbox is running.",
        f"  Workspace URL: {sandbox.workspace_url}",
        f"  Timeline:      {sandbox.url}/_sandbox/  (open it in a browser: what arrived, live)",
        token_line,
        f"  Clients:       {sandbox.clients}",
        f"  Database:      {storage}",
        *extras,
        "",
        "Point a client at it:",
        f"  export SPP_WORKSPACE_URL={sandbox.workspace_url}"
        + ("" if custom_tokens else f" SPP_API_TOKEN={sandbox.token}"),
        f"  curl -X POST {sandbox.api_url}/clients/1/activities \\",
        f"    -H 'Authorization: Bearer {token_shown}' -H 'Content-Type: application/json' \\",
        '    -d \'{"content": "Client called to discuss project requirements."}\'',
        "",
        f"Inspect: GET {sandbox.url}/_sandbox/activities[?client_id=N], "
        "GET /_sandbox/stats, POST /_sandbox/reset",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def options_from(options: SandboxOptions | None, overrides: Mapping[str, Any]) -> SandboxOptions:
    """`options` with `overrides` applied (`SandboxOptions()` when `options` is None)."""
    if options is not None and not isinstance(options, SandboxOptions):
        raise SandboxOptionError(
            f"options: pass a SandboxOptions, or keyword arguments (got {type(options).__name__})"
        )
    try:
        if options is None:
            return SandboxOptions(**overrides)
        return dataclasses.replace(options, **overrides)
    except TypeError as exc:  # an unknown keyword: name it as the option it is not
        raise SandboxOptionError(f"unknown sandbox option: {exc}") from None


def serve(
    options: SandboxOptions | None = None, /, *, out: TextIO | None = None, **kwargs: Any
) -> None:
    """Run the sandbox in the foreground until Ctrl-C or SIGTERM (the `sandbox` command).

    Takes the same options as `Sandbox`; `port` defaults to 8000 here.
    """
    stream = out if out is not None else sys.stdout
    if options is None:
        kwargs.setdefault("port", SERVE_PORT)
    sandbox = Sandbox(options, **kwargs)
    stop = threading.Event()
    with _stop_on_signals(stop), sandbox:
        print(_banner(sandbox), file=stream, flush=True)
        while sandbox.running and not stop.wait(0.2):
            pass
    print("SPP sandbox stopped.", file=stream, flush=True)


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
