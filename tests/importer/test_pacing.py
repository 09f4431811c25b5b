"""The shared pacer, driven by a fake clock: no sleeping, no timed assertions.

A small discrete-event simulation plays workers against model throttles (a
Laravel-style fixed window, a token bucket) and counts what the server accepted
and how often it answered 429. Its latency may vary (seeded), as on a real
network, where replies overtake each other.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import math
import random
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
    Placed,
    RefillEstimate,
    Reply,
    Spacing,
    WindowEstimate,
    parse_rate_headers,
    wait_set,
)
from spp_activities.retry import RetryPolicy
from spp_activities.sandbox import Sandbox

NEW, CURRENT = Placed.NEW, Placed.CURRENT


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
    window_length: float | None  # what the pacer learnt of a fixed window


def simulate(
    limiter: FixedWindow | TokenBucket,
    *,
    workers: int = 8,
    latency: float = 0.004,
    jitter: float = 0.0,
    server_time: float = 0.0,
    duration: float = 20.0,
    headers: bool = True,
    seed: int = 1,
) -> Result:
    """`latency`: the fastest round trip; `jitter`: the mean extra delay of each way, and
    `server_time` the mean time the server takes after counting a request (exponential:
    a few take much longer, so replies come out of order)."""
    rng = random.Random(seed)

    def one_way(extra: float = 0.0) -> float:
        delay = latency / 2
        for mean in (jitter, extra):
            delay += rng.expovariate(1 / mean) if mean else 0.0
        return delay

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
                heapq.heappush(events, (time + one_way(), seq, "arrive", (time,)))
            else:  # a waiting worker looks again after the delay or the next reply
                heapq.heappush(events, (time + min(delay, 0.002), seq, "ready", ()))
        elif kind == "arrive":
            allowed, limit, remaining, retry_after = limiter.hit(time)
            if allowed:
                first_accepted = time if math.isnan(first_accepted) else first_accepted
                last_accepted = time
            reply = (data[0], float(allowed), limit, remaining, retry_after)
            heapq.heappush(events, (time + one_way(server_time), seq, "reply", reply))
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
    return Result(
        accepted / duration,
        throttled / max(1, accepted + throttled),
        steady,
        pacer.window.length,
    )


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


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
@pytest.mark.parametrize(
    ("latency", "jitter", "server_time", "steady"),
    [
        (0.004, 0.002, 0.0, 0.97),
        (0.01, 0.005, 0.0, 0.97),
        (0.02, 0.01, 0.0, 0.97),
        (0.05, 0.02, 0.0, 0.93),
        (0.004, 0.001, 0.02, 0.97),  # the server's own time varies
        (0.02, 0.002, 0.05, 0.92),
        (0.01, 0.05, 0.0, 0.88),  # heavy jitter: round trips of 10 to 300 ms
    ],
)
def test_a_fixed_window_is_used_to_the_full_when_latency_varies(
    latency: float, jitter: float, server_time: float, steady: float, seed: int
) -> None:
    """On a real network round trips vary and replies overtake each other: the opener
    of a window may come back late, and an old window's `Remaining: 0` after the new
    window's first replies. The pacer still learns the one-second window (not a little
    more, which would cost a few percent every window) and keeps 429s rare. (Before,
    these ran at 0.45-0.87 of the limit with up to 8% 429s, except the first two.)"""
    result = simulate(
        FixedWindow(50),
        latency=latency,
        jitter=jitter,
        server_time=server_time,
        duration=60,
        seed=seed,
    )
    assert result.window_length == pytest.approx(1.0, abs=0.025)
    assert result.steady_per_second >= steady * 50
    assert result.throttled_share <= 0.01


@pytest.mark.parametrize("seed", [1, 2])
def test_more_workers_than_the_limit_do_not_confuse_the_window(seed: int) -> None:
    """64 requests leave at once against a limit of 50: their replies come back in any
    order, `Remaining` rising and falling by up to 49 within the first window. That is
    not a series of windows (read so, the estimate fell to 0.03 s and one request in ten
    was answered 429)."""
    result = simulate(
        FixedWindow(50), workers=64, latency=0.02, jitter=0.01, duration=30, seed=seed
    )
    assert result.window_length == pytest.approx(1.0, abs=0.025)
    assert result.throttled_share <= 0.025  # the first burst's 14, and a few more


def test_the_window_estimate_does_not_creep_in_a_long_run() -> None:
    """The gap between two windows is partly the pacer's own waiting; learning the
    length from those gaps made the estimate grow window after window (to 1.05 s and
    on: 5% fewer rows a second). Ten minutes on: still the window, and its full rate."""
    result = simulate(FixedWindow(50), latency=0.004, jitter=0.002, duration=600, seed=3)
    assert result.window_length == pytest.approx(1.0)
    assert result.steady_per_second >= 0.98 * 50
    assert result.throttled_share <= 0.001


@pytest.mark.parametrize(
    ("limit", "length", "share"),
    [(20, 0.5, 0.9), (50, 1.5, 0.94), (100, 2.0, 0.96), (60, 60.0, 0.97)],
)
def test_windows_that_are_not_one_second_are_learnt_too(
    limit: int, length: float, share: float
) -> None:
    """Whole seconds are only a first guess when the bounds allow just one: half a
    second, a second and a half, two seconds and a minute are each learnt."""
    result = simulate(
        FixedWindow(limit, window=length),
        latency=0.01,
        jitter=0.005,
        duration=max(60.0, 10 * length),
    )
    assert result.window_length == pytest.approx(length, rel=0.04)
    assert result.steady_per_second >= share * limit / length
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
            placed = window.observe(sent + 0.001, Reply(sent), 10, 9 - i, overtaking=1)
            assert placed is (NEW if i == 0 else CURRENT)
    assert window.length == pytest.approx(2.0)
    assert window.end() == pytest.approx(8.0 + 2.0 + 0.02)
    # then `Remaining` creeps up (a step at a time, no reset) for several windows,
    # with budget to spare: not a fixed window
    assert window.observe(10.5, Reply(10.5), 10, 1, overtaking=1) is CURRENT
    assert window.observe(13.0, Reply(13.0), 10, 2, overtaking=1) is CURRENT
    assert window.observe(16.0, Reply(16.0), 10, 3, overtaking=1) is Placed.NOT_A_WINDOW
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
        window.observe(start, Reply(start), 5, 4, overtaking=1)
        window.observe(start + 0.5, Reply(start + 0.5), 5, 0, overtaking=1)
    budget.observe(5, 0, throttled=False, same_window=True)
    assert budget.wait(2.6, in_flight=0, window=window) == pytest.approx(1.01 - 0.6)
    assert budget.wait(3.02, in_flight=0, window=window) == 0
    assert budget.remaining == 5


def three_windows_of_five() -> tuple[Pacer, Callable[[float, int], None]]:
    """A pacer that has seen three one-second windows of 5, and `answer(sent, remaining)`,
    which gives it a reply 10 ms after the request was sent."""
    clock = FakeClock()
    pacer = Pacer(clock=clock, max_pause=60.0)

    def answer(sent: float, remaining: int) -> None:
        clock.now = sent + 0.01
        pacer.on_reply(Reply(sent, limit=5, remaining=remaining))

    for start in (0.0, 1.0, 2.0):
        for i in range(5):
            answer(start + 0.1 * i, 4 - i)
    assert pacer.window.length == pytest.approx(1.0)
    return pacer, answer


def test_a_late_reply_of_the_old_window_does_not_spend_the_new_ones_budget() -> None:
    """Replies overtake each other: the old window's `Remaining: 0` may come after the
    new window's first replies. What is left of the new window stays what it said."""
    pacer, answer = three_windows_of_five()
    answer(3.0, 4)  # the new window opened
    answer(2.95, 0)  # late: sent before it opened
    assert pacer.budget.remaining == 4
    answer(3.1, 2)
    answer(3.05, 3)  # overtaken in the same window
    assert pacer.budget.remaining == 2


