"""Retries on both clients: only failures after which nothing can exist are
re-sent; unknown outcomes raise at once with may_have_been_created=True.

Sleeping is injected (`sleep=`), so these tests never wait: they assert on the
recorded durations instead."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest
from client_helpers import Api
from spp_activities import (
    APIConnectionError,
    APITimeoutError,
    InvalidResponseError,
    RateLimitError,
    RetryPolicy,
    ServerError,
)


def test_429_with_retry_after_seconds_is_retried_then_succeeds(api: Api) -> None:
    api.reply(api.error(429, {"message": "Too Many Attempts."}, {"Retry-After": "2"}))
    activity = api.reply(api.created()).create(1, "x")
    assert activity.id == 7
    assert len(api.requests) == 2
    assert api.sleeps == [2.0]


def test_429_with_retry_after_http_date_is_retried_then_succeeds(api: Api) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    api.reply(api.error(429, None, {"Retry-After": when}), api.created())
    assert api.create(1, "x").id == 7
    [slept] = api.sleeps
    # At most the 30 s asked for (less by the date's one-second resolution and however long
    # this machine took), and clearly the date, not the first backoff (at most 0.5 s).
    assert 1.0 < slept <= 30.0


def test_retry_after_longer_than_the_cap_is_not_waited_out(api: Api) -> None:
    api.reply(api.error(429, None, {"Retry-After": "3600"}))
    with pytest.raises(RateLimitError) as caught:
        api.create(1, "x")
    assert caught.value.retry_after == 3600.0
    assert caught.value.may_have_been_created is False
    assert "retry after 3600 s" in str(caught.value)
    assert api.sleeps == []
    assert len(api.requests) == 1


def test_the_retry_after_cap_is_configurable(api: Api) -> None:
    api.client_options["retry_policy"] = RetryPolicy(retry_after_max=5.0)
    api.reply(api.error(429, None, {"Retry-After": "6"}))
    with pytest.raises(RateLimitError):
        api.create(1, "x")
    api.reply(api.error(429, None, {"Retry-After": "5"}), api.created())
    api.create(1, "x")
    assert api.sleeps == [5.0]


def test_503_is_retried_with_jittered_backoff_then_succeeds(api: Api) -> None:
    api.reply(api.error(503, {"message": "Down"}), api.created())
    assert api.create(1, "x").id == 7
    assert len(api.requests) == 2
    [slept] = api.sleeps
    assert 0.0 <= slept <= 0.5  # full jitter below the first ceiling


def test_503_honours_retry_after(api: Api) -> None:
    api.reply(api.error(503, None, {"Retry-After": "1"}), api.created())
    api.create(1, "x")
    assert api.sleeps == [1.0]


@pytest.mark.parametrize("status", [500, 502, 504, 520])
def test_unknown_outcome_status_is_never_resent(api: Api, status: int) -> None:
    api.reply(api.error(status, {"message": "Server Error"}))
    with pytest.raises(ServerError) as caught:
        api.create(1, "x", max_retries=5)
    assert caught.value.may_have_been_created is True
    assert caught.value.status_code == status
    assert len(api.requests) == 1
    assert api.sleeps == []


@pytest.mark.parametrize(
    ("failure", "error_class"),
    [
        (httpx.ReadTimeout("timed out"), APITimeoutError),
        (httpx.WriteTimeout("timed out"), APITimeoutError),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), None),
        (httpx.ReadError("Connection reset by peer"), None),
        (httpx.WriteError("Broken pipe"), None),
    ],
)
def test_failure_after_sending_is_never_resent(
    api: Api, failure: Exception, error_class: type[Exception] | None
) -> None:
    api.reply(failure)
    with pytest.raises(APIConnectionError) as caught:
        api.create(1, "x", max_retries=5)
    error = caught.value
    if error_class is not None:
        assert type(error) is error_class
    else:
        assert type(error) is APIConnectionError
    assert error.may_have_been_created is True
    assert "may have been created" in str(error)
    assert error.__cause__ is failure
    assert len(api.requests) == 1
    assert api.sleeps == []


@pytest.mark.parametrize(
    ("failure", "says"),
    [
        (httpx.ReadError("Connection reset by peer"), "(ReadError: Connection reset by peer)"),
        (httpx.ReadError(""), "(ReadError)"),
    ],
)
def test_a_lost_connection_is_named_once(api: Api, failure: Exception, says: str) -> None:
    api.reply(failure)
    with pytest.raises(APIConnectionError) as caught:
        api.create(1, "x")
    assert says in str(caught.value)
    assert "ReadError: ReadError" not in str(caught.value)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ConnectTimeout("timed out"),
        httpx.PoolTimeout("timed out"),
    ],
)
def test_could_not_connect_is_retried(api: Api, failure: Exception) -> None:
    api.client_options["retry_policy"] = RetryPolicy(jitter=lambda ceiling: ceiling)
    api.reply(failure, failure, api.created())
    assert api.create(1, "x").id == 7
    assert len(api.requests) == 3
    assert api.sleeps == [0.5, 1.0]  # exponential ceilings (jitter replaced by the ceiling)


def test_the_retry_budget_runs_out(api: Api) -> None:
    api.reply(*[api.error(503, {"message": "Down"})] * 3)
    with pytest.raises(ServerError) as caught:
        api.create(1, "x")  # default max_retries=2: three attempts
    error = caught.value
    assert error.status_code == 503
    assert error.may_have_been_created is False
    assert error.attempts == 3
    assert "gave up after 3 attempts" in str(error)
    assert len(api.requests) == 3
    assert len(api.sleeps) == 2


def test_a_broken_reply_after_a_retry_counts_every_attempt(api: Api) -> None:
    api.reply(api.error(503, {"message": "Down"}), api.created({"id": 7}))
    with pytest.raises(InvalidResponseError) as caught:
        api.create(1, "x")
    assert caught.value.attempts == 2
    assert caught.value.may_have_been_created is True
    assert len(api.requests) == 2


def test_connect_errors_exhaust_the_budget_and_say_nothing_was_created(api: Api) -> None:
    api.reply(*[httpx.ConnectError("[Errno 111] Connection refused")] * 2)
    with pytest.raises(APIConnectionError) as caught:
        api.create(1, "x", max_retries=1)
    assert type(caught.value) is APIConnectionError
    assert caught.value.may_have_been_created is False
    assert str(caught.value) == (
        "Could not connect: [Errno 111] Connection refused "
        "(the activity was not created; gave up after 2 attempts)"
    )


def test_max_retries_zero_disables_retries(api: Api) -> None:
    api.client_options["max_retries"] = 0
    api.reply(api.error(429, None, {"Retry-After": "1"}))
    with pytest.raises(RateLimitError) as caught:
        api.create(1, "x")
    assert caught.value.retry_after == 1.0
    assert len(api.requests) == 1
    assert api.sleeps == []


def test_max_retries_per_call_overrides_the_client(api: Api) -> None:
    api.client_options["max_retries"] = 0
    api.reply(*[api.error(503, None)] * 4, api.created())
    assert api.create(1, "x", max_retries=4).id == 7
    assert len(api.requests) == 5


def test_backoff_ceiling_is_capped(api: Api) -> None:
    api.client_options["retry_policy"] = RetryPolicy(
        backoff_initial=1.0, backoff_max=3.0, jitter=lambda ceiling: ceiling
    )
    api.reply(*[api.error(503, None)] * 4, api.created())
    api.create(1, "x", max_retries=4)
    assert api.sleeps == [1.0, 2.0, 3.0, 3.0]


def test_opting_in_resends_unknown_outcomes(api: Api) -> None:
    api.client_options["retry_policy"] = RetryPolicy(retry_unknown_outcome=True)
    api.reply(api.error(502, "<html>"), httpx.ReadTimeout("timed out"), api.created())
    assert api.create(1, "x").id == 7
    assert len(api.requests) == 3


def test_client_errors_are_never_retried_even_when_opted_in(api: Api) -> None:
    api.client_options["retry_policy"] = RetryPolicy(retry_unknown_outcome=True)
    api.reply(api.error(400, {"message": "Bad."}))
    with pytest.raises(Exception, match="400 Bad Request"):
        api.create(1, "x")
    assert len(api.requests) == 1


def test_the_same_body_is_resent(api: Api) -> None:
    api.reply(httpx.ConnectError("refused"), api.created())
    api.create(1, "Resent exactly")
    assert api.bodies == [{"content": "Resent exactly"}] * 2
