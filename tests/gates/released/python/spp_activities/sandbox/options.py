"""Parsing and checking the sandbox's options: which client IDs exist, which faults to inject.

These parsers back the `spp-activities sandbox` flags (`--clients`, `--faults`) and the
`Sandbox(...)` keyword arguments, so both report bad input with the same clear messages.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator, Mapping

#: Every fault the sandbox can inject, in the order they are drawn.
FAULT_KINDS: tuple[str, ...] = ("429", "503", "500", "reset", "reset-after", "slow")
_FAULT_ALIASES = {"reset-before": "reset"}
_MAX_CLIENT_ID = 2**63 - 1  # SQLite's INTEGER range


class SandboxOptionError(ValueError):
    """An option for the sandbox is malformed; the message names the option and the problem."""


class ClientIds:
    """A set of client IDs kept as sorted, merged ranges, so "1-10000000" costs nothing."""

    __slots__ = ("_ranges", "_starts")

    def __init__(self, ranges: Iterable[tuple[int, int]]) -> None:
        merged: list[tuple[int, int]] = []
        for first, last in sorted(ranges):
            if merged and first <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], last))
            else:
                merged.append((first, last))
        self._ranges = tuple(merged)
        self._starts = [first for first, _ in merged]

    @classmethod
    def of(cls, client_ids: Iterable[int]) -> ClientIds:
        """Build from any iterable of IDs (a `range` is taken without expanding it)."""
        if isinstance(client_ids, ClientIds):
            return client_ids
        if isinstance(client_ids, range) and client_ids.step == 1:
            if len(client_ids) == 0:
                return cls(())
            _check_client_id(client_ids.start, "clients")
            _check_client_id(client_ids.stop - 1, "clients")
            return cls([(client_ids.start, client_ids.stop - 1)])
        ranges = []
        for client_id in client_ids:
            if isinstance(client_id, bool) or not isinstance(client_id, int):
                raise SandboxOptionError(f"clients: {client_id!r} is not an integer client ID")
            _check_client_id(client_id, "clients")
            ranges.append((client_id, client_id))
        return cls(ranges)

    def __contains__(self, client_id: object) -> bool:
        if not isinstance(client_id, int):
            return False
        index = bisect.bisect_right(self._starts, client_id) - 1
        return index >= 0 and client_id <= self._ranges[index][1]

    def __iter__(self) -> Iterator[int]:
        for first, last in self._ranges:
            yield from range(first, last + 1)

    def __len__(self) -> int:
        return sum(last - first + 1 for first, last in self._ranges)

    def __str__(self) -> str:
        """The same notation `parse_clients` reads, e.g. "1-100,200"."""
        return ",".join(
            str(first) if first == last else f"{first}-{last}" for first, last in self._ranges
        )

    def __repr__(self) -> str:
        return f"ClientIds({str(self)!r})"


def _check_client_id(client_id: int, option: str) -> None:
    if not 1 <= client_id <= _MAX_CLIENT_ID:
        raise SandboxOptionError(
            f"{option}: client ID {client_id} is out of range; IDs are integers from 1 to "
            f"{_MAX_CLIENT_ID}"
        )


def parse_clients(text: str) -> ClientIds:
    """Parse a client-ID list such as "1-100" or "1,2,5-9" (the `--clients` flag)."""
    ranges = []
    for raw_part in text.split(","):
        part = raw_part.strip()
        if not part:
            raise SandboxOptionError(
                f"--clients {text!r}: empty entry; write IDs and ranges like '1-100' or '1,2,5-9'"
            )
        first_text, dash, last_text = part.partition("-")
        try:
            first = int(first_text.strip())
            last = int(last_text.strip()) if dash else first
        except ValueError:
            raise SandboxOptionError(
                f"--clients {text!r}: {part!r} is not a client ID or a range like '5-9'"
            ) from None
        _check_client_id(first, "--clients")
        _check_client_id(last, "--clients")
        if last < first:
            raise SandboxOptionError(f"--clients {text!r}: range {part!r} ends before it starts")
        ranges.append((first, last))
    return ClientIds(ranges)


def parse_faults(text: str) -> dict[str, float]:
    """Parse fault rates such as "429=0.05,503=0.05,reset=0.02" (the `--faults` flag)."""
    rates: dict[str, float] = {}
    if not text.strip():
        return rates
    for raw_part in text.split(","):
        part = raw_part.strip()
        kind, equals, rate_text = part.partition("=")
        kind = kind.strip()
        if not equals:
            raise SandboxOptionError(
                f"--faults: {part!r} has no rate; write KIND=RATE, e.g. '429=0.05'"
            )
        try:
            rate = float(rate_text)
        except ValueError:
            raise SandboxOptionError(
                f"--faults: the rate for {kind!r} is {rate_text.strip()!r}, not a number "
                "between 0 and 1"
            ) from None
        canonical = _FAULT_ALIASES.get(kind, kind)
        if canonical in rates:
            raise SandboxOptionError(f"--faults: {kind!r} is given more than once")
        rates[canonical] = rate
    return check_faults(rates)


def check_faults(faults: Mapping[str, float]) -> dict[str, float]:
    """Check fault kinds and rates; each rate is a probability and together they are <= 1."""
    checked: dict[str, float] = {}
    for kind, rate in faults.items():
        canonical = _FAULT_ALIASES.get(kind, kind)
        if canonical not in FAULT_KINDS:
            raise SandboxOptionError(
                f"faults: unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}"
            )
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise SandboxOptionError(f"faults: the rate for {kind!r} must be a number")
        if not math.isfinite(rate) or not 0.0 <= rate <= 1.0:
            raise SandboxOptionError(
                f"faults: the rate for {kind!r} is {rate}; rates are probabilities from 0 to 1"
            )
        checked[canonical] = float(rate)
    total = sum(checked.values())
    if total > 1.0 + 1e-9:
        raise SandboxOptionError(
            f"faults: the rates add up to {total:g}; at most one fault hits a request, so their "
            "sum must be at most 1"
        )
    return checked


def faults_from(faults: Mapping[str, float] | str | None) -> dict[str, float]:
    """Accept the `faults` argument in either form: a mapping or the flag's text."""
    if faults is None:
        return {}
    if isinstance(faults, str):
        return parse_faults(faults)
    return check_faults(faults)


def check_rate_limit(rate_limit: float | None) -> float | None:
    """A rate limit is a positive number of requests per second, or None for no limit."""
    if rate_limit is None:
        return None
    if isinstance(rate_limit, bool) or not isinstance(rate_limit, int | float):
        raise SandboxOptionError("rate limit: must be a number of requests per second")
    if not math.isfinite(rate_limit) or rate_limit <= 0:
        raise SandboxOptionError(
            f"rate limit: {rate_limit} requests per second; it must be greater than 0"
        )
    return float(rate_limit)


def check_slow_seconds(slow_seconds: float) -> float:
    """The delay of the `slow` fault: a finite number of seconds, at least 0."""
    if isinstance(slow_seconds, bool) or not isinstance(slow_seconds, int | float):
        raise SandboxOptionError("slow seconds: must be a number of seconds")
    if not math.isfinite(slow_seconds) or slow_seconds < 0:
        raise SandboxOptionError(f"slow seconds: {slow_seconds}; it must be 0 or more")
    return float(slow_seconds)
