"""The resources: a real async create (so mocks of the async client are awaitable),
with_raw_response as a cached twin, per-call options in one object, and
with_options copies that share the connection pool."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import typing
from typing import Any
from unittest import mock

import httpx
import pytest
from spp_activities import (
    Activity,
    AsyncSPPClient,
    ConfigurationError,
    RawResponse,
    RetryPolicy,
    SPPClient,
)
from spp_activities.config import RequestOptions, RequestOptionsArgs
from spp_activities.resources import (
    Activities,
    ActivitiesWithRawResponse,
    AsyncActivities,
    AsyncActivitiesWithRawResponse,
)

BODY = {
    "id": 1,
    "content": "x",
    "created_at": "2025-12-19T10:00:00Z",
    "updated_at": "2025-12-19T10:00:00Z",
    "author": {},
}


def test_async_create_is_a_coroutine_function() -> None:
    client = AsyncSPPClient("example.spp.co", "t")
    assert isinstance(client.activities, AsyncActivities)
    assert inspect.iscoroutinefunction(client.activities.create)
    assert inspect.iscoroutinefunction(client.activities.with_raw_response.create)
    assert typing.get_type_hints(AsyncActivities.create)["return"] is Activity
    asyncio.run(client.aclose())


def test_sync_create_is_a_plain_function() -> None:
    with SPPClient("example.spp.co", "t") as client:
        assert isinstance(client.activities, Activities)
        assert not inspect.iscoroutinefunction(client.activities.create)
        assert typing.get_type_hints(Activities.create)["return"] is Activity


def test_resources_and_raw_twins_are_cached_per_client() -> None:
    with SPPClient("example.spp.co", "t") as client:
        assert client.activities is client.activities
        raw = client.activities.with_raw_response
        assert isinstance(raw, ActivitiesWithRawResponse)
        assert raw is client.activities.with_raw_response
    aclient = AsyncSPPClient("example.spp.co", "t")
    assert isinstance(aclient.activities.with_raw_response, AsyncActivitiesWithRawResponse)
    asyncio.run(aclient.aclose())


def test_an_autospec_of_the_async_client_has_an_awaitable_create() -> None:
    activity = Activity.from_dict(BODY)
    client = mock.create_autospec(AsyncSPPClient, instance=True)
    client.activities.create.return_value = activity
    client.activities.with_raw_response.create.return_value = "raw"

    async def use(c: Any) -> None:
        assert await c.activities.create(1, "x") is activity
        assert await c.activities.with_raw_response.create(2, "y", timeout=3.0) == "raw"
        with pytest.raises(TypeError):  # the spec checks the signature
            await c.activities.create(1, "x", "surplus")

    asyncio.run(use(client))
    client.activities.create.assert_awaited_once_with(1, "x")


def test_an_autospec_of_the_sync_client_returns_directly() -> None:
    client = mock.create_autospec(SPPClient, instance=True)
    client.activities.create.return_value = "activity"
    assert client.activities.create(1, "x") == "activity"


def test_async_mocks_of_the_resource_are_awaitable() -> None:
    activities = mock.AsyncMock(spec=AsyncActivities)
    activities.create.return_value = "activity"
    assert asyncio.run(activities.create(1, "x")) == "activity"
    client = mock.AsyncMock(spec=AsyncSPPClient)
    # AsyncMock's spec does not recurse; AsyncSPPClient.activities is the resource class,
    # so a spec'd mock can be given one:
    client.activities = activities
    assert asyncio.run(client.activities.create(1, "x")) == "activity"


def test_the_create_keywords_are_the_request_options() -> None:
    fields = {field.name for field in dataclasses.fields(RequestOptions)}
    assert set(RequestOptionsArgs.__annotations__) == fields
    for create in (Activities.create, AsyncActivities.create):
        parameters = inspect.signature(create).parameters
        assert list(parameters) == ["self", "client_id", "content", "options"]
        assert parameters["options"].kind is inspect.Parameter.VAR_KEYWORD


def transport(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        # a copy: the client takes the token off the request once it was sent
        copy = httpx.Request(request.method, request.url, headers=request.headers.copy())
        copy.extensions = dict(request.extensions)
        seen.append(copy)
        return httpx.Response(201, json=BODY)

    return httpx.MockTransport(handle)


def test_with_options_makes_a_copy_that_shares_the_pool() -> None:
    seen: list[httpx.Request] = []
    policy = RetryPolicy(backoff_initial=0.1)
    with SPPClient("example.spp.co", "t", http_client=httpx.Client(transport=transport(seen))) as c:
        fast = c.with_options(
            timeout=2.0,
            max_retries=0,
            attempt_deadline=5.0,
            call_deadline=6.0,
            max_response_bytes=4096,
            retry_policy=policy,
        )
        assert fast._http is c._http  # one connection pool
        assert (fast.max_retries, fast.attempt_deadline, fast.call_deadline) == (0, 5.0, 6.0)
        assert (fast.max_response_bytes, fast.retry_policy) == (4096, policy)
        assert fast.timeout == httpx.Timeout(2.0)
        assert (c.max_retries, c.timeout.read, c.max_response_bytes) == (2, 30.0, 1024 * 1024)
        assert fast.base_url == c.base_url
        assert isinstance(fast.activities.create(1, "x"), Activity)
        assert isinstance(fast.activities.with_raw_response.create(1, "x"), RawResponse)
        assert fast.activities is not c.activities
        assert seen[0].extensions["timeout"]["read"] == 2.0
        assert seen[0].headers["Authorization"] == "Bearer t"


def test_closing_a_copy_keeps_the_pool_and_closing_the_original_closes_both() -> None:
    client = SPPClient("example.spp.co", "t")
    copy = client.with_options(max_retries=1)
    copy.close()
    assert not client._http.is_closed
    client.close()
    assert client._http.is_closed
    other = client.with_options(max_retries=1)
    with pytest.raises(RuntimeError, match="closed"):
        other.activities.create(1, "x")


def test_async_with_options_shares_the_pool() -> None:
    async def run() -> None:
        seen: list[httpx.Request] = []
        http = httpx.AsyncClient(transport=transport(seen))
        async with AsyncSPPClient("example.spp.co", "t", http_client=http) as client:
            copy = client.with_options(max_retries=0)
            assert copy._http is http
            assert isinstance(copy, AsyncSPPClient)
            assert (await copy.activities.create(1, "x")).id == 1
        await http.aclose()

    asyncio.run(run())


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("timeout", 0),
        ("max_retries", -1),
        ("attempt_deadline", float("inf")),
        ("call_deadline", 0),
        ("max_response_bytes", 0),
        ("max_response_bytes", True),
        ("retry_policy", {"retry_unknown_outcome": True}),
    ],
)
def test_with_options_refuses_bad_values(option: str, value: object) -> None:
    with (
        SPPClient("example.spp.co", "t") as client,
        pytest.raises(ConfigurationError, match=option),
    ):
        client.with_options(**{option: value})  # type: ignore[arg-type]
