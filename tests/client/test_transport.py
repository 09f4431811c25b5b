"""On the wire: the client never follows a redirect, never sends a loopback request
through a proxy from the environment, and says which host did not resolve."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest
from client_helpers import Api, LoopbackServer
from spp_activities import (
    APIConnectionError,
    APIStatusError,
    AsyncSPPClient,
    ConfigurationError,
    SPPClient,
)

Factory = Callable[[Callable[[BaseHTTPRequestHandler], None]], LoopbackServer]
TOKEN = "sk-test-wire-Tt7"


def run_create(kind: str, url: str, http_client: Any = None) -> Any:
    if kind == "sync":
        with SPPClient(url, TOKEN, http_client=http_client) as client:
            return client.activities.create(1, "x")

    async def main() -> Any:
        async with AsyncSPPClient(url, TOKEN, http_client=http_client) as client:
            return await client.activities.create(1, "x")

    return asyncio.run(main())


# --- redirects --------------------------------------------------------------------


@pytest.fixture
def target(loopback_server: Factory) -> LoopbackServer:
    """Where the redirects point: counts every request that reaches it."""

    def created(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(201)
        handler.send_header("Content-Type", "application/json")
        body = b'{"id": 1}'
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return loopback_server(created)


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("own_http_client", [False, True])
def test_redirects_are_never_followed(
    loopback_server: Factory, target: LoopbackServer, kind: str, status: int, own_http_client: bool
) -> None:
    location = f"{target.url}/api/clients/1/activities"

    def redirect(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    origin = loopback_server(redirect)
    # the caller's client even asks for redirects to be followed
    http: Any = None
    if own_http_client:
        http = (httpx.Client if kind == "sync" else httpx.AsyncClient)(follow_redirects=True)
    with pytest.raises(APIStatusError) as caught:
        run_create(kind, origin.url, http)
    assert caught.value.status_code == status
    assert f"redirected to {location}; check the workspace URL" in str(caught.value)
    assert origin.hits == 1
    assert target.hits == 0  # the token never went to the other server


# --- proxies from the environment -------------------------------------------------


class FakeProxy:
    """A TCP listener on loopback that counts the connections made to it."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()


PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"]


