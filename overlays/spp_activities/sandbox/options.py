"""The sandbox's options (`SandboxOptions`), and parsing and checking them: which client IDs
exist, which faults to inject.

These parsers back the `spp-activities sandbox` flags (`--clients`, `--faults`) and the
`Sandbox(...)` keyword arguments, so both report bad input with the same clear messages.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from spp_activities.config import is_loopback
from spp_activities.errors import describe_value

#: Every fault the sandbox can inject, in the order they are drawn.
FAULT_KINDS: tuple[str, ...] = ("429", "503", "500", "reset", "reset-after", "slow")
_FAULT_ALIASES = {"reset-before": "reset"}
_MAX_CLIENT_ID = 2**63 - 1  # SQLite's INTEGER range


def _finite(value: float) -> bool:
    """math.isfinite, False for an int too large for a float (10**5000)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


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
                raise SandboxOptionError(
                    f"clients: {describe_value(client_id)} is not an integer client ID"
                )
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

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClientIds) and self._ranges == other._ranges

    def __hash__(self) -> int:
        return hash(self._ranges)

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
            f"{option}: client ID {describe_value(client_id)} is out of range; IDs are integers "
            "from 1 to "
            f"{_MAX_CLIENT_ID}"
        )


def parse_clients(text: str) -> ClientIds:
    """Parse a client-ID list such as "1-100" or "1,2,5-9" (the `--clients` flag)."""
    ranges = []
    # Messages name an entry by its place, never its text: a token pasted here is not echoed.
    for number, raw_part in enumerate(text.split(","), start=1):
        part = raw_part.strip()
        if not part:
            raise SandboxOptionError(
                f"--clients: entry {number} is empty; write IDs and ranges like '1-100' or "
                "'1,2,5-9'"
            )
        first_text, dash, last_text = part.partition("-")
        try:
            first = int(first_text.strip())
            last = int(last_text.strip()) if dash else first
        except ValueError:
            raise SandboxOptionError(
                f"--clients: entry {number} is not a client ID or a range like '5-9'"
            ) from None
        _check_client_id(first, "--clients")
        _check_client_id(last, "--clients")
        if last < first:
            raise SandboxOptionError(
                f"--clients: the range in entry {number} ends before it starts"
            )
        ranges.append((first, last))
    return ClientIds(ranges)


