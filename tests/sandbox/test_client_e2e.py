"""SPPClient and AsyncSPPClient against the sandbox, over real loopback HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC
from pathlib import Path

import httpx
import pytest
from spp_activities import (
    Activity,
    AsyncSPPClient,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    SPPClient,
)
from spp_activities.sandbox import Sandbox

CALL = "Client called to discuss project requirements."


class _BlankingTransport(httpx.HTTPTransport):
    """Sends each request with a blank ``content``, as a buggy client would."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        blanked = httpx.Request(
            request.method,
            request.url,
            headers=[(k, v) for k, v in request.headers.items() if k.lower() != "content-length"],
            json={"content": ""},
        )
        return super().handle_request(blanked)


def test_sync_client_creates_an_activity_the_sandbox_stored(sandbox: Sandbox) -> None:
    with SPPClient(sandbox.workspace_url, sandbox.token) as client:
        activity = client.activities.create(5, CALL)
    assert isinstance(activity, Activity)
    assert activity.content == CALL
    assert activity.author.id == 1
    assert activity.author.email == "sandbox@example.com"
    assert activity.created_at.tzinfo is not None
    assert activity.created_at.utcoffset() == UTC.utcoffset(None)
    listed = httpx.get(f"{sandbox.url}/_sandbox/activities", params={"client_id": 5}).json()
    assert [(a["id"], a["content"]) for a in listed["activities"]] == [(activity.id, CALL)]


def test_sync_client_errors_for_401_404_400(sandbox: Sandbox) -> None:
    with (
        SPPClient(sandbox.workspace_url, "not-the-token", max_retries=0) as client,
        pytest.raises(AuthenticationError) as unauthenticated,
    ):
        client.activities.create(1, CALL)
    assert unauthenticated.value.status_code == 401
    assert unauthenticated.value.message == "Unauthenticated."
    assert unauthenticated.value.may_have_been_created is False
    assert "not-the-token" not in str(unauthenticated.value)
    assert "not-the-token" not in repr(unauthenticated.value)

    with (
        SPPClient(sandbox.workspace_url, sandbox.token, max_retries=0) as client,
        pytest.raises(NotFoundError) as not_found,
    ):
        client.activities.create(999999, CALL)
    # The client refuses blank content itself (and headers that would misdescribe the
    # body), so a transport of the caller's own blanks it past the client's check.
    with (
        httpx.Client(transport=_BlankingTransport(), trust_env=False) as http,
        SPPClient(sandbox.workspace_url, sandbox.token, max_retries=0, http_client=http) as client,
        pytest.raises(BadRequestError) as bad_request,
    ):
        client.activities.create(1, CALL)
    assert not_found.value.message == "Client not found."
    assert not_found.value.api_version == "2024-03-05"
    assert bad_request.value.status_code == 400
    assert bad_request.value.errors == {"content": ["The content field is required."]}
    assert sandbox.activities() == []


def test_api_version_chosen_by_the_client_is_echoed(sandbox: Sandbox) -> None:
    with SPPClient(sandbox.workspace_url, sandbox.token, api_version="2023-06-01") as client:
        with pytest.raises(NotFoundError) as not_found:
            client.activities.create(999999, CALL)
        client.activities.create(1, CALL)
    assert not_found.value.api_version == "2023-06-01"
    assert sandbox.activities()[0]["api_version"] == "2023-06-01"


def test_async_client_creates_and_gets_typed_errors(sandbox: Sandbox) -> None:
    async def scenario() -> tuple[Activity, NotFoundError, AuthenticationError]:
        async with AsyncSPPClient(sandbox.workspace_url, sandbox.token) as client:
            activity = await client.activities.create(2, "async call")
            try:
                await client.activities.create(999999, "x")
            except NotFoundError as error:
                not_found = error
        async with AsyncSPPClient(sandbox.workspace_url, "wrong") as client:
            try:
                await client.activities.create(2, "x")
            except AuthenticationError as error:
                unauthenticated = error
        return activity, not_found, unauthenticated

    activity, not_found, unauthenticated = asyncio.run(scenario())
    assert activity.content == "async call"
    assert not_found.status_code == 404
    assert unauthenticated.status_code == 401
    assert [a["content"] for a in sandbox.activities(client_id=2)] == ["async call"]


def test_async_client_creates_concurrently_without_losing_any(sandbox: Sandbox) -> None:
    async def scenario() -> list[Activity]:
        async with AsyncSPPClient(sandbox.workspace_url, sandbox.token) as client:
            return await asyncio.gather(
                *(client.activities.create(1 + n % 100, f"row {n}") for n in range(40))
            )

    activities = asyncio.run(scenario())
    assert len({a.id for a in activities}) == 40
    assert sorted(a["content"] for a in sandbox.activities()) == sorted(
        f"row {n}" for n in range(40)
    )


def test_client_sees_data_kept_across_a_sandbox_restart(tmp_path: Path) -> None:
    db = tmp_path / "kept.db"
    with Sandbox(db=db) as first, SPPClient(first.workspace_url, first.token) as client:
        created = client.activities.create(3, "before restart")
    with Sandbox(db=db) as second, SPPClient(second.workspace_url, second.token) as client:
        after = client.activities.create(3, "after restart")
        assert [a["content"] for a in second.activities(client_id=3)] == [
            "before restart",
            "after restart",
        ]
    assert after.id == created.id + 1


def test_environment_variables_point_the_client_at_the_sandbox(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPP_WORKSPACE_URL", sandbox.workspace_url)
    monkeypatch.setenv("SPP_API_TOKEN", sandbox.token)
    with SPPClient() as client:
        assert client.activities.create(1, "from env").content == "from env"
