"""What the client adds on the wire: the token at the last moment, no proxy for
loopback, deadlines and a bounded reply.

httpx gives the rest (connections, TLS, HTTP/1.1), but not these, so they are here:

- :class:`BearerAuth` writes ``Authorization`` as the request is sent (an
  ``httpx.Auth``), so no header dict holding the token waits in a local variable,
  and :func:`forget_credentials` takes it off the request once the attempt is over:
  the request kept by a response, an error or a ``RawResponse`` never holds it.
- :func:`new_http_client` / :func:`new_async_http_client` build the client's own
  httpx clients: redirects never followed, and a loopback target never sent
  through ``HTTP(S)_PROXY``/``ALL_PROXY`` (which would see the token in plaintext).
  A caller's own httpx client that would do so is refused at construction
  (:func:`refuse_proxied_plain_http`): it is theirs, so it is not changed.
- Deadlines. httpx's timeouts are per socket operation, so a server that trickles
  a byte a second never trips them. On the client's own pools every socket
  operation's timeout is clipped to the time left before the attempt's deadline
  (:class:`_DeadlineBackend` and :class:`_AsyncDeadlineBackend`, wrapped around
  httpcore's network backend through its public ``NetworkBackend`` interfaces). A
  blocking socket read cannot be cancelled from outside, so the sync client has no
  other way (a watchdog thread costs a thread per call and cannot find the socket of
  a kept-alive connection); for the async client the clip is also the cheap way, a
  fraction of a microsecond per read against ~11 µs for a cancel scope per attempt.
  httpx has no public way to pass a network backend, so the wrapper is set on its
  transport's pool (``_pool._network_backend``); ``tests/client/test_bounds.py``
  fails if that stops working. With your own ``httpx.AsyncClient`` each attempt runs
  in an ``anyio.fail_after`` scope instead; with your own ``httpx.Client`` the
  deadline is checked at the start and between body chunks only.
- :class:`BodyReader` decodes gzip and deflate itself, counting the decoded bytes,
  and stops at ``max_response_bytes``: httpx would inflate a whole network read at
  once (a 64 KiB read of a gzip bomb is 64 MiB).
"""

from __future__ import annotations

import contextvars
import ipaddress
import time
import zlib
from collections.abc import Callable, Generator, Mapping
from typing import Any, Final, TypeVar

import httpcore
import httpx

from .config import ClientConfig, Token, is_loopback
from .errors import ConfigurationError

__all__ = [
    "ATTEMPT_DEADLINE",
    "BearerAuth",
    "BodyReader",
    "ReplyTooLarge",
    "fits_as_is",
    "forget_credentials",
    "new_async_http_client",
    "new_http_client",
    "refuse_proxied_plain_http",
]

#: The monotonic time the current attempt must end by; read by the socket wrappers.
ATTEMPT_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "spp_activities_attempt_deadline", default=None
)


class BearerAuth(httpx.Auth):
    """Sets ``Authorization`` as the request goes out: ``Bearer <token>``, or a whole
    header value given per call (``extra_headers={"Authorization": ...}``)."""

    def __init__(self, token: Token, *, scheme: str | None = "Bearer") -> None:
        self._token = token
        self._scheme = scheme

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        prefix = f"{self._scheme} " if self._scheme else ""
        request.headers["Authorization"] = prefix + self._token.reveal()
        yield request

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._token!r})"


#: Sends no Authorization header (``extra_headers={"Authorization": None}``).
NO_AUTH: Final = httpx.Auth()


def forget_credentials(request: httpx.Request) -> None:
    """Take the credentials off a request that was sent (the next attempt sets them again)."""
    request.headers.pop("Authorization", None)


# ---------------------------------------------------------------------------
# The client's own httpx clients.
# ---------------------------------------------------------------------------


def _no_proxy_for(base_url: str) -> dict[str, None]:
    """A mount that routes the API's loopback host around any proxy from the environment."""
    host = httpx.URL(base_url).host
    if not is_loopback(host):
        return {}
    try:
        shown = f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        shown = host
    return {f"all://{shown}": None}