def parse_faults(text: str) -> dict[str, float]:
    """Parse fault rates such as "429=0.05,503=0.05,reset=0.02" (the `--faults` flag)."""
    rates: dict[str, float] = {}
    if not text.strip():
        return rates
    for number, raw_part in enumerate(text.split(","), start=1):
        part = raw_part.strip()
        kind, equals, rate_text = part.partition("=")
        kind = kind.strip()
        if not equals:
            raise SandboxOptionError(
                f"--faults: entry {number} has no rate; write KIND=RATE, e.g. '429=0.05'"
            )
        try:
            rate = float(rate_text)
        except ValueError:
            raise SandboxOptionError(
                f"--faults: the rate in entry {number} is not a number between 0 and 1"
            ) from None
        canonical = _FAULT_ALIASES.get(kind, kind)
        if canonical not in FAULT_KINDS:  # the text is not shown: it may be a pasted token
            raise SandboxOptionError(
                f"--faults: entry {number} names an unknown fault kind; expected one of "
                f"{', '.join(FAULT_KINDS)}"
            )
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
                f"faults: unknown fault kind {describe_value(kind)}; expected one of "
                f"{', '.join(FAULT_KINDS)}"
            )
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise SandboxOptionError(f"faults: the rate for {kind!r} must be a number")
        if not _finite(rate) or not 0.0 <= rate <= 1.0:
            raise SandboxOptionError(
                f"faults: the rate for {kind!r} is {describe_value(rate)}; rates are "
                "probabilities from 0 to 1"
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
    if not _finite(rate_limit) or rate_limit <= 0:
        raise SandboxOptionError(
            f"rate limit: {describe_value(rate_limit)} requests per second; it must be "
            "greater than 0"
        )
    return float(rate_limit)


def check_slow_seconds(slow_seconds: float) -> float:
    """The delay of the `slow` fault: a finite number of seconds, at least 0."""
    if isinstance(slow_seconds, bool) or not isinstance(slow_seconds, int | float):
        raise SandboxOptionError("slow seconds: must be a number of seconds")
    if not _finite(slow_seconds) or slow_seconds < 0:
        raise SandboxOptionError(
            f"slow seconds: {describe_value(slow_seconds)}; it must be 0 or more"
        )
    return float(slow_seconds)


DEFAULT_TOKEN = "sandbox-token"  # noqa: S105 - the documented sandbox token, not a secret
DEFAULT_SLOW_SECONDS = 3.0
DEFAULT_CLIENTS = range(1, 101)
#: Seconds a connection has to send a whole request, from when it opens or from the previous
#: reply: a client that trickles its headers cannot hold a connection for longer.
DEFAULT_READ_TIMEOUT = 10.0
#: Open connections at most; beyond it a new connection is closed at once. Below the usual
#: limit of 1024 open files, so slow clients cannot exhaust the process.
DEFAULT_MAX_CONNECTIONS = 512
#: More open connections than one process could ever hold (its open-file limit).
MAX_CONNECTIONS_LIMIT = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxOptions:
    """Everything a sandbox can be told, checked once: `Sandbox(...)`, `serve(...)` and the
    `spp-activities sandbox` flags all build one of these.

    Inputs are normalised: `db` may be a str, `tokens` any sequence of str (None: the default
    token), `clients` any iterable of IDs or a `range` (None: 1-100), `faults` a mapping or
    the `--faults` text. A host that is not loopback needs `allow_remote=True` and tokens of
    your own: the default token is printed in the README.
    """

    host: str = "127.0.0.1"
    port: int = 0
    db: Path | None = None
    tokens: tuple[str, ...] = (DEFAULT_TOKEN,)
    clients: ClientIds = field(default_factory=lambda: ClientIds.of(DEFAULT_CLIENTS))
    faults: Mapping[str, float] = field(default_factory=dict)
    seed: int | None = None
    slow_seconds: float = DEFAULT_SLOW_SECONDS
    rate_limit: float | None = None
    allow_remote: bool = False
    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    def __post_init__(self) -> None:
        fix = partial(object.__setattr__, self)
        fix("db", None if self.db is None else Path(self.db))
        fix("tokens", _check_tokens(self.tokens))
        fix("clients", ClientIds.of(DEFAULT_CLIENTS if self.clients is None else self.clients))
        fix("faults", faults_from(self.faults))
        fix("slow_seconds", check_slow_seconds(self.slow_seconds))
        fix("rate_limit", check_rate_limit(self.rate_limit))
        fix("read_timeout", _check_positive(self.read_timeout, "read timeout", "seconds"))
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise SandboxOptionError(
                f"port: {describe_value(self.port)} is not a TCP port (0-65535)"
            )
        if not 0 <= self.port <= 65535:
            raise SandboxOptionError(
                f"port: {describe_value(self.port)} is not a TCP port (0-65535)"
            )
        if (
            isinstance(self.max_connections, bool)
            or not isinstance(self.max_connections, int)
            or not 1 <= self.max_connections <= MAX_CONNECTIONS_LIMIT
        ):
            raise SandboxOptionError(
                f"max connections: {describe_value(self.max_connections)}; it must be a whole "
                f"number from 1 to {MAX_CONNECTIONS_LIMIT}"
            )
        self._check_reach()

    def _check_reach(self) -> None:
        if not isinstance(self.host, str) or not self.host:
            raise SandboxOptionError("host: pass an address to listen on, e.g. 127.0.0.1")
        if is_loopback(self.host):
            return
        if not self.allow_remote:
            raise SandboxOptionError(  # the host is not shown: it may be a pasted token
                "host: not a loopback address, and the sandbox's default token "
                "is public: to accept connections from other machines pass --allow-remote "
                "(allow_remote=True) and a token of your own (--token / tokens=)"
            )
        if DEFAULT_TOKEN in self.tokens:
            raise SandboxOptionError(
                "host: a non-loopback host with --allow-remote needs a token of your own "
                f"(--token / tokens=), not the public {DEFAULT_TOKEN!r}"
            )

    @property
    def custom_tokens(self) -> bool:
        return self.tokens != (DEFAULT_TOKEN,)


def _check_tokens(tokens: object) -> tuple[str, ...]:
    if tokens is None:
        return (DEFAULT_TOKEN,)
    if isinstance(tokens, str) or not isinstance(tokens, Iterable):
        raise SandboxOptionError("tokens: pass a list of tokens, not a single string")
    checked = tuple(tokens)
    if not checked:
        return (DEFAULT_TOKEN,)
    for token in checked:
        if (
            not isinstance(token, str)
            or not token
            or token != token.strip()
            or any(ch.isspace() for ch in token)
        ):
            raise SandboxOptionError("tokens: a token must be non-empty, without whitespace")
    return checked


def _check_positive(value: object, what: str, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SandboxOptionError(f"{what}: must be a number of {unit}")
    if not _finite(value) or value <= 0:
        raise SandboxOptionError(f"{what}: {describe_value(value)}; it must be greater than 0")
    return float(value)
