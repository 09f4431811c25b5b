"""When to send a request again, and how long to wait first.

The API has no idempotency key: re-sending a POST that the server may already
have acted on can create a duplicate activity. So by default the client retries
only failures that prove nothing was created:

==============================  ===========  ========================================
failure                         retried?     wait
==============================  ===========  ========================================
could not connect, connect or   yes          exponential backoff with full jitter
pool timeout
429 Too Many Requests           yes          ``Retry-After`` (seconds or HTTP date) if
                                             present and at most ``retry_after_max``;
                                             a longer ``Retry-After`` is not waited
                                             out: the error is raised at once
503 Service Unavailable         yes          as for 429
read / write timeout,           no, unless   the error says ``may_have_been_created``
connection lost after sending,  opted in
500, 502, 504 and other 5xx
anything else (4xx, bad reply)  never
==============================  ===========  ========================================

Opt in to re-sending requests whose outcome is unknown with
``RetryPolicy(retry_unknown_outcome=True)`` (passed as ``retry_policy=`` to the
client) when a duplicate activity is better than a missing one. The number of
retries is the client's ``max_retries`` (default 2, ``0`` turns retries off).
"""

from __future__ import annotations

import datetime
import email.utils
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from .config import MAX_TIMEOUT
from .errors import (
    APIConnectionError,
    APIStatusError,
    ConfigurationError,
    RateLimitError,
    ServerError,
    SPPError,
    describe_status,
    describe_value,
)

__all__ = ["Retry", "RetryPolicy", "full_jitter", "parse_retry_after"]

#: RFC 9110 delay-seconds is ASCII digits (float() would also take "1_000", "-5" or "١٢");
#: a decimal fraction is tolerated.
_DELAY_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def full_jitter(ceiling: float) -> float:
    """A random wait between 0 and ``ceiling`` ("full jitter"), so that many
    clients that failed together do not come back together."""
    return random.uniform(0.0, ceiling)  # noqa: S311 - spreading retries, not cryptography


class Retry(NamedTuple):
    """A decision to retry: wait ``delay`` seconds, because of ``reason``."""

    delay: float
    reason: str


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How the client retries. Immutable; share one between clients.

    Attributes:
        backoff_initial: the ceiling of the first wait, in seconds; it doubles with
            every retry (full jitter picks a wait between 0 and the ceiling).
        backoff_max: the largest ceiling, in seconds.
        retry_after_max: the longest ``Retry-After`` the client waits out, in
            seconds. A longer one raises the error at once (its ``retry_after``
            says how long to wait).
        retry_unknown_outcome: also retry failures after which the activity may
            exist (read timeout, connection lost after sending, 500/502/504...).
            This can create duplicates. Off by default.
        jitter: picks the wait from a ceiling; replace it for deterministic tests. It
            must return a number of seconds from 0 to 1e9: it is tried once when the
            policy is built (with ``backoff_initial``), and a bad wait during a call
            raises ConfigurationError (with the failure it was to retry as its cause).
    """

    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    retry_after_max: float = 60.0
    retry_unknown_outcome: bool = False
    jitter: Callable[[float], float] = field(default=full_jitter, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A bad value is a ConfigurationError naming the field, like the client's own.
        for name in ("backoff_initial", "backoff_max", "retry_after_max"):
            value = getattr(self, name)
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or not 0 <= value <= MAX_TIMEOUT
            ):
                raise ConfigurationError(
                    f"RetryPolicy.{name} must be a number of seconds from 0 to "
                    f"{MAX_TIMEOUT:g}, got {describe_value(value)}."
                )
        if not isinstance(self.retry_unknown_outcome, bool):
            raise ConfigurationError(
                "RetryPolicy.retry_unknown_outcome must be True or False, got "
                f"{describe_value(self.retry_unknown_outcome)}."
            )
        if not callable(self.jitter):
            raise ConfigurationError(
                f"RetryPolicy.jitter must be callable, got {describe_value(self.jitter)}."
            )
        # Tried once now, so that a jitter that cannot give a wait is refused here, before
        # any request, rather than after a failed attempt; each later wait is checked too.
        self._checked_wait(self.backoff_initial)

    def _checked_wait(self, ceiling: float, error: SPPError | None = None) -> float:
        """The jitter's wait for ``ceiling``, or ConfigurationError: it must be a number
        of seconds from 0 to MAX_TIMEOUT. Raised during a call (``error`` is the failure
        being retried), the error keeps that failure's ``may_have_been_created`` and has
        it as its cause."""
        try:
            wait = self.jitter(ceiling)
            problem = None
        except Exception as exc:  # the user's callable: whatever it raises is its bug
            wait, problem = None, f"raised {type(exc).__name__}"
        if problem is None and (
            isinstance(wait, bool)
            or not isinstance(wait, int | float)
            or not 0 <= wait <= MAX_TIMEOUT  # NaN and inf fail too
        ):
            problem = f"returned {describe_value(wait)}"
        if problem is None:
            return float(wait)  # type: ignore[arg-type]
        message = (
            f"RetryPolicy.jitter {problem} for a ceiling of {ceiling:g} s; it must return a "
            f"number of seconds from 0 to {MAX_TIMEOUT:g}."
        )
        if error is None:
            raise ConfigurationError(message)
        raise ConfigurationError(
            f"{message} The failure it was to retry: {error}",
            may_have_been_created=error.may_have_been_created,
        ) from error

    def reason(self, error: SPPError) -> str | None:
        """Why ``error`` may be retried under this policy, or ``None`` if it may not."""
        if isinstance(error, APIConnectionError):
            if not error.may_have_been_created:
                return str(error.args[0])
            if self.retry_unknown_outcome:
                return f"{error.args[0]} (outcome unknown; retry_unknown_outcome=True)"
            return None
        if isinstance(error, RateLimitError) or (
            isinstance(error, ServerError) and not error.may_have_been_created
        ):
            return describe_status(error.response)
        if isinstance(error, ServerError) and self.retry_unknown_outcome:
            return (
                f"{describe_status(error.response)} (outcome unknown; retry_unknown_outcome=True)"
            )
        return None

    def decide(self, error: SPPError, retries_done: int, max_retries: int) -> Retry | None:
        """Whether to retry after ``error``, given ``retries_done`` of ``max_retries``."""
        if retries_done >= max_retries:
            return None
        reason = self.reason(error)
        if reason is None:
            return None
        retry_after = error.retry_after if isinstance(error, APIStatusError) else None
        if retry_after is not None:
            if retry_after > self.retry_after_max:
                return None
            return Retry(retry_after, f"{reason}, Retry-After {retry_after:g} s")
        ceiling = min(self.backoff_max, self.backoff_initial * 2.0 ** min(retries_done, 64))
        return Retry(self._checked_wait(ceiling, error), reason)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date.

    Returns ``None`` when the header is absent or unreadable; a date in the past
    gives 0.

    >>> parse_retry_after("120")
    120.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0)
    10.0
    """
    if value is None:
        return None
    text = value.strip()
    if _DELAY_SECONDS.fullmatch(text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # asctime and "-0000" dates name no zone; an HTTP date is GMT
        when = when.replace(tzinfo=datetime.UTC)
    seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds)
