"""Pacing the import: one shared pacer decides when the next request may leave.

The pacer only paces: whether a failed request is sent again, and after how
long, is the importer's `RetryPolicy`'s business (`retry.py`), as for the
client; the pause after a 429 stops at that policy's `retry_after_max`.

`Pacer` puts together pieces that each do one thing:

* `Pause`: after a 429, nothing is sent by any worker until its
  `Retry-After` has passed (capped).
* `Budget`: with `X-RateLimit-Limit` / `X-RateLimit-Remaining`, the last
  `Remaining` less the requests in flight is what the server will still take;
  once it is spent, nothing is sent until the window must have ended, or
  (for other throttles) except one probe now and then.
* `WindowEstimate`: a fixed window like Laravel's (a window opens at the first
  request and admits `Limit` requests) shows as `Remaining` jumping back up;
  each reset bounds the window's length from both sides, allowing for the
  latency's jitter, and the bounds give the estimate.
* `RefillEstimate`: a throttle that refills continuously (a token bucket)
  shows no resets; its refill rate is estimated from how `Remaining` moves
  while requests are accepted.
* `CubicRate`: without those headers, the rate follows CUBIC, like the AWS
  SDKs' "adaptive" retry mode: on a 429 it drops to `beta` times the measured
  send rate (`SendMeter`), then grows back along a cubic curve that flattens
  near the rate of the last throttle and probes beyond it. One congestion
  episode lowers the rate once.
* `RateControl`: chooses the send rate from what was learnt: 99% of `Limit`
  per fixed window, spread evenly; a proportional controller on a token
  bucket's level (a full bucket is spent faster, the refill matched once it
  is low); else CUBIC.
* `Spacing`: spaces sends evenly at that rate.

Either way a run keeps to the throttle's rate with almost no 429s. Written
here rather than taken from a library: the rate limiters on PyPI (aiolimiter,
limits, pyrate-limiter) enforce a rate they are given; none learns the
server's from its replies. The classes are synchronous and take a clock, so
that they can be tested with a fake one; `AsyncPacer` adds the waiting.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Reply:
    """What the pacer needs to know about one answered (or failed) request."""

    sent_at: float
    throttled: bool = False  # 429
    retry_after: float | None = None
    limit: int | None = None  # X-RateLimit-Limit
    remaining: int | None = None  # X-RateLimit-Remaining


def parse_rate_headers(headers: object) -> tuple[int | None, int | None]:
    """(limit, remaining) from a headers mapping; None when absent or malformed."""
    get = getattr(headers, "get", None)
    if get is None:
        return None, None

    def number(name: str) -> int | None:
        value = get(name)
        if value is None:
            return None
        try:
            parsed = int(str(value).strip())
        except ValueError:
            return None
        return parsed if parsed >= 0 else None

    return number("X-RateLimit-Limit"), number("X-RateLimit-Remaining")


class Pause:
    """Holds every worker after a 429 until its `Retry-After` (capped) has passed."""

    def __init__(self, max_pause: float, default_pause: float) -> None:
        self.max_pause = max_pause
        self.default_pause = default_pause  # when the 429 has no Retry-After
        self.until = -math.inf

    def left(self, now: float) -> float:
        """Seconds the run is still paused (0: not paused)."""
        return self.until - now if now < self.until else 0.0

    def on_throttled(self, now: float, retry_after: float | None) -> None:
        pause = self.default_pause if retry_after is None else retry_after
        pause = min(max(pause, 0.0), self.max_pause)
        self.until = max(self.until, now + pause)


class Placed(StrEnum):
    """Which window a reply speaks of (`WindowEstimate.observe`)."""

    NEW = "new"  # it opened a window
    CURRENT = "current"
    OLDER = "older"  # a window gone by: it came late, or overtook the opener
    NOT_A_WINDOW = "not a window"  # the throttle turned out not to be a fixed window


class WindowEstimate:
    """Learns a fixed window's length from the times `Remaining` jumps back up.

    A window opens when the first request after the last one ended *arrives*; the
    pacer knows send times and round trips. A request arrived between its send time
    (plus the fastest one-way trip, which cancels out) and that plus its *slack*:
    how much longer its round trip took than the fastest of the last 64.

    Every reset bounds the length: the old window's last counted request arrived
    before the window ended, the new window's opener after it; a 429 inside a
    window also says it had not ended. The bounds are widened by the slack, so that
    they hold however the latency varies; evidence against them counts only when a
    second witness gives it too (another window, or another 429). `Remaining` must
    rise by more than replies can overtake each other, for a request sent after the
    opener's reply came, to count as a new window, and a
    reply that falls by as much (or a 429), sent before the opener can have arrived
    (its send time, its slack and the fastest round trip), overtook the opener and
    speaks of the old window.
    The estimate is the whole number of seconds between the bounds when there is only
    one and the upper bound is within 10% of it (windows are whole seconds in the
    throttles we know, Laravel's included), else the upper bound (with no upper bound
    yet, the last estimate raised to the lower bound). Only bounds are learnt, never the
    gaps between resets themselves: after a spent window the pacer chose when to
    knock, and a gap fed into the estimate it was timed by creeps up window after
    window (to 1.05 s for a one-second window on the benchmark). A late reply can
    still say which request opened a window.

    `end()` is the opener's send time, plus its slack (the latest it can have
    arrived), plus the length and 1%: a request sent then arrives after the window
    ended.
    """

    def __init__(self) -> None:
        self.length: float | None = None
        self.opened: float | None = None  # send time of the request that opened the window
        self.opened_seen_at = -math.inf  # when its reply came
        self._opened_slack = 0.0
        self._level: int | None = None  # `Remaining` of the last reply of this window
        self._last_counted = -math.inf  # send time of this window's last counted request
        self._lower = 0.0  # the length is more than this ...
        self._upper = math.inf  # ... and at most this
        self._disagreed: float | None = None  # the witness that went against them
        self._round_trips: deque[float] = deque(maxlen=64)
        self._fastest = 0.0  # the fastest of them
        self._old: tuple[float, int] | None = None  # the window before: opener, last level

    def end(self) -> float | None:
        """When the current window must have ended (a little after), if it is known."""
        if self.length is None or self.opened is None:
            return None
        return self.opened + self._opened_slack + self.length + max(0.01, 0.01 * self.length)

    def observe(
        self, now: float, reply: Reply, limit: int, remaining: int, *, overtaking: int
    ) -> Placed:
        """Learn from one reply with budget headers, and say which window it speaks of.

        `overtaking`: how many replies may have overtaken this one (the requests sent
        while it was out, and the most ever in flight at once); within one window
        `Remaining` moves against the order of the replies by no more than that, so a
        larger rise is a new window, and a larger fall, from a request sent before the
        opener can have arrived, an old one."""
        slack = self._slack(now - reply.sent_at)
        sent = reply.sent_at
        opened = self.opened
        jump = max(2, min(limit // 2, overtaking + 1))
        placed = Placed.CURRENT
        if opened is None or sent >= opened:
            level = 0 if self._level is None else self._level
            if (
                opened is not None
                and self._old is not None  # there is an old window to speak of
                and level - remaining >= jump
                and sent <= opened + self._opened_slack + self._fastest
            ):
                # Sent before the opener can have arrived, and counted (or refused) in the
                # old window: it overtook the opener on its way to the server.
                placed = Placed.OLDER
            elif reply.throttled:
                if opened is not None:
                    # Refused inside the current window: it lasts longer than that.
                    # Each refusal is a witness of its own.
                    self._bound(lower=sent - opened - self._opened_slack, source=sent)
            elif opened is None or (remaining - level >= jump and sent >= self.opened_seen_at):
                # (A request sent before the opener's reply came can be a new window's
                # only if the window is shorter than a round trip: it is read as reordering.)
                self._on_reset(now, sent, slack)
                self._level = remaining
                placed = Placed.NEW
            else:
                self._last_counted = max(self._last_counted, sent)
                self._level = remaining
        elif not reply.throttled and self._old is not None and remaining - self._old[1] >= jump:
            # A late reply: this request, sent before the one taken as the window's
            # opener, was counted in the new window first.
            self.opened, self._opened_slack = sent, slack
            self._bound(upper=sent + slack - self._old[0], source=self._old[0])
        else:
            placed = Placed.OLDER
        if (
            self.length is not None
            and self.opened is not None
            and sent - self.opened > 2.5 * self.length
            and remaining > limit // 4
        ):
            # Not a fixed window (e.g. a token bucket refilling continuously).
            self.length = self.opened = self._old = None
            self._lower, self._upper = 0.0, math.inf
            return Placed.NOT_A_WINDOW
        return placed

    def _on_reset(self, now: float, sent_at: float, slack: float) -> None:
        """A new window opened (or a bucket refilled while idle)."""
        self._old = None
        if self.opened is not None:
            self._old = (self.opened, self._level or 0)
            self._bound(
                lower=self._last_counted - self.opened - self._opened_slack,
                upper=sent_at + slack - self.opened,
                source=self.opened,
            )
        self.opened, self._opened_slack = sent_at, slack
        self.opened_seen_at = now
        self._last_counted = sent_at

    def _bound(self, *, source: float, lower: float = 0.0, upper: float = math.inf) -> None:
        """Narrow the bounds of the length with what one witness (`source`: the opener
        of the window a reset speaks of, or the send time of a 429) showed, and choose
        the estimate between them."""
        lower, upper = max(self._lower, lower), min(self._upper, upper)
        if lower >= upper:
            # The evidence disagrees: a reply misread, or a throttle that changed. One
            # witness is not enough; when another says so too, the newest evidence is
            # trusted.
            if self._disagreed is None or self._disagreed == source:
                self._disagreed = source
                return
            lower, upper = (lower, math.inf) if upper == self._upper else (0.0, upper)
        self._disagreed = None
        self._lower, self._upper = lower, upper
        if upper == math.inf:
            if self.length is not None:
                self.length = max(self.length, lower)
            return
        whole = math.floor(lower) + 1.0  # the one whole number of seconds between them?
        self.length = whole if whole <= upper < min(whole + 1.0, 1.1 * whole) else upper

    def _slack(self, round_trip: float) -> float:
        """How much longer this round trip took than the fastest of the recent ones."""
        self._round_trips.append(round_trip)
        self._fastest = min(self._round_trips)
        return round_trip - self._fastest


class RefillEstimate:
    """Estimates a continuously refilling throttle's tokens per second from `Remaining`."""

    def __init__(self, period: float, min_rate: float) -> None:
        self.period = period  # the shortest time one estimate spans
        self.min_rate = min_rate
        self.rate: float | None = None
        self._anchor: tuple[float, int, int] | None = None  # (time, remaining, accepted)

    def restart(self) -> None:
        """Measure from the next reply on (what came before may be stale)."""
        self._anchor = None

    def on_throttled(self) -> None:
        if self.rate is not None:
            self.rate *= 0.9

    def observe(self, now: float, limit: int, remaining: int, accepted: int) -> None:
        """Learn from one reply: `accepted` counts every request the server took so far.

        What the server took plus how much `Remaining` rose since the anchor, over
        the time since, is the refill; a full bucket says nothing about it."""
        anchor = self._anchor
        if anchor is None or remaining >= limit or anchor[1] >= limit:
            self._anchor = (now, remaining, accepted)
        elif now - anchor[0] >= self.period:
            gained = remaining - anchor[1] + (accepted - anchor[2])
            estimate = max(gained / (now - anchor[0]), self.min_rate)
            self.rate = estimate if self.rate is None else 0.5 * self.rate + 0.5 * estimate
            self._anchor = (now, remaining, accepted)


