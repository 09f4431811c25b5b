"""The shared pacer, driven by a fake clock: no sleeping, no timed assertions.

A small discrete-event simulation plays workers against model throttles (a
Laravel-style fixed window, a token bucket) and counts what the server accepted
and how often it answered 429.
"""

from __future__ import annotations

import heapq
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from import_helpers import Run, numbered_rows, write_csv
from spp_activities.importer import pacing, runner
from spp_activities.importer.pacing import (
    Budget,
    Pacer,
    Pause,
    RefillEstimate,
    Reply,
    Spacing,
    WindowEstimate,
    parse_rate_headers,
)
from spp_activities.retry import RetryPolicy
from spp_activities.sandbox import Sandbox


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FixedWindow:
    """Like Laravel's throttle: a window opens at the first request and holds `limit`."""

    def __init__(self, limit: int, window: float = 1.0) -> None:
        self.limit, self.window = limit, window
        self.opened = -math.inf
        self.count = 0

    def hit(self, now: float) -> tuple[bool, int, int, float]:
        if now - self.opened >= self.window:
            self.opened, self.count = now, 0
        allowed = self.count < self.limit
        if allowed:
            self.count += 1
        retry_after = max(1, math.ceil(self.opened + self.window - now))
        return allowed, self.limit, self.limit - self.count, retry_after


class TokenBucket:
    def __init__(self, rate: float, capacity: int) -> None:
        self.rate, self.capacity = rate, capacity
        self.tokens = float(capacity)
        self.last = 0.0

    def hit(self, now: float) -> tuple[bool, int, int, float]:
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        allowed = self.tokens >= 1
        if allowed:
            self.tokens -= 1
        return allowed, self.capacity, int(self.tokens), 1.0


@dataclass
class Result:
    accepted_per_second: float
    throttled_share: float
    steady_per_second: float  # from the first accepted request to the last


def simulate(
    limiter: FixedWindow | TokenBucket,
    *,
    workers: int = 8,
    latency: float = 0.004,
    duration: float = 20.0,
    headers: bool = True,
) -> Result:
    clock = FakeClock()
    pacer = Pacer(clock=clock, max_pause=60.0)
    events: list[tuple[float, int, str, tuple[float, ...]]] = []
    seq = 0
    for _ in range(workers):
        seq += 1
        heapq.heappush(events, (0.0, seq, "ready", ()))
    accepted = throttled = 0
    first_accepted = last_accepted = math.nan
    while events:
        time, _, kind, data = heapq.heappop(events)
        if time > duration:
            break
        clock.now = time
        seq += 1
        if kind == "ready":
            delay = pacer.reserve()
            if delay <= 0:
                heapq.heappush(events, (time + latency / 2, seq, "arrive", (time,)))
            else:  # a waiting worker looks again after the delay or the next reply
                heapq.heappush(events, (time + min(delay, 0.002), seq, "ready", ()))
        elif kind == "arrive":
            allowed, limit, remaining, retry_after = limiter.hit(time)
            if allowed:
                first_accepted = time if math.isnan(first_accepted) else first_accepted
                last_accepted = time
            reply = (data[0], float(allowed), limit, remaining, retry_after)
            heapq.heappush(events, (time + latency / 2, seq, "reply", reply))
        else:
            sent_at, allowed_f, limit_f, remaining_f, retry_after = data
            allowed = bool(allowed_f)
            accepted += allowed
            throttled += not allowed
            pacer.on_reply(
                Reply(
                    sent_at,
                    throttled=not allowed,
                    retry_after=None if allowed else retry_after,
                    limit=int(limit_f) if headers else None,
                    remaining=int(remaining_f) if headers else None,
                )
            )
            heapq.heappush(events, (time, seq, "ready", ()))
    steady = (accepted - 1) / (last_accepted - first_accepted) if accepted > 1 else 0.0
    return Result(accepted / duration, throttled / max(1, accepted + throttled), steady)


@pytest.mark.parametrize("latency", [0.002, 0.02])
def test_fixed_window_of_50_per_second_is_used_to_90_percent_with_few_429s(latency: float) -> None:
    result = simulate(FixedWindow(50), latency=latency)
    assert result.accepted_per_second >= 0.9 * 50
    assert result.throttled_share <= 0.02