#: httpcore's proxying pools: a transport built on one sends through a proxy.
_PROXY_POOLS: Final = (
    httpcore.HTTPProxy,
    httpcore.AsyncHTTPProxy,
    httpcore.SOCKSProxy,
    httpcore.AsyncSOCKSProxy,
)


def refuse_proxied_plain_http(http: httpx.Client | httpx.AsyncClient, base_url: str) -> None:
    """Raise ConfigurationError when the caller's own httpx client would send a plain
    ``http://`` (loopback) request through a proxy: the proxy would see the token in
    plaintext. Such a client is never changed, so it is refused with the fix instead.

    httpx has no public way to ask which transport serves a URL; ``_transport_for_url``
    is what its ``send`` uses (a transport of your own class is trusted as it is).
    """
    url = httpx.URL(base_url)
    if url.scheme != "http":
        return  # https: a proxy only tunnels the encrypted bytes (CONNECT)
    transport = http._transport_for_url(url)
    if not isinstance(getattr(transport, "_pool", None), _PROXY_POOLS):
        return
    mount = next(iter(_no_proxy_for(base_url)), f"all://{url.host}")
    raise ConfigurationError(
        f"http_client would send requests for {url.scheme}://{url.netloc.decode()} through a "
        "proxy (from HTTP_PROXY/ALL_PROXY or its own proxy setting), which would see the API "
        "token in plaintext. Build it with trust_env=False, or mount no proxy for the host: "
        f"httpx.Client(mounts={{{mount!r}: None}})."
    )


def new_http_client(config: ClientConfig, headers: Mapping[str, str]) -> httpx.Client:
    """The client's own pool; ``headers``: what it sends on every request."""
    return _clipped(httpx.Client(**_own_pool_options(config, headers)), _DeadlineBackend)


def new_async_http_client(config: ClientConfig, headers: Mapping[str, str]) -> httpx.AsyncClient:
    """The async client's own pool; ``headers``: what it sends on every request."""
    return _clipped(httpx.AsyncClient(**_own_pool_options(config, headers)), _AsyncDeadlineBackend)


def _own_pool_options(config: ClientConfig, headers: Mapping[str, str]) -> dict[str, Any]:
    return {
        "headers": headers,
        "timeout": config.timeout,
        "follow_redirects": False,
        "mounts": _no_proxy_for(config.base_url),
    }


_ClientT = TypeVar("_ClientT", httpx.Client, httpx.AsyncClient)


def _clipped(client: _ClientT, wrapper: Callable[[Any], Any]) -> _ClientT:
    """Wrap the network backend of each of the client's pools (a mount of None has none)
    so that every socket operation ends by the attempt's deadline."""
    for transport in [client._transport, *client._mounts.values()]:
        pool = getattr(transport, "_pool", None)
        if pool is not None and hasattr(pool, "_network_backend"):
            pool._network_backend = wrapper(pool._network_backend)
    return client


# ---------------------------------------------------------------------------
# The deadline on the own pools: every socket operation ends by the attempt's deadline.
# ---------------------------------------------------------------------------


