"""Client lifecycle and packaging: context managers close their own connections
(never the caller's), repr, the public names and a light import."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import subprocess
import sys

import httpx
import pytest
import spp_activities
from spp_activities import AsyncSPPClient, SPPClient, errors


def activity_transport() -> httpx.MockTransport:
    body = {
        "id": 1,
        "content": "x",
        "created_at": "2025-12-19T10:00:00Z",
        "updated_at": "2025-12-19T10:00:00Z",
        "author": {},
    }
    return httpx.MockTransport(lambda request: httpx.Response(201, json=body))


def test_sync_client_closes_its_own_connections() -> None:
    with SPPClient("example.spp.co", "t") as client:
        assert not client._http.is_closed
    assert client._http.is_closed


def test_async_client_closes_its_own_connections() -> None:
    async def run() -> AsyncSPPClient:
        async with AsyncSPPClient("example.spp.co", "t") as client:
            assert not client._http.is_closed
        return client

    assert asyncio.run(run())._http.is_closed


def test_a_callers_sync_client_is_used_and_left_open() -> None:
    seen: list[httpx.Headers] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.copy())
        return activity_transport().handle_request(request)

    http = httpx.Client(transport=httpx.MockTransport(handle), headers={"X-Trace": "abc"})
    with SPPClient("example.spp.co", "t", http_client=http) as client:
        raw = client.activities.with_raw_response.create(1, "x")
    [sent] = seen
    assert sent["X-Trace"] == "abc"  # the caller's headers kept
    assert sent["Authorization"] == "Bearer t"  # ours added per request
    assert "Authorization" not in http.headers  # the caller's client not changed
    # ...and the request kept by the reply no longer holds the token
    assert "Authorization" not in raw.http_response.request.headers
    assert not http.is_closed
    http.close()


def test_a_callers_async_client_is_used_and_left_open() -> None:
    http = httpx.AsyncClient(transport=activity_transport())

    async def run() -> None:
        async with AsyncSPPClient("example.spp.co", "t", http_client=http) as client:
            activity = await client.activities.create(1, "x")
            assert activity.id == 1
        assert not http.is_closed
        await http.aclose()

    asyncio.run(run())


@pytest.mark.parametrize("own_http_client", [False, True])
def test_a_closed_client_says_so_and_sends_nothing(own_http_client: bool) -> None:
    sent: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return activity_transport().handle_request(request)

    transport = httpx.MockTransport(handle)
    http = httpx.Client(transport=transport) if own_http_client else None
    client = SPPClient("example.spp.co", "t", http_client=http)
    client.close()
    client.close()  # closing twice is harmless
    with pytest.raises(RuntimeError, match="This SPPClient is closed"):
        client.activities.create(1, "x")

    async def run() -> None:
        ahttp = httpx.AsyncClient(transport=transport) if own_http_client else None
        aclient = AsyncSPPClient("example.spp.co", "t", http_client=ahttp)
        async with aclient:
            pass
        await aclient.aclose()
        with pytest.raises(RuntimeError, match="This AsyncSPPClient is closed"):
            await aclient.activities.with_raw_response.create(1, "x")
        if ahttp is not None:
            assert not ahttp.is_closed
            await ahttp.aclose()

    asyncio.run(run())
    assert sent == []
    if http is not None:
        assert not http.is_closed  # still the caller's to close
        http.close()


def test_async_create_is_a_coroutine_that_validates_when_awaited() -> None:
    client = AsyncSPPClient("example.spp.co", "t")
    pending = client.activities.create(0, "x")  # no error yet: it is a coroutine
    with pytest.raises(spp_activities.InvalidInputError):
        asyncio.run(pending)
    asyncio.run(client.aclose())


def test_repr_shows_the_configuration() -> None:
    with SPPClient("example.spp.co", "t", max_retries=4) as client:
        assert repr(client) == (
            "SPPClient(base_url='https://example.spp.co/api', api_version='2024-03-05', "
            "max_retries=4)"
        )
        assert client.max_retries == 4
        assert client.timeout.read == 30.0


def test_every_error_class_is_exported_and_drawn_in_the_tree() -> None:
    classes = [
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, errors.SPPError) and obj.__name__[0] != "_"
    ]
    assert len(classes) == 15
    for cls in classes:
        assert getattr(spp_activities, cls.__name__) is cls
        assert cls.__name__ in (errors.__doc__ or "")
    assert issubclass(errors.InvalidInputError, ValueError)
    assert issubclass(errors.APITimeoutError, errors.APIConnectionError)
    assert issubclass(errors.RateLimitError, errors.APIStatusError)
    for cls in (errors.APIConnectionError, errors.APIStatusError, errors.InvalidResponseError):
        assert issubclass(cls, errors.APIError)
    assert "APIError" in spp_activities.__all__


def test_public_names() -> None:
    from spp_api.models import Activity, Author

    assert spp_activities.Activity is Activity
    assert spp_activities.Author is Author
    for name in spp_activities.__all__:
        assert hasattr(spp_activities, name)


def test_version_matches_the_distribution() -> None:
    assert spp_activities.__version__ == importlib.metadata.version("spp-activities")


def test_import_is_light() -> None:
    code = "import json, sys, spp_activities; print(json.dumps(sorted(m for m in sys.modules)))"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    loaded = set(json.loads(output))
    heavy = {
        "spp_activities.sandbox",
        "spp_activities.importer",
        "spp_activities.cli",
        "spp_activities.cli.demo",
        "starlette",
        "uvicorn",
        "openapi_core",
        "tqdm",
        "yaml",
    }
    assert not heavy & loaded
    # The public names are imported on first use, so the CLI's --help does not
    # pay for httpx and the generated package.
    assert not {"httpx", "spp_api", "attrs", "spp_activities.client"} & loaded


def test_public_names_resolve_lazily_and_completely() -> None:
    code = (
        "import json, sys, spp_activities as s;"
        "before = 'spp_activities.client' in sys.modules;"
        "from spp_activities import *;"
        "print(json.dumps([before, 'spp_activities.client' in sys.modules, sorted(dir(s))]))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    before, after, names = json.loads(output)
    assert (before, after) == (False, True)
    assert set(spp_activities.__all__) <= set(names)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = spp_activities.Nope


def test_default_sleeps_are_used_when_none_is_injected() -> None:
    """Retry-After: 0 goes through time.sleep / anyio.sleep without waiting."""

    def transport() -> httpx.MockTransport:
        replies = [httpx.Response(503, headers={"Retry-After": "0"})]

        def handle(request: httpx.Request) -> httpx.Response:
            return replies.pop() if replies else activity_transport().handle_request(request)

        return httpx.MockTransport(handle)

    http = httpx.Client(transport=transport())
    with SPPClient("example.spp.co", "t", http_client=http) as client:
        assert client.activities.create(1, "x").id == 1

    async def run() -> None:
        async with httpx.AsyncClient(transport=transport()) as http:
            client = AsyncSPPClient("example.spp.co", "t", http_client=http)
            assert (await client.activities.create(1, "x")).id == 1

    asyncio.run(run())


@pytest.mark.parametrize("module", ["config", "errors", "retry", "client", "validation"])
def test_docstring_examples_hold(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"spp_activities.{module}"))
    assert result.failed == 0