@pytest.mark.parametrize("latency", [0.001, 0.004, 0.01])
def test_a_fixed_window_of_50_is_used_to_97_percent_in_the_steady_state(latency: float) -> None:
    """Issue 12: against Laravel's fixed one-second window (with X-RateLimit-Limit and
    -Remaining), first to last accepted request at >= 0.97 of the limit, <= 1% 429s."""
    result = simulate(FixedWindow(50), latency=latency)
    assert result.steady_per_second >= 0.97 * 50
    assert result.throttled_share <= 0.01


def test_laravel_style_per_minute_window() -> None:
    result = simulate(FixedWindow(60, window=60.0), duration=600)
    assert result.accepted_per_second >= 0.9 * 1.0
    assert result.throttled_share <= 0.02


@pytest.mark.parametrize(("rate", "capacity"), [(50, 50), (50, 25), (200, 200)])
def test_token_bucket_is_matched_without_429s(rate: float, capacity: int) -> None:
    result = simulate(TokenBucket(rate, capacity))
    assert result.accepted_per_second >= 0.9 * rate
    assert result.throttled_share == 0


def test_token_bucket_with_a_small_burst_is_approached_without_429s() -> None:
    """A burst of a fifth of a second's refill looks like a window at first: slower start."""
    result = simulate(TokenBucket(50, 10))
    assert result.accepted_per_second >= 0.75 * 50
    assert result.throttled_share == 0


def test_without_rate_headers_cubic_backoff_keeps_429s_rare_and_keeps_going() -> None:
    result = simulate(TokenBucket(50, 50), headers=False)
    assert result.throttled_share <= 0.03
    assert result.accepted_per_second >= 0.5 * 50


def test_unthrottled_server_is_not_paced() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock, max_pause=60.0)
    for _ in range(1000):
        assert pacer.reserve() == 0
        pacer.on_reply(Reply(clock.now))
    assert pacer.rate is None


def test_a_429_pauses_every_worker_for_retry_after() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock, max_pause=60.0)
    for _ in range(3):
        assert pacer.reserve() == 0
    pacer.on_reply(Reply(0.0, throttled=True, retry_after=2.5))
    clock.now = 0.5
    assert pacer.reserve() == pytest.approx(2.0)  # any worker, not only the throttled one
    assert pacer.reserve() == pytest.approx(2.0)
    clock.now = 2.5
    assert pacer.reserve() == 0


def test_retry_after_is_capped_and_a_missing_one_gets_a_default() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock, max_pause=60.0, default_pause=1.0)
    pacer.reserve()
    pacer.on_reply(Reply(0.0, throttled=True, retry_after=86_400))
    assert pacer.reserve() == pytest.approx(60.0)
    clock.now = 60.0
    pacer.reserve()
    pacer.on_reply(Reply(60.0, throttled=True))
    assert pacer.reserve() == pytest.approx(1.0)


def test_one_congestion_episode_lowers_the_rate_once() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock, max_pause=60.0)
    for i in range(400):  # 200 requests/s for 2 s: a measured send rate
        clock.now = i * 0.005
        pacer.reserve()
        pacer.on_reply(Reply(clock.now))
    first_sent = clock.now
    clock.now += 0.01
    pacer.on_reply(Reply(first_sent, throttled=True, retry_after=0))
    after_first = pacer.rate
    assert after_first is not None
    assert after_first < 200
    # more 429s for requests sent before that decrease: same episode
    pacer.on_reply(Reply(first_sent, throttled=True, retry_after=0))
    pacer.on_reply(Reply(first_sent - 0.001, throttled=True, retry_after=0))
    assert pacer.rate == after_first
    # then the rate grows back over time
    clock.now += 5.0
    pacer.on_reply(Reply(clock.now))
    assert pacer.rate is not None
    assert pacer.rate > after_first


def test_spent_budget_holds_requests_until_replies_come() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock, max_pause=60.0)
    assert pacer.reserve() == 0
    pacer.on_reply(Reply(0.0, limit=10, remaining=2))
    assert pacer.reserve() == 0
    assert pacer.reserve() == 0
    assert pacer.reserve() > 0  # 2 in flight use up the 2 remaining


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "7"}, (50, 7)),
        ({"X-RateLimit-Limit": "x", "X-RateLimit-Remaining": "-1"}, (None, None)),
        ({}, (None, None)),
    ],
)
def test_parse_rate_headers(
    headers: dict[str, str], expected: tuple[int | None, int | None]
) -> None:
    assert parse_rate_headers(headers) == expected
    assert parse_rate_headers(None) == (None, None)


