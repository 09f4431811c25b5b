"""--rate-limit N: Laravel-style throttle per token, with X-RateLimit-* headers on every reply."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from spp_activities.sandbox import Sandbox
from spp_activities.sandbox.ratelimit import RateLimiter


def burst(sandbox: Sandbox, count: int, token: str | None = None) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {token or sandbox.token}"}
    with httpx.Client(base_url=sandbox.api_url, headers=headers, timeout=10) as http:
        return [http.post("/clients/1/activities", json={"content": f"n{n}"}) for n in range(count)]


def test_beyond_the_limit_requests_get_429_with_retry_after(sandbox_factory: Any) -> None:
    # A limit of 0.2/s is one request per 5-second window: the burst cannot outrun it.
    sandbox = sandbox_factory(rate_limit=0.2)
    first, *rest = burst(sandbox, 4)
    assert first.status_code == 201
    assert [r.status_code for r in rest] == [429, 429, 429]
    for response in rest:
        assert int(response.headers["retry-after"]) >= 1
        assert response.headers["x-ratelimit-remaining"] == "0"
        assert int(response.headers["x-ratelimit-reset"]) > 0
        assert response.json() == {"message": "Too Many Attempts."}
    assert len(sandbox.activities()) == 1
    assert sandbox.stats()["by_status"] == {"201": 1, "429": 3}


def test_headers_on_every_reply_and_remaining_counts_down(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(rate_limit=5)
    responses = burst(sandbox, 10)
    assert all(r.headers["x-ratelimit-limit"] == "5" for r in responses)
    remaining = [int(r.headers["x-ratelimit-remaining"]) for r in responses]
    assert remaining[0] == 4
    for before, after in itertools.pairwise(remaining):
        # Counts down by one, stays at 0 while refused, or a new window opened (back to 4).
        assert after in (before - 1, 4) or before == after == 0
    assert 0 in remaining
    limited = [r for r in responses if r.status_code == 429]
    assert limited, "10 requests in a burst against 5 per second must hit the limit"
    assert all(int(r.headers["retry-after"]) >= 1 for r in limited)
    created = [r for r in responses if r.status_code == 201]
    assert len(created) >= 5


def test_errors_carry_the_headers_too(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(rate_limit=100)
    response = httpx.post(
        f"{sandbox.api_url}/clients/999999/activities",
        json={"content": "x"},
        headers={"Authorization": f"Bearer {sandbox.token}"},
    )
    assert response.status_code == 404
    assert response.headers["x-ratelimit-limit"] == "100"
    assert response.headers["x-ratelimit-remaining"] == "99"


def test_each_token_has_its_own_budget(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(rate_limit=0.2, tokens=["alpha", "beta"])
    assert [r.status_code for r in burst(sandbox, 2, "alpha")] == [201, 429]
    assert [r.status_code for r in burst(sandbox, 2, "beta")] == [201, 429]


def test_no_rate_limit_headers_without_a_limit(sandbox: Sandbox) -> None:
    (response,) = burst(sandbox, 1)
    assert "x-ratelimit-limit" not in response.headers


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_window_opens_at_the_first_request_and_frees_after_a_second() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, clock=clock)
    decisions = [limiter.hit("t") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    clock.now += 0.25
    refused = limiter.hit("t")
    assert not refused.allowed
    assert refused.retry_after == 1  # 0.75 s left, rounded up, at least 1
    clock.now += 0.75
    assert limiter.hit("t").allowed  # a new window
    assert limiter.hit("other").remaining == 2


def test_refused_requests_do_not_count_and_slow_rates_widen_the_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(0.5, clock=clock)  # one request per 2 seconds
    assert limiter.limit == 1
    assert limiter.hit("t").allowed
    clock.now += 1.0
    assert limiter.hit("t").retry_after == 1
    clock.now += 0.5
    assert not limiter.hit("t").allowed
    clock.now += 0.5
    assert limiter.hit("t").allowed
    assert RateLimiter(2.7, clock=clock).limit == 2