@pytest.fixture
def proxy_everything(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProxy]:
    proxy = FakeProxy()
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, proxy.url)
        monkeypatch.setenv(name.lower(), proxy.url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield proxy
    proxy.stop()


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_loopback_request_never_goes_through_a_proxy(
    proxy_everything: FakeProxy, sandbox_factory: Any, kind: str, host: str
) -> None:
    sandbox = sandbox_factory(tokens=[TOKEN])
    url = sandbox.url.replace("127.0.0.1", host)
    activity = run_create(kind, url)
    assert activity.content == "x"
    assert proxy_everything.connections == 0
    assert len(sandbox.activities()) == 1


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_an_ipv6_loopback_request_never_goes_through_a_proxy(
    proxy_everything: FakeProxy, sandbox_factory: Any, kind: str
) -> None:
    """The [::1] branch of the client's own no-proxy mount (a bracketed pattern)."""
    sandbox = sandbox_factory(host="::1", tokens=[TOKEN])
    assert "[::1]" in sandbox.url
    activity = run_create(kind, sandbox.url)
    assert activity.content == "x"
    assert proxy_everything.connections == 0
    assert len(sandbox.activities()) == 1


def own_client(kind: str, **options: Any) -> httpx.Client | httpx.AsyncClient:
    return httpx.Client(**options) if kind == "sync" else httpx.AsyncClient(**options)


def create_with_own_client(kind: str, url: str, **options: Any) -> Any:
    """run_create with an httpx client of the caller's own, built and closed in the
    event loop that uses it."""
    if kind == "sync":
        with httpx.Client(**options) as http:
            return run_create(kind, url, http_client=http)

    async def main() -> Any:
        async with (
            httpx.AsyncClient(**options) as http,
            AsyncSPPClient(url, TOKEN, http_client=http) as client,
        ):
            return await client.activities.create(1, "x")

    return asyncio.run(main())


LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"]


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
@pytest.mark.parametrize("proxy_from", ["environment", "proxy=", "mount"])
def test_your_own_client_that_would_proxy_a_loopback_url_is_refused(
    proxy_everything: FakeProxy, sandbox_factory: Any, kind: str, host: str, proxy_from: str
) -> None:
    """The caller's client is never changed, so one that would send the token to a proxy
    in plaintext is refused at construction, with the fix; nothing reaches the proxy."""
    sandbox = sandbox_factory(host="::1" if host == "[::1]" else "127.0.0.1", tokens=[TOKEN])
    url = f"http://{host}:{sandbox.port}"
    transport_class = httpx.HTTPTransport if kind == "sync" else httpx.AsyncHTTPTransport
    options: dict[str, Any] = {
        "environment": {},
        "proxy=": {"proxy": proxy_everything.url, "trust_env": False},
        "mount": {
            "trust_env": False,
            "mounts": {"all://": transport_class(proxy=proxy_everything.url)},
        },
    }[proxy_from]
    http = own_client(kind, **options)

    def build() -> object:
        if isinstance(http, httpx.Client):
            return SPPClient(url, TOKEN, http_client=http)
        return AsyncSPPClient(url, TOKEN, http_client=http)

    with pytest.raises(ConfigurationError) as caught:
        build()
    if isinstance(http, httpx.Client):
        http.close()
    text = str(caught.value)
    assert "through a proxy" in text
    assert "trust_env=False" in text
    assert f"mounts={{'all://{host}': None}}" in text
    assert TOKEN not in text
    assert proxy_everything.connections == 0
    assert sandbox.activities() == []


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
@pytest.mark.parametrize("fix", ["trust_env=False", "no-proxy mount"])
def test_your_own_client_with_the_fix_goes_direct(
    proxy_everything: FakeProxy, sandbox_factory: Any, kind: str, host: str, fix: str
) -> None:
    sandbox = sandbox_factory(host="::1" if host == "[::1]" else "127.0.0.1", tokens=[TOKEN])
    url = f"http://{host}:{sandbox.port}"
    options: dict[str, Any] = (
        {"trust_env": False} if fix == "trust_env=False" else {"mounts": {f"all://{host}": None}}
    )
    activity = create_with_own_client(kind, url, **options)
    assert activity.content == "x"
    assert proxy_everything.connections == 0
    assert len(sandbox.activities()) == 1


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_your_own_client_may_use_a_proxy_for_https(proxy_everything: FakeProxy, kind: str) -> None:
    """Through a proxy, https is a tunnel the proxy cannot read: allowed, as httpx does
    (the proxy here hangs up, so the call fails to connect, after reaching it)."""
    with pytest.raises(APIConnectionError):
        create_with_own_client(kind, "https://workspace.invalid")
    assert proxy_everything.connections >= 1


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_fake_proxy_is_live_for_other_hosts(proxy_everything: FakeProxy, kind: str) -> None:
    """The control: a non-loopback workspace does use the proxy from the environment
    (which here hangs up), so the test above would see a leak."""
    with pytest.raises(APIConnectionError):
        run_create(kind, "https://workspace.invalid")
    assert proxy_everything.connections >= 1


# --- a name that does not resolve ------------------------------------------------

RESOLVER_MESSAGES = [
    "[Errno -2] Name or service not known",  # glibc
    "[Errno -3] Temporary failure in name resolution",
    "[Errno -5] No address associated with hostname",
    "[Errno 8] nodename nor servname provided, or not known",  # macOS
    "[Errno 11001] getaddrinfo failed",  # Windows
]


@pytest.mark.parametrize("message", RESOLVER_MESSAGES)
def test_a_workspace_that_does_not_resolve_names_the_host(api: Api, message: str) -> None:
    api.client_options["workspace_url"] = "acme-typo.spp.co"
    api.reply(*[httpx.ConnectError(message)] * 3)
    with pytest.raises(APIConnectionError) as caught:
        api.create(1, "x")
    text = str(caught.value)
    assert "'acme-typo.spp.co' does not resolve; check the workspace URL" in text
    assert caught.value.may_have_been_created is False


def test_other_connect_errors_do_not_blame_the_name(api: Api) -> None:
    api.reply(*[httpx.ConnectError("[Errno 111] Connection refused")] * 3)
    with pytest.raises(APIConnectionError) as caught:
        api.create(1, "x")
    text = str(caught.value)
    assert "does not resolve" not in text
    assert "Connection refused" in text
    assert caught.value.may_have_been_created is False
    assert len(api.requests) == 3  # a refused connection created nothing: retried twice


# --- what the own pool sends --------------------------------------------------------


def _recording_server(loopback_server: Factory) -> tuple[LoopbackServer, list[dict[str, Any]]]:
    """A server that answers 201 and records each request's path and headers."""
    seen: list[dict[str, Any]] = []

    def created(handler: BaseHTTPRequestHandler) -> None:
        seen.append({"path": handler.path, **{k.lower(): v for k, v in handler.headers.items()}})
        body = (
            b'{"id": 1, "content": "x", "created_at": "2025-12-19T10:00:00Z",'
            b' "updated_at": "2025-12-19T10:00:00Z", "author": {"id": 2, "name": "A"}}'
        )
        handler.send_response(201)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return loopback_server(created), seen


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_own_pool_sends_each_clients_headers_to_each_clients_url(
    loopback_server: Factory, kind: str
) -> None:
    """The own pool sends X-Api-Version and Content-Type by default, and a call's URL
    may come from a cache: two clients of other API versions and base URLs, a copy
    from with_options, a per-call header and client IDs reused or new must each still
    reach the wire as they were asked for."""
    server, seen = _recording_server(loopback_server)
    calls: list[tuple[str, int, dict[str, Any]]] = [
        ("old", 1, {}),
        ("new", 1, {}),
        ("old", 2, {}),
        ("copy", 1, {}),
        ("new", 2**62, {"extra_headers": {"X-Api-Version": "2030-01-01"}}),
        ("old", 1, {}),
        ("old", 3, {"extra_headers": {"X-Api-Version": None, "Accept": None}}),
        ("old", 1, {}),
    ]

    def clients(cls: Any) -> dict[str, Any]:
        old = cls(server.url, TOKEN, api_version="2024-03-05")
        new = cls(base_url=server.url + "/v2", token=TOKEN, api_version="2025-06-01")
        return {"old": old, "new": new, "copy": old.with_options(max_retries=0)}

    if kind == "sync":
        made = clients(SPPClient)
        for name, client_id, options in calls:
            made[name].activities.create(client_id, "x", **options)
        made["old"].close()
        made["new"].close()
    else:

        async def main() -> None:
            made = clients(AsyncSPPClient)
            for name, client_id, options in calls:
                await made[name].activities.create(client_id, "x", **options)
            await made["old"].aclose()
            await made["new"].aclose()

        asyncio.run(main())

    assert [(r["path"], r.get("x-api-version")) for r in seen] == [
        ("/api/clients/1/activities", "2024-03-05"),
        ("/v2/clients/1/activities", "2025-06-01"),
        ("/api/clients/2/activities", "2024-03-05"),
        ("/api/clients/1/activities", "2024-03-05"),
        (f"/v2/clients/{2**62}/activities", "2030-01-01"),
        ("/api/clients/1/activities", "2024-03-05"),
        ("/api/clients/3/activities", None),  # taken off for this call only ...
        ("/api/clients/1/activities", "2024-03-05"),  # ... and back on the next
    ]
    assert [r.get("accept") for r in seen] == ["application/json"] * 6 + [None, "application/json"]
    for request in seen:
        assert request["content-type"] == "application/json"
        assert request["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_token_is_not_among_the_own_pools_default_headers(kind: str) -> None:
    """The pool sends X-Api-Version and Content-Type by default, never the token: it is
    written into each request as it is sent."""
    client = (SPPClient if kind == "sync" else AsyncSPPClient)("example.spp.co", TOKEN)
    defaults = client._http.headers
    assert defaults["X-Api-Version"] == client.api_version
    assert "authorization" not in defaults
    assert TOKEN not in repr(dict(defaults))