class Budget:
    """What the server will still take, and how long to hold off once that is spent.

    What it will take is its last `Remaining` less the requests in flight."""

    def __init__(self) -> None:
        self.limit: int | None = None
        self.remaining: int | None = None
        self.last_answer = -math.inf
        self.probe_interval = 0.05

    def observe(self, limit: int, remaining: int, throttled: bool, *, same_window: bool) -> None:
        """Learn from one reply; within one fixed window (`same_window`) what is left only
        goes down: a reply overtaken by a later one is not allowed to raise it again."""
        self.limit = limit
        if same_window and self.remaining is not None:
            remaining = min(remaining, self.remaining)
        self.remaining = remaining
        if throttled:
            self.probe_interval = min(self.probe_interval * 2, 1.0)

    def wait(self, now: float, in_flight: int, window: WindowEstimate) -> float:
        """0 when the budget allows one more request now; else seconds to hold off."""
        if self.remaining is None or self.remaining - in_flight > 0:
            return 0.0
        end = window.end()
        if end is not None:
            # A fixed window whose budget is spent: wait for its end (its first
            # request's send time plus its length, and a little), then a new one opens.
            if now < end:
                return end - now
            assert self.limit is not None
            self.remaining = self.limit
            return 0.0
        # The server's budget is spent: wait for replies, or probe with one request.
        if in_flight > 0:
            return self.probe_interval
        probe_at = self.last_answer + self.probe_interval
        if window.opened is not None:
            # Do not knock before the current window must have ended; before its
            # length is known, assume at least a second (no throttle uses less).
            probe_at = max(probe_at, window.opened_seen_at + 1.0)
        return probe_at - now if now < probe_at else 0.0


