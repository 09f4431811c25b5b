"""The retry policy on its own: what is retryable, the waits, Retry-After parsing."""

from __future__ import annotations

import email.utils
import math
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from spp_activities import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    ConfigurationError,
    InvalidResponseError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    SPPError,
)
from spp_activities.retry import full_jitter, parse_retry_after


def status_error(
    cls: type[APIStatusError], status: int, retry_after: float | None = None
) -> SPPError:
    response = httpx.Response(status, request=httpx.Request("POST", "https://x/api"))
    return cls(
        response=response,
        message=None,
        retry_after=retry_after,
        may_have_been_created=status >= 500 and status != 503,
    )


NOT_CREATED = [
    APIConnectionError("Could not connect", may_have_been_created=False),
    APITimeoutError("Timed out connecting", may_have_been_created=False),
    status_error(RateLimitError, 429),
    status_error(ServerError, 503),
]
UNKNOWN_OUTCOME = [
    APIConnectionError("lost", may_have_been_created=True),
    APITimeoutError("read timeout", may_have_been_created=True),
    status_error(ServerError, 500),
    status_error(ServerError, 502),
    status_error(ServerError, 504),
    status_error(ServerError, 520),
]
NEVER = [
    status_error(BadRequestError, 400),
    InvalidResponseError("201 Created, but...", response=httpx.Response(201)),
]


@pytest.mark.parametrize("error", NOT_CREATED)
def test_failures_that_prove_nothing_was_created_are_retried(error: SPPError) -> None:
    policy = RetryPolicy()
    assert policy.decide(error, 0, 2) is not None
    assert policy.decide(error, 2, 2) is None  # budget spent
    assert policy.decide(error, 0, 0) is None  # retries off


@pytest.mark.parametrize("error", UNKNOWN_OUTCOME)
def test_unknown_outcomes_are_retried_only_when_opted_in(error: SPPError) -> None:
    assert RetryPolicy().decide(error, 0, 2) is None
    retry = RetryPolicy(retry_unknown_outcome=True).decide(error, 0, 2)
    assert retry is not None
    assert "outcome unknown" in retry.reason


@pytest.mark.parametrize("error", NEVER)
def test_other_failures_are_never_retried(error: SPPError) -> None:
    assert RetryPolicy(retry_unknown_outcome=True).decide(error, 0, 5) is None


def test_full_jitter_stays_under_the_ceiling() -> None:
    waits = [full_jitter(2.0) for _ in range(500)]
    assert all(0.0 <= wait <= 2.0 for wait in waits)
    assert len(set(waits)) > 400  # random, not a constant


def test_waits_double_up_to_the_cap() -> None:
    policy = RetryPolicy(backoff_initial=0.5, backoff_max=3.0, jitter=lambda ceiling: ceiling)
    error = NOT_CREATED[0]
    delays = [policy.decide(error, n, 10) for n in range(5)]
    assert [d.delay for d in delays if d] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy(retry_after_max=60.0)
    retry = policy.decide(status_error(RateLimitError, 429, retry_after=12.0), 0, 2)
    assert retry is not None
    assert retry.delay == 12.0
    assert "Retry-After 12 s" in retry.reason
    assert policy.decide(status_error(RateLimitError, 429, retry_after=61.0), 0, 2) is None


@pytest.mark.parametrize("field", ["backoff_initial", "backoff_max", "retry_after_max"])
# inf: time.sleep(inf) raises OverflowError, and jitter over inf gives NaN
@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf"), "1", True])
def test_bad_policy_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=field):
        RetryPolicy(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["no", "", 0, 1, None, "False"])
def test_retry_unknown_outcome_must_be_a_bool(value: object) -> None:
    # "no" was taken as true: a policy that re-sends and may duplicate
    with pytest.raises(ConfigurationError, match="retry_unknown_outcome must be True or False"):
        RetryPolicy(retry_unknown_outcome=value)  # type: ignore[arg-type]


def test_jitter_must_be_callable() -> None:
    with pytest.raises(ConfigurationError, match="jitter"):
        RetryPolicy(jitter=0.5)  # type: ignore[arg-type]


def _raises(ceiling: float) -> float:
    raise ZeroDivisionError("a bug in the user's jitter")


BAD_JITTERS = [
    pytest.param(lambda ceiling: -1.0, "returned -1.0", id="negative"),
    pytest.param(lambda ceiling: math.nan, "returned nan", id="nan"),
    pytest.param(lambda ceiling: math.inf, "returned inf", id="inf"),
    pytest.param(lambda ceiling: "0.5", "returned '0.5'", id="str"),
    pytest.param(lambda ceiling: None, "returned None", id="None"),
    pytest.param(lambda ceiling: True, "returned True", id="bool"),
    pytest.param(lambda ceiling: 10**5000, "returned a 16610-bit int", id="huge"),
    pytest.param(_raises, "raised ZeroDivisionError", id="raises"),
]


