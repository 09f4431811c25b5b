"""Pacing the import: one shared pacer decides when the next request may leave.

Three mechanisms, all shared by every worker of a run:

* **Pause.** A 429 stops the whole run until its `Retry-After` has passed
  (capped), not only the request that got it.
* **Budget (when the server sends `X-RateLimit-Limit` / `X-RateLimit-Remaining`).**
  The last `Remaining` minus the requests still in flight is what the server
  will still take; at zero nothing is sent until the throttle's window must
  have ended (or, for other throttles, except one probe now and then).
  A fixed window like Laravel's (a window opens at the first request and
  admits `Limit` requests) shows as `Remaining` jumping back up; the median
  time between such resets is the window's length, and requests are spread
  evenly at 96% of `Limit` per window. A throttle that refills continuously
  (a token bucket) shows no resets; its refill rate is estimated from how
  `Remaining` moves while requests are accepted, and a proportional
  controller on the bucket's level spends a full bucket faster and matches
  the refill once it is low. Either way a run keeps to the throttle's rate
  with almost no 429s.
* **Adaptive rate (without those headers).** A token bucket whose rate
  follows CUBIC, like the AWS SDKs' "adaptive" retry mode: on a 429 the rate
  drops to `beta` times the measured send rate, then grows back along a cubic
  curve that flattens near the rate of the last throttle and probes beyond it.
  One congestion episode lowers the rate once: 429s for requests sent before
  the last decrease do not lower it again.

The class is synchronous and takes a clock, so that it can be tested with a
fake one; `AsyncPacer` adds the waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Reply:
    """What the pacer needs to know about one answered (or failed) request."""

    sent_at: float
    throttled: bool = False  # 429
    retry_after: float | None = None
    limit: int | None = None  # X-RateLimit-Limit
    remaining: int | None = None  # X-RateLimit-Remaining
    unavailable: bool = False  # 503: the API did not take the request


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


class Pacer:
    """Decides, for the whole run, when the next request may be sent."""

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        beta: float = 0.7,
        scale: float = 0.4,
        min_rate: float = 0.5,
        max_pause: float = 60.0,
        default_pause: float = 1.0,
        estimate_window: float = 1.0,
        gain: float = 4.0,
        window_share: float = 0.96,
        max_unavailable_pause: float = 10.0,
    ) -> None:
        self._clock = clock
        self.beta = beta
        self.scale = scale
        self.min_rate = min_rate
        self.max_pause = max_pause
        self.default_pause = default_pause
        self.estimate_window = estimate_window
        self.gain = gain
        # shared pause (Retry-After)
        self.paused_until = -math.inf
        # spacing of sends (None: as fast as the workers go)
        self.rate: float | None = None
        self._next_slot = -math.inf
        # in-flight accounting
        self.sent = 0
        self.answered = 0
        # header mode: the server's budget
        self.limit: int | None = None
        self.remaining: int | None = None
        self.refill: float | None = None  # estimated tokens per second
        self._accepted = 0
        self._anchor: tuple[float, int, int] | None = None  # (time, remaining, accepted)
        self._last_answer = -math.inf
        self._probe_interval = 0.05
        # fixed windows (Laravel-style): their length, estimated from `Remaining` resets
        self.window: float | None = None
        self.window_share = window_share
        self._last_reset: float | None = None
        self._window_level: int | None = None
        self._throttled_since_reset = False  # a pause makes the next gap meaningless
        self._gaps: deque[float] = deque(maxlen=8)  # the last few times between resets
        self._reset_seen_at = -math.inf
        # CUBIC mode
        self._last_max_rate = 0.0
        self._last_throttle = -math.inf
        self._k = 0.0
        self._measured = 0.0
        self._bucket_start = -math.inf
        self._bucket_count = 0
        self.throttles = 0
        # the API unavailable (503, could not connect): consecutive episodes
        self.max_unavailable_pause = max_unavailable_pause
        self.unavailable = 0
        self._unavailable_since = -math.inf

    # ------------------------------------------------------------ sending

    def now(self) -> float:
        return self._clock()

    @property
    def in_flight(self) -> int:
        return self.sent - self.answered

    def reserve(self) -> float:
        """0 when a request may go now (and count it as sent); else seconds to wait.

        A positive answer is a hint: wait that long or until the next reply,
        then ask again.
        """
        now = self._clock()
        if now < self.paused_until:
            return self.paused_until - now
        if self.remaining is not None and self.remaining - self.in_flight <= 0:
            # The server's budget is spent: wait for replies, or probe with one request.
            if self.in_flight > 0:
                return self._probe_interval
            probe_at = self._last_answer + self._probe_interval
            if self._last_reset is not None:
                # Do not knock before the current window must have ended; before its
                # length is known, assume at least a second (no throttle uses less).
                window = 1.0 if self.window is None else self.window * 1.05
                probe_at = max(probe_at, self._reset_seen_at + window)
            if now < probe_at:
                return probe_at - now
        if self.rate is not None:
            interval = 1.0 / self.rate
            if now < self._next_slot - interval:
                return self._next_slot - interval - now
            self._next_slot = max(self._next_slot, now - interval) + interval
        self._count_send(now)
        return 0.0

    def _count_send(self, now: float) -> None:
        self.sent += 1
        bucket = math.floor(now * 2) / 2
        if bucket > self._bucket_start:
            if self._bucket_start > -math.inf:
                rate = self._bucket_count / (bucket - self._bucket_start)
                self._measured = rate * 0.8 + self._measured * 0.2
            self._bucket_start = bucket
            self._bucket_count = 0
        self._bucket_count += 1

    # ------------------------------------------------------------ replies

    def on_reply(self, reply: Reply) -> None:
        now = self._clock()
        self.answered += 1
        self._last_answer = now
        if reply.unavailable:
            self._on_unavailable(now, reply.sent_at)
        elif not reply.throttled:
            self.unavailable = 0
        if reply.throttled:
            self.throttles += 1
            pause = self.default_pause if reply.retry_after is None else reply.retry_after
            pause = min(max(pause, 0.0), self.max_pause)
            self.paused_until = max(self.paused_until, now + pause)
        else:
            self._accepted += 1
        if reply.remaining is not None and reply.limit is not None:
            self._on_budget(now, reply)
        elif reply.throttled:
            self._cubic_decrease(now, reply.sent_at)
        elif self._last_throttle > -math.inf and self.remaining is None:
            self._cubic_grow(now)

    def on_failure(self, *, could_not_connect: bool = False, sent_at: float = -math.inf) -> None:
        """A request ended without a reply (network error): it is no longer in flight."""
        now = self._clock()
        self.answered += 1
        self._last_answer = now
        if could_not_connect:
            self._on_unavailable(now, sent_at)

    def _on_unavailable(self, now: float, sent_at: float) -> None:
        """Could not connect, or 503: one is a row's bad luck (the row backs off); when the
        next request fails too, with no reply in between, the whole run pauses, twice as
        long each time (capped). Failures of requests sent before the last one came back
        belong to the same episode and count once."""
        if sent_at < self._unavailable_since:
            return
        self.unavailable += 1
        self._unavailable_since = now
        if self.unavailable >= 2:
            pause = min(self.max_unavailable_pause, 0.1 * 2 ** (self.unavailable - 2))
            self.paused_until = max(self.paused_until, now + pause)

    # header mode

    def _on_budget(self, now: float, reply: Reply) -> None:
        assert reply.remaining is not None
        assert reply.limit is not None
        limit = reply.limit
        remaining = 0 if reply.throttled else reply.remaining
        self.limit = limit
        self.remaining = remaining
        if not reply.throttled and (self._last_reset is None or reply.sent_at >= self._last_reset):
            # Replies to requests sent before the last reset may come from the old
            # window: they neither start a window nor serve as the baseline.
            baseline = self._window_level
            if remaining - (0 if baseline is None else baseline) >= max(2, limit // 2):
                self._on_window_reset(now, reply.sent_at)
            self._window_level = remaining
        if reply.throttled:
            self._throttled_since_reset = True
            self._probe_interval = min(self._probe_interval * 2, 1.0)
            if self.refill is not None:
                self.refill *= 0.9
        if (
            self.window is not None
            and self._last_reset is not None
            and reply.sent_at - self._last_reset > 2.5 * self.window
            and remaining > limit // 4
        ):
            # No reset for several windows and budget to spare: not a fixed window
            # (e.g. a token bucket refilling continuously). Estimate its refill instead.
            self.window = None
            self._gaps.clear()
            self._last_reset = None
            self._anchor = None
        if self.window is not None:
            # A fixed window: spread `limit` requests evenly over each window.
            self.rate = max(self.min_rate, self.window_share * limit / self.window)
            return
        anchor = self._anchor
        if anchor is None or remaining >= limit or anchor[1] >= limit:
            self._anchor = (now, remaining, self._accepted)
        elif now - anchor[0] >= self.estimate_window:
            gained = remaining - anchor[1] + (self._accepted - anchor[2])
            estimate = max(gained / (now - anchor[0]), self.min_rate)
            self.refill = estimate if self.refill is None else 0.5 * self.refill + 0.5 * estimate
            self._anchor = (now, remaining, self._accepted)
        if self.refill is not None:
            setpoint = max(1.0, 0.1 * limit)
            level = remaining - self.in_flight
            self.rate = max(self.min_rate, self.refill + self.gain * (level - setpoint))
            if not reply.throttled:
                self._probe_interval = min(max(1.0 / self.refill, 0.005), 1.0)

    def _on_window_reset(self, now: float, sent_at: float) -> None:
        """`Remaining` jumped back up: a new window opened (or a bucket refilled while idle).

        The median of the last few times between two such jumps estimates the
        window's length (a window opens at the first request after the last one
        ended, so each time is the length plus up to one request interval; the
        median stays clear of the jitter that makes single gaps short).
        """
        if self._last_reset is not None and not self._throttled_since_reset:
            gap = sent_at - self._last_reset
            if gap > 0:
                self._gaps.append(gap)
                self.window = statistics.median(self._gaps)
        self._last_reset = sent_at
        self._reset_seen_at = now
        self._throttled_since_reset = False

    # CUBIC mode (no budget headers)

    def _cubic_decrease(self, now: float, sent_at: float) -> None:
        if sent_at < self._last_throttle:
            return  # same congestion episode as the last decrease
        current = self._measured if self.rate is None else min(self._measured, self.rate)
        if current <= 0:
            current = self.rate or self.min_rate * 2
        self._last_max_rate = current
        self._k = (current * (1 - self.beta) / self.scale) ** (1 / 3)
        self._last_throttle = now
        self.rate = max(self.min_rate, current * self.beta)

    def _cubic_grow(self, now: float) -> None:
        target = self.scale * (now - self._last_throttle - self._k) ** 3 + self._last_max_rate
        if self._measured > 0:
            target = min(target, 2 * self._measured)
        self.rate = max(self.min_rate, target)


class AsyncPacer:
    """The pacer for asyncio workers: `await acquire()` before each request."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer
        self._changed = asyncio.Event()

    async def acquire(self) -> float:
        """Wait until a request may leave; returns the send time to pass back in `Reply`."""
        while True:
            delay = self.pacer.reserve()
            if delay <= 0:
                return self.pacer.now()
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=delay)

    def on_reply(self, reply: Reply) -> None:
        self.pacer.on_reply(reply)
        self._changed.set()

    def on_failure(self, *, could_not_connect: bool = False, sent_at: float = -math.inf) -> None:
        self.pacer.on_failure(could_not_connect=could_not_connect, sent_at=sent_at)
        self._changed.set()

    def wake(self) -> None:
        """Let waiting workers look again (e.g. the run is stopping)."""
        self._changed.set()