class SendMeter:
    """Measures the rate at which requests leave (half-second buckets, smoothed)."""

    def __init__(self) -> None:
        self.rate = 0.0
        self._bucket_start = -math.inf
        self._bucket_count = 0

    def count(self, now: float) -> None:
        bucket = math.floor(now * 2) / 2
        if bucket > self._bucket_start:
            if self._bucket_start > -math.inf:
                rate = self._bucket_count / (bucket - self._bucket_start)
                self.rate = rate * 0.8 + self.rate * 0.2
            self._bucket_start = bucket
            self._bucket_count = 0
        self._bucket_count += 1


class CubicRate:
    """The send rate without budget headers: cut on a 429, regrown along a cubic curve."""

    def __init__(self, beta: float, scale: float, min_rate: float) -> None:
        self.beta = beta
        self.scale = scale
        self.min_rate = min_rate
        self.last_throttle = -math.inf
        self._last_max_rate = 0.0
        self._k = 0.0

    @property
    def throttled_before(self) -> bool:
        return self.last_throttle > -math.inf

    def decrease(
        self, now: float, sent_at: float, rate: float | None, measured: float
    ) -> float | None:
        """The rate after a 429 for a request sent at `sent_at`; None: unchanged (the same
        congestion episode as the last decrease)."""
        if sent_at < self.last_throttle:
            return None
        current = measured if rate is None else min(measured, rate)
        if current <= 0:
            current = rate or self.min_rate * 2
        self._last_max_rate = current
        self._k = (current * (1 - self.beta) / self.scale) ** (1 / 3)
        self.last_throttle = now
        return max(self.min_rate, current * self.beta)

    def grow(self, now: float, measured: float) -> float:
        """The rate some time after the last decrease."""
        target = self.scale * (now - self.last_throttle - self._k) ** 3 + self._last_max_rate
        if measured > 0:
            target = min(target, 2 * measured)
        return max(self.min_rate, target)