@pytest.mark.parametrize(("jitter", "says"), BAD_JITTERS)
def test_a_jitter_that_cannot_give_a_wait_is_refused_when_the_policy_is_built(
    jitter: Callable[[float], Any], says: str
) -> None:
    """Tried once with backoff_initial: refused before any client sends anything."""
    with pytest.raises(ConfigurationError) as caught:
        RetryPolicy(jitter=jitter)
    assert f"RetryPolicy.jitter {says} for a ceiling of 0.5 s" in str(caught.value)
    assert "it must return a number of seconds from 0 to 1e+09" in str(caught.value)


@pytest.mark.parametrize(("jitter", "says"), BAD_JITTERS)
def test_a_jitter_that_goes_bad_later_raises_a_typed_error_keeping_the_outcome(
    jitter: Callable[[float], Any], says: str
) -> None:
    """Fine for the first ceiling, bad for a later one: ConfigurationError, caused by the
    failure it was to retry, and as sure as that failure about what was created."""
    policy = RetryPolicy(jitter=lambda ceiling: 0.0 if ceiling <= 0.5 else jitter(ceiling))
    assert policy.decide(NOT_CREATED[0], 0, 5) == (0.0, "Could not connect")
    for error in (*NOT_CREATED, *UNKNOWN_OUTCOME):
        opted_in = RetryPolicy(
            jitter=policy.jitter, retry_unknown_outcome=error.may_have_been_created
        )
        with pytest.raises(ConfigurationError) as caught:
            opted_in.decide(error, 1, 5)
        assert f"RetryPolicy.jitter {says} for a ceiling of 1 s" in str(caught.value)
        assert caught.value.__cause__ is error
        assert caught.value.may_have_been_created is error.may_have_been_created


def test_the_default_policy_spreads_its_waits_with_jitter() -> None:
    """Clients that failed together must not come back together: the default policy
    draws each wait at random between 0 and the ceiling (0.5 s, 1 s, 2 s ... 8 s)."""
    policy = RetryPolicy()
    error = NOT_CREATED[0]
    for retries_done, ceiling in [(0, 0.5), (1, 1.0), (3, 4.0), (10, 8.0)]:
        delays = [policy.decide(error, retries_done, 20) for _ in range(200)]
        waits = [retry.delay for retry in delays if retry is not None]
        assert len(waits) == 200
        assert all(0.0 <= wait <= ceiling for wait in waits)
        assert len(set(waits)) > 150  # spread, not one fixed wait
        assert min(waits) < ceiling / 4
        assert max(waits) > ceiling * 3 / 4


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("1.5", 1.5),
        ("0", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("nan", None),
        ("inf", None),
        # delay-seconds is ASCII digits: float() would read each of these
        ("1_000", None),
        ("\u0661\u0662", None),
        ("+5", None),
        ("1e3", None),
    ],
)
def test_parse_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_parse_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(email.utils.formatdate(now + 90, usegmt=True), now=now) == 90.0
    assert parse_retry_after(email.utils.formatdate(now - 90, usegmt=True), now=now) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


@pytest.mark.parametrize(
    "header",
    # RFC 9110 makes recipients accept the obsolete formats too; all of them are GMT
    [
        "Wed, 21 Oct 2015 07:28:00 GMT",
        "Wednesday, 21-Oct-15 07:28:00 GMT",
        "Wed Oct 21 07:28:00 2015",
    ],
)
def test_parse_retry_after_reads_every_http_date_format(header: str) -> None:
    assert parse_retry_after(header, now=1445412470.0) == 10.0


def test_a_large_retry_budget_does_not_overflow() -> None:
    retry = RetryPolicy(jitter=lambda ceiling: ceiling).decide(NOT_CREATED[0], 5000, 10_000)
    assert retry is not None
    assert retry.delay == 8.0


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_client_whose_jitter_goes_bad_raises_the_typed_error(kind: str) -> None:
    """On the wire: nothing listens on the port, so each attempt is refused (nothing
    created); the first retry's wait is fine, the second's is NaN."""
    import asyncio
    import socket

    from spp_activities import AsyncSPPClient, SPPClient

    with socket.create_server(("127.0.0.1", 0)) as probe:
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    policy = RetryPolicy(
        backoff_initial=0.001, jitter=lambda ceiling: 0.0 if ceiling <= 0.001 else math.nan
    )
    options: dict[str, Any] = {"max_retries": 3, "retry_policy": policy}

    def create() -> None:
        if kind == "sync":
            with SPPClient(url, "tok", **options) as client:
                client.activities.create(1, "x")
            return

        async def main() -> None:
            async with AsyncSPPClient(url, "tok", **options) as client:
                await client.activities.create(1, "x")

        asyncio.run(main())

    with pytest.raises(ConfigurationError) as caught:
        create()
    assert "RetryPolicy.jitter returned nan for a ceiling of 0.002 s" in str(caught.value)
    assert isinstance(caught.value.__cause__, APIConnectionError)
    assert caught.value.may_have_been_created is False