def test_a_late_reply_can_say_which_request_opened_the_window() -> None:
    """The request that opened a window may be answered after a later one: the window
    opened when the earlier one arrived, and it ends one length after that."""
    window = WindowEstimate()
    for start in (0.0, 1.0, 2.0):
        for i in range(5):
            sent = start + 0.1 * i
            window.observe(sent + 0.01, Reply(sent), 5, 4 - i, overtaking=2)
    window.observe(3.03, Reply(3.02), 5, 3, overtaking=2)  # the second of the new window
    assert window.opened == pytest.approx(3.02)
    window.observe(3.04, Reply(3.0), 5, 4, overtaking=2)  # the first, answered late
    assert window.opened == pytest.approx(3.0)
    assert window.end() == pytest.approx(3.0 + 0.03 + 1.0 + 0.01)  # its slack: 0.03


def test_a_request_that_overtook_the_opener_is_not_taken_for_this_window() -> None:
    """Sent just after the opener but there first, a request is counted in the old
    window (`Remaining: 0`). It neither spends the new window's budget nor makes the
    next reply of the new window look like yet another window."""
    pacer, answer = three_windows_of_five()
    answer(3.0, 4)  # the new window's opener
    answer(3.001, 0)  # overtook it: the old window's
    assert pacer.budget.remaining == 4
    answer(3.2, 3)
    assert pacer.budget.remaining == 3
    assert pacer.window.opened == pytest.approx(3.0)
    assert pacer.window.length == pytest.approx(1.0)