class RateControl:
    """Chooses the send rate from what was learnt of the throttle (None: no limit)."""

    def __init__(
        self, *, beta: float, scale: float, min_rate: float, gain: float, window_share: float
    ) -> None:
        self.min_rate = min_rate
        self.gain = gain
        self.window_share = window_share
        self.cubic = CubicRate(beta, scale, min_rate)
        self.rate: float | None = None

    def spread_over_window(self, limit: int, window: float) -> None:
        """A fixed window: `window_share` of `limit` requests, evenly over each window."""
        self.rate = max(self.min_rate, self.window_share * limit / window)

    def follow_refill(self, refill: float, limit: int, level: int) -> None:
        """A token bucket at `level`: spend a full one faster, match the refill once low."""
        setpoint = max(1.0, 0.1 * limit)
        self.rate = max(self.min_rate, refill + self.gain * (level - setpoint))

    def on_throttled(self, now: float, sent_at: float, measured: float) -> None:
        """A 429 without budget headers: CUBIC's decrease."""
        rate = self.cubic.decrease(now, sent_at, self.rate, measured)
        if rate is not None:
            self.rate = rate

    def on_accepted(self, now: float, measured: float) -> None:
        """An accepted request without budget headers: CUBIC's growth, once throttled."""
        if self.cubic.throttled_before:
            self.rate = self.cubic.grow(now, measured)


class Spacing:
    """Spaces sends evenly at a given rate."""

    def __init__(self) -> None:
        self._next_slot = -math.inf

    def take(self, now: float, rate: float | None) -> float:
        """0 when a request may go now at `rate` (None: any rate); else seconds to wait."""
        if rate is None:
            return 0.0
        interval = 1.0 / rate
        if now < self._next_slot - interval:
            return self._next_slot - interval - now
        self._next_slot = max(self._next_slot, now - interval) + interval
        return 0.0


