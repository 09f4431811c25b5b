"""Injected faults: what the wire shows, what was stored, and what the client raises."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from spp_activities import (
    APITimeoutError,
    SPPClient,
)
from spp_activities.sandbox import FaultPlan, Sandbox

CALL = "Client called to discuss project requirements."


def raw_post(sandbox: Sandbox, http: httpx.Client | None = None) -> httpx.Response:
    """POST one activity; pass `http` to reuse connections in loops."""
    return (http or httpx).post(  # type: ignore[attr-defined]
        f"{sandbox.api_url}/clients/1/activities",
        json={"content": CALL},
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=10,
    )


def client_for(sandbox: Sandbox, **options: Any) -> SPPClient:
    return SPPClient(sandbox.workspace_url, sandbox.token, **options)


# ---------------------------------------------------------------- on the wire


@pytest.mark.parametrize("kind", ["reset", "reset-after"])
def test_reset_drops_the_connection_without_any_reply(sandbox_factory: Any, kind: str) -> None:
    sandbox = sandbox_factory(faults={kind: 1.0})
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        raw_post(sandbox)
    stored = len(sandbox.activities())
    assert stored == (1 if kind == "reset-after" else 0)
    assert sandbox.stats()["by_status"] == {"dropped": 1}
    assert sandbox.stats()["by_fault"] == {kind: 1}


def test_a_429_fault_carries_retry_after(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(faults={"429": 1.0})
    response = raw_post(sandbox)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json() == {"message": "Too Many Attempts."}
    assert response.headers["x-api-version"] == "2024-03-05"
    assert sandbox.activities() == []


def test_a_500_fault_happens_after_storing(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(faults={"500": 1.0})
    response = raw_post(sandbox)
    assert response.status_code == 500
    assert [a["content"] for a in sandbox.activities()] == [CALL]


def test_after_store_faults_do_not_apply_to_requests_that_store_nothing(
    sandbox_factory: Any,
) -> None:
    sandbox = sandbox_factory(faults={"500": 1.0})
    response = httpx.post(
        f"{sandbox.api_url}/clients/999999/activities",
        json={"content": CALL},
        headers={"Authorization": f"Bearer {sandbox.token}"},
    )
    assert response.status_code == 404
    assert sandbox.stats()["by_fault"] == {}


def test_slow_replies_after_the_delay_and_stores(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(faults={"slow": 1.0}, slow_seconds=5)
    # No timing assertion: a read timeout well under the delay must fire.
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{sandbox.api_url}/clients/1/activities",
            json={"content": CALL},
            headers={"Authorization": f"Bearer {sandbox.token}"},
            timeout=httpx.Timeout(10, read=0.3),
        )
    assert len(sandbox.activities()) == 1


def test_a_short_slow_fault_still_answers_201(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(faults={"slow": 1.0}, slow_seconds=0.05)
    assert raw_post(sandbox).status_code == 201


def test_the_fault_sequence_is_reproducible_from_the_seed(sandbox_factory: Any) -> None:
    faults = {"429": 0.3, "503": 0.3}
    first = sandbox_factory(faults=faults, seed=11)
    second = sandbox_factory(faults=faults, seed=11)
    with httpx.Client() as http:
        statuses_first = [raw_post(first, http).status_code for _ in range(30)]
        statuses_second = [raw_post(second, http).status_code for _ in range(30)]
    assert statuses_first == statuses_second
    assert {429, 503, 201} <= set(statuses_first)
    plan = FaultPlan(faults, seed=11)
    expected = [{"429": 429, "503": 503, None: 201}[plan.draw()] for _ in range(30)]
    assert statuses_first == expected
    # Reset starts the sequence again.
    first.reset()
    with httpx.Client() as http:
        assert [raw_post(first, http).status_code for _ in range(30)] == expected


def test_fault_rates_are_roughly_honoured(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(faults="503=0.25", seed=3)
    with httpx.Client() as http:
        statuses = [raw_post(sandbox, http).status_code for _ in range(200)]
    assert 25 <= statuses.count(503) <= 75
    assert sandbox.stats()["by_fault"] == {"503": statuses.count(503)}
    assert len(sandbox.activities()) == statuses.count(201)


# ---------------------------------------------------------------- what the client raises


# The client's error, retries and what is stored, for each fault and both clients:
# tests/client/test_sandbox.py::test_faults_are_retried_only_when_nothing_can_exist.


def test_client_raises_timeout_for_a_slow_reply(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(faults={"slow": 1.0}, slow_seconds=5)
    timeout = httpx.Timeout(10, read=0.3)
    with client_for(sandbox, timeout=timeout) as client, pytest.raises(APITimeoutError) as caught:
        client.activities.create(1, CALL)
    assert caught.value.may_have_been_created is True
    assert len(sandbox.activities()) == 1


def first_seed_where(faults: dict[str, float], sequence: list[str | None]) -> int:
    """A seed whose fault plan starts with `sequence`, found with the sandbox's own FaultPlan."""
    for seed in range(10_000):
        plan = FaultPlan(faults, seed=seed)
        if [plan.draw() for _ in sequence] == sequence:
            return seed
    raise AssertionError(f"no seed gives {sequence}")


@pytest.mark.parametrize("kind", ["429", "503"])
def test_client_retries_429_and_503_then_succeeds(sandbox_factory: Any, kind: str) -> None:
    faults = {kind: 0.5}
    seed = first_seed_where(faults, [kind, None])
    sandbox = sandbox_factory(faults=faults, seed=seed)
    waits: list[float] = []
    with client_for(sandbox, max_retries=2, sleep=waits.append) as client:
        activity = client.activities.create(1, CALL)
    assert activity.content == CALL
    assert len(sandbox.activities()) == 1
    assert sandbox.stats()["by_status"] == {kind: 1, "201": 1}
    assert len(waits) == 1
    if kind == "429":
        assert waits == [1.0]  # Retry-After honoured
