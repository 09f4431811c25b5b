"""Which fault, if any, hits the next request: a seeded, reproducible draw."""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping

from spp_activities.sandbox.options import FAULT_KINDS

#: Faults that happen after the activity was stored: the outcome is unknown to the client.
AFTER_STORE_FAULTS = frozenset({"500", "reset-after"})


class FaultPlan:
    """Draw one fault (or none) per request from fixed rates.

    Given the same seed and the same order of requests, the sequence of faults is the same.
    """

    def __init__(self, rates: Mapping[str, float], seed: int | None = None) -> None:
        self._rates = [(kind, rates[kind]) for kind in FAULT_KINDS if rates.get(kind, 0.0) > 0]
        self._seed = seed
        self._random = random.Random(seed)  # noqa: S311 - fault injection, not cryptography
        self._lock = threading.Lock()

    @property
    def rates(self) -> dict[str, float]:
        return dict(self._rates)

    def draw(self) -> str | None:
        """The fault for the next request, or None for a normal reply."""
        if not self._rates:
            return None
        with self._lock:
            point = self._random.random()
        cumulative = 0.0
        for kind, rate in self._rates:
            cumulative += rate
            if point < cumulative:
                return kind
        return None

    def restart(self) -> None:
        """Start the sequence again from the seed (used by reset)."""
        with self._lock:
            self._random = random.Random(self._seed)  # noqa: S311