def _clip(timeout: float | None, error: type[Exception]) -> float | None:
    deadline = ATTEMPT_DEADLINE.get()
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise error("the attempt's deadline passed")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _clip(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _clip(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(
            ssl_context, server_hostname, _clip(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _clip(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(
            path, _clip(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _AsyncDeadlineStream(httpcore.AsyncNetworkStream):
    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream

    # The `timeout` parameters below are httpcore's AsyncNetworkStream/-Backend interface.
    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._stream.read(max_bytes, _clip(timeout, httpcore.ReadTimeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._stream.write(buffer, _clip(timeout, httpcore.WriteTimeout))

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._stream.start_tls(
            ssl_context, server_hostname, _clip(timeout, httpcore.ConnectTimeout)
        )
        return _AsyncDeadlineStream(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _AsyncDeadlineBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        self._backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(
            host, port, _clip(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _AsyncDeadlineStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_unix_socket(
            path, _clip(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _AsyncDeadlineStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


# ---------------------------------------------------------------------------
# The bounded reply.
# ---------------------------------------------------------------------------


class ReplyTooLarge(Exception):
    """The reply's body passed ``max_response_bytes``; the rest was not read."""

    def __init__(self, response: httpx.Response, limit: int) -> None:
        super().__init__(f"the reply is larger than {limit} bytes")
        self.response = response
        self.limit = limit


def fits_as_is(response: httpx.Response, limit: int) -> bool:
    """Whether the reply can be read whole at once: not compressed, with a
    ``Content-Length`` within the cap (h11 reads no byte past it). The usual case,
    and the cheap one; :class:`BodyReader` takes the others chunk by chunk."""
    headers = response.headers
    length = headers.get("Content-Length")
    if length is None or not length.isdigit() or int(length) > limit:
        return False
    encoding = headers.get("Content-Encoding")
    return encoding is None or encoding.strip().lower() in ("", "identity")


class BodyReader:
    """Takes a streamed reply's raw chunks, counts its decoded size against the cap,
    and gives back a response whose body is read (for ``.content`` / ``.json()``)."""

    __slots__ = ("_chunks", "_decoded", "_deflate_first", "_inflate", "_limit", "_raw", "_streamed")

    def __init__(self, response: httpx.Response, limit: int) -> None:
        self._streamed = response
        self._limit = limit
        self._chunks: list[bytes] = []
        self._raw = self._decoded = 0
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        self._deflate_first = encoding == "deflate"
        self._inflate: Any = None
        if encoding in ("gzip", "x-gzip"):
            self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._inflate = zlib.decompressobj()
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ReplyTooLarge(self._without_body(), limit)

    def already_read(self) -> httpx.Response | None:
        """The response itself when its body was read before it reached us (a mock
        transport's reply); ReplyTooLarge if that body is over the cap."""
        try:
            content = self._streamed.content
        except httpx.ResponseNotRead:
            return None
        if len(content) > self._limit:
            raise ReplyTooLarge(self._without_body(), self._limit)
        return self._streamed

    def feed(self, chunk: bytes) -> None:
        self._raw += len(chunk)
        if self._raw > self._limit:
            raise ReplyTooLarge(self._without_body(), self._limit)
        self._chunks.append(chunk)
        if self._inflate is not None:
            self._count_decoded(chunk)

    def _count_decoded(self, data: bytes) -> None:
        try:
            while data:
                room = self._limit - self._decoded + 1
                self._decoded += len(self._inflate.decompress(data, room))
                if self._decoded > self._limit:
                    raise ReplyTooLarge(self._without_body(), self._limit)
                data = self._inflate.unconsumed_tail
                self._deflate_first = False
        except zlib.error:
            if self._deflate_first:  # "deflate" sent raw, without the zlib wrapper
                self._deflate_first = False
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                self._decoded = 0
                self._count_decoded(b"".join(self._chunks))
                return
            self._inflate = None  # undecodable: given back raw, it fails as "not JSON"

    def response(self) -> httpx.Response:
        """The reply with its body read, decoded by httpx (now known to fit)."""
        headers = self._streamed.headers
        if self._inflate is None and "Content-Encoding" in headers:
            encoding = headers["Content-Encoding"].strip().lower()
            if encoding not in ("", "identity"):  # undecodable or an unknown coding
                headers = httpx.Headers(
                    [(k, v) for k, v in headers.multi_items() if k.lower() != "content-encoding"]
                )
        return self._rebuild(headers, b"".join(self._chunks))

    def _without_body(self) -> httpx.Response:
        headers = [
            (k, v)
            for k, v in self._streamed.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length")
        ]
        return self._rebuild(httpx.Headers(headers), b"")

    def _rebuild(self, headers: httpx.Headers, raw: bytes) -> httpx.Response:
        streamed = self._streamed
        response = httpx.Response(
            streamed.status_code,
            headers=headers,
            stream=httpx.ByteStream(raw),
            request=streamed.request,
            extensions=streamed.extensions,
            default_encoding=streamed.default_encoding,
        )
        response.read()
        return response