def test_a_429_for_a_request_that_overtook_the_opener_keeps_the_new_budget() -> None:
    """Refused because it reached the server just before the window ended, a request
    sent just after the opener says nothing about the new window: its budget stays."""
    pacer, answer = three_windows_of_five()
    answer(3.0, 4)  # the new window's opener
    pacer.on_reply(Reply(3.001, throttled=True, retry_after=1.0, limit=5, remaining=0))
    assert pacer.budget.remaining == 4
    assert pacer.window.length == pytest.approx(1.0)


def test_a_late_opener_does_not_raise_the_budget() -> None:
    """The opener answered after a later request of its window: what is left is still
    what the later request said."""
    pacer, answer = three_windows_of_five()
    answer(3.02, 3)
    answer(3.0, 4)  # the opener, late
    assert pacer.window.opened == pytest.approx(3.0)
    assert pacer.budget.remaining == 3


def test_a_429_inside_a_window_says_it_is_longer() -> None:
    window = WindowEstimate()
    for start in (0.0, 0.6, 1.2):  # resets 0.6 s apart while nothing was refused
        for i in range(5):
            window.observe(start + 0.01 * i, Reply(start + 0.01 * i), 5, 4 - i, overtaking=1)
    assert window.length == pytest.approx(0.6)
    window.observe(1.9, Reply(1.9, throttled=True), 5, 0, overtaking=1)
    assert window.length == pytest.approx(0.6)  # one witness could be a misread reply ...
    window.observe(1.95, Reply(1.95, throttled=True), 5, 0, overtaking=1)
    assert window.length is not None  # ... a second 429 says it is the window
    assert window.length >= 0.7


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


@pytest.mark.parametrize("set_with_cancel", [True, False], ids=["event-set-as-cancelled", "idle"])
def test_a_cancelled_wait_for_an_event_is_cancelled_even_if_the_event_fires_with_it(
    set_with_cancel: bool,
) -> None:
    # asyncio.wait_for on Python 3.11 returned normally here, and a runner task that
    # outlived its cancellation kept a failed import from ever ending.
    async def scenario() -> str:
        event = asyncio.Event()
        waiter = asyncio.create_task(wait_set(event, 60))
        await asyncio.sleep(0)  # the waiter is now waiting
        if set_with_cancel:
            event.set()
        waiter.cancel()
        try:
            await waiter
        except asyncio.CancelledError:
            return "cancelled"
        return "went on"

    assert asyncio.run(scenario()) == "cancelled"


def test_a_wait_for_an_event_says_whether_it_was_set_or_timed_out() -> None:
    async def scenario() -> tuple[bool, bool]:
        event = asyncio.Event()
        timed_out = await wait_set(event, 0.01)
        asyncio.get_running_loop().call_soon(event.set)
        return timed_out, await wait_set(event, 60)

    assert asyncio.run(scenario()) == (False, True)
