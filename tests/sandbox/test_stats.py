"""The stats the timeline page shows: requests, created, faults injected, 429s and dropped
connections, for every way a request can end."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx
import pytest
from spp_activities.sandbox import Sandbox

SUMMARY = ("requests", "created", "faults_injected", "rate_limited", "dropped")


def post(sandbox: Sandbox, client_id: int = 1) -> None:
    # The `reset` faults drop the connection on purpose.
    with contextlib.suppress(httpx.TransportError):
        httpx.post(
            f"{sandbox.api_url}/clients/{client_id}/activities",
            json={"content": "Called about the invoice"},
            headers={"Authorization": f"Bearer {sandbox.token}"},
            timeout=10,
        )


def summary(sandbox: Sandbox) -> dict[str, int]:
    stats = sandbox.stats()
    return {key: stats[key] for key in SUMMARY}


@pytest.mark.parametrize(
    ("fault", "created", "dropped", "rate_limited"),
    [
        (None, 1, 0, 0),
        ("429", 0, 0, 1),
        ("503", 0, 0, 0),
        ("500", 1, 0, 0),
        ("reset", 0, 1, 0),
        ("reset-after", 1, 1, 0),
        ("slow", 1, 0, 0),
    ],
)
def test_each_outcome_is_counted(
    sandbox_factory: Any, fault: str | None, created: int, dropped: int, rate_limited: int
) -> None:
    sandbox = sandbox_factory(faults={fault: 1.0} if fault else None, slow_seconds=0)
    post(sandbox)
    assert summary(sandbox) == {
        "requests": 1,
        "created": created,
        "faults_injected": 0 if fault is None else 1,
        "rate_limited": rate_limited,
        "dropped": dropped,
    }
    assert sandbox.stats()["activities"] == created


def test_the_rate_limit_counts_as_429s_not_as_faults(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(rate_limit=0.2)  # one request per 5-second window
    post(sandbox)
    post(sandbox)
    assert summary(sandbox) == {
        "requests": 2,
        "created": 1,
        "faults_injected": 0,
        "rate_limited": 1,
        "dropped": 0,
    }


def test_refused_requests_are_requests_but_create_nothing(sandbox: Sandbox) -> None:
    post(sandbox, client_id=999999)
    assert summary(sandbox)["requests"] == 1
    assert summary(sandbox)["created"] == 0
    assert sandbox.stats()["by_status"] == {"404": 1}


def test_reset_zeroes_every_counter(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(faults={"500": 1.0})
    post(sandbox)
    sandbox.reset()
    assert summary(sandbox) == dict.fromkeys(SUMMARY, 0)