# ---------------------------------------------------------------- the pacer's pieces


def test_each_piece_of_the_pacer_names_its_one_job_in_one_line() -> None:
    pieces = [
        c
        for _, c in inspect.getmembers(pacing, inspect.isclass)
        if c.__module__ == pacing.__name__ and c is not Reply
    ]
    assert len(pieces) >= 8  # Pause, Budget, WindowEstimate, RefillEstimate, ...
    for piece in pieces:
        doc = inspect.getdoc(piece) or ""
        assert doc, piece
        assert "\n" not in doc.split("\n\n")[0], piece


def test_the_pause_holds_until_retry_after_capped() -> None:
    pause = Pause(max_pause=5.0, default_pause=1.0)
    assert pause.left(0.0) == 0
    pause.on_throttled(0.0, 3.0)
    pause.on_throttled(1.0, None)  # shorter: the longer pause stands
    assert pause.left(1.0) == pytest.approx(2.0)
    pause.on_throttled(1.0, 86_400)
    assert pause.left(1.0) == pytest.approx(5.0)
    assert pause.left(6.0) == 0


def test_the_window_estimate_learns_the_length_from_resets() -> None:
    """`Remaining` jumps back up every 2 s: a fixed window of about 2 s."""
    window = WindowEstimate()
    for second in range(5):
        for i in range(10):
            sent = 2.0 * second + 0.01 * i
            assert not window.observe(sent + 0.001, Reply(sent), 10, 9 - i, None)
    assert window.length == pytest.approx(2.0)
    assert window.end() == pytest.approx(8.0 + 2.0 + 0.02)
    # then no reset for several windows, with budget to spare: not a fixed window
    assert window.observe(20.0, Reply(19.9), 10, 3, None)
    assert window.length is None


def test_the_refill_estimate_learns_a_buckets_rate() -> None:
    """A bucket of 100 refilling at 20/s, drained at 50/s: `Remaining` falls 30 a second."""
    refill = RefillEstimate(period=1.0, min_rate=0.5)
    for i in range(1, 101):
        now = i * 0.02
        refill.observe(now, 100, round(99 - 0.6 * i), accepted=i)
    assert refill.rate == pytest.approx(20.0, rel=0.1)


def test_the_budget_holds_a_spent_window_to_its_end_then_refills() -> None:
    budget, window = Budget(), WindowEstimate()
    for start in (0.0, 1.0, 2.0):
        window.observe(start, Reply(start), 5, 4, None)
        window.observe(start + 0.5, Reply(start + 0.5), 5, 0, None)
    budget.observe(5, 0, throttled=False)
    assert budget.wait(2.6, in_flight=0, window=window) == pytest.approx(1.01 - 0.6)
    assert budget.wait(3.02, in_flight=0, window=window) == 0
    assert budget.remaining == 5


def test_spacing_spreads_sends_at_the_rate() -> None:
    spacing = Spacing()
    assert [spacing.take(0.0, 10.0) for _ in range(3)] == [0, 0, 0]  # a little slack
    assert spacing.take(0.0, 10.0) == pytest.approx(0.1)
    assert spacing.take(0.1, 10.0) == 0
    assert spacing.take(0.1, 10.0) == pytest.approx(0.1)
    assert spacing.take(0.1, None) == 0  # no rate: no spacing


def test_the_runs_pause_is_capped_by_its_retry_policy(
    sandbox: Sandbox,
    tmp_path: Path,
    run_cli: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One number: a Retry-After the policy does not wait out does not pause the run longer."""
    made: list[Pacer] = []

    class Recorded(Pacer):
        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            made.append(self)

    monkeypatch.setattr(runner, "IMPORT_RETRY_POLICY", RetryPolicy(retry_after_max=7.0))
    monkeypatch.setattr(runner, "Pacer", Recorded)
    path = write_csv(tmp_path / "notes.csv", numbered_rows(2), ["client_id", "content"])
    result = run_cli(["import", path], workspace=sandbox.workspace_url, token=sandbox.token)
    assert result.code == 0, result.out + result.err
    assert [pacer.pause.max_pause for pacer in made] == [7.0]