class Pacer:
    """Decides, for the whole run, when the next request may be sent.

    `max_pause` is the longest `Retry-After` waited out: the retry policy's
    `retry_after_max`, which also decides whether the row is sent again."""

    def __init__(
        self,
        *,
        max_pause: float,
        clock: Clock = time.monotonic,
        beta: float = 0.7,
        scale: float = 0.4,
        min_rate: float = 0.5,
        default_pause: float = 1.0,
        estimate_window: float = 1.0,
        gain: float = 4.0,
        window_share: float = 0.99,
    ) -> None:
        self._clock = clock
        self.pause = Pause(max_pause, default_pause)
        self.budget = Budget()
        self.window = WindowEstimate()
        self.refill = RefillEstimate(estimate_window, min_rate)
        self.meter = SendMeter()
        self.control = RateControl(
            beta=beta, scale=scale, min_rate=min_rate, gain=gain, window_share=window_share
        )
        self.spacing = Spacing()
        self.sent = 0
        self.answered = 0
        self.accepted = 0
        self.throttles = 0
        self.most_in_flight = 0  # with those sent since, how many replies may overtake one
        self._send_times: deque[float] = deque(maxlen=1024)  # the last sends, in order

    def now(self) -> float:
        return self._clock()

    @property
    def in_flight(self) -> int:
        return self.sent - self.answered

    @property
    def rate(self) -> float | None:
        """Requests per second the pacer keeps to (None: as fast as the workers go)."""
        return self.control.rate

    def reserve(self) -> float:
        """0 when a request may go now (and count it as sent); else seconds to wait.

        A positive answer is a hint: wait that long or until the next reply,
        then ask again.
        """
        now = self._clock()
        delay = self.pause.left(now) or self.budget.wait(now, self.in_flight, self.window)
        if not delay:
            delay = self.spacing.take(now, self.control.rate)
        if delay:
            return delay
        self.sent += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self._send_times.append(now)
        self.meter.count(now)
        return 0.0

    def on_reply(self, reply: Reply) -> None:
        now = self._clock()
        self.answered += 1
        self.budget.last_answer = now
        if reply.throttled:
            self.throttles += 1
            self.pause.on_throttled(now, reply.retry_after)
        else:
            self.accepted += 1
        if reply.remaining is not None and reply.limit is not None:
            self._learn_budget(now, reply, reply.limit)
        elif reply.throttled:
            self.control.on_throttled(now, reply.sent_at, self.meter.rate)
        elif self.budget.remaining is None:
            self.control.on_accepted(now, self.meter.rate)

    def on_failure(self) -> None:
        """A request ended without a reply (network error): it is no longer in flight."""
        self.answered += 1
        self.budget.last_answer = self._clock()

    def _learn_budget(self, now: float, reply: Reply, limit: int) -> None:
        assert reply.remaining is not None
        remaining = 0 if reply.throttled else reply.remaining
        sent_since = len(self._send_times) - bisect.bisect_right(self._send_times, reply.sent_at)
        placed = self.window.observe(
            now, reply, limit, remaining, overtaking=sent_since + self.most_in_flight
        )
        if placed is Placed.NOT_A_WINDOW:
            self.refill.restart()
        if self.window.length is None or placed in (Placed.NEW, Placed.NOT_A_WINDOW):
            self.budget.observe(limit, remaining, reply.throttled, same_window=False)
        elif placed is Placed.CURRENT:  # what an older window had left says nothing now
            self.budget.observe(limit, remaining, reply.throttled, same_window=True)
        if reply.throttled:
            self.refill.on_throttled()
        if self.window.length is not None:
            self.control.spread_over_window(limit, self.window.length)
            return
        self.refill.observe(now, limit, remaining, self.accepted)
        if self.refill.rate is not None:
            self.control.follow_refill(self.refill.rate, limit, remaining - self.in_flight)
            if not reply.throttled:
                self.budget.probe_interval = min(max(1.0 / self.refill.rate, 0.005), 1.0)


async def wait_set(event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set or `seconds` pass; True if it was set.

    Not `asyncio.wait_for(event.wait(), timeout)`: on Python 3.11 that swallows a
    cancellation arriving in the same loop turn as the event (CPython gh-86296, fixed
    in 3.12), and a task that outlives its cancellation keeps a failed run from ending.
    `asyncio.timeout` re-raises it."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()


class AsyncPacer:
    """The pacer for asyncio workers: `await acquire()` before each request."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer
        self._changed = asyncio.Event()

    def now(self) -> float:
        """The pacer's clock: pass the time a request leaves back in its `Reply`."""
        return self.pacer.now()

    async def acquire(self) -> float:
        """Wait until a request may leave; returns the send time to pass back in `Reply`."""
        while True:
            delay = self.pacer.reserve()
            if delay <= 0:
                return self.pacer.now()
            self._changed.clear()
            await wait_set(self._changed, delay)

    def on_reply(self, reply: Reply) -> None:
        self.pacer.on_reply(reply)
        self._changed.set()

    def on_failure(self) -> None:
        self.pacer.on_failure()
        self._changed.set()

    def wake(self) -> None:
        """Let waiting workers look again (e.g. the run is stopping)."""
        self._changed.set()
