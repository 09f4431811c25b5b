"""A per-token throttle like Laravel's: a fixed window that opens at the first request."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ThrottleDecision:
    allowed: bool
    limit: int
    remaining: int
    #: Whole seconds until the window frees (at least 1); meaningful when not allowed.
    retry_after: int
    #: Unix time at which the window frees.
    reset_at: int


class RateLimiter:
    """At most `per_second` requests per second for each key (one key per token).

    Like Laravel's throttle middleware, a window opens at a key's first request and lasts one
    second; requests beyond the limit inside it are refused and not counted. A rate below 1
    becomes one request per 1/rate seconds; a fractional rate above 1 is rounded down.
    """

    def __init__(self, per_second: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if per_second >= 1:
            self.limit = math.floor(per_second)
            self.window_seconds = 1.0
        else:
            self.limit = 1
            self.window_seconds = 1.0 / per_second
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> ThrottleDecision:
        now = self._clock()
        with self._lock:
            opened, count = self._windows.get(key, (now, 0))
            if now - opened >= self.window_seconds:
                opened, count = now, 0
            allowed = count < self.limit
            if allowed:
                count += 1
            self._windows[key] = (opened, count)
        frees_in = opened + self.window_seconds - now
        return ThrottleDecision(
            allowed=allowed,
            limit=self.limit,
            remaining=self.limit - count,
            retry_after=max(1, math.ceil(frees_in)),
            reset_at=math.ceil(time.time() + frees_in),
        )

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()
