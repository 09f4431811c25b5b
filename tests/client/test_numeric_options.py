"""Every numeric option, given a value no message can print as is: a typed error, nothing sent.

Python refuses to turn an int of more than 4,300 digits into text, so a message built with
``{value!r}`` raised a bare ValueError instead of the error it was describing. Every "got ..."
goes through one helper (`spp_activities.errors.describe_value`); this file tries each option
through each way in: the constructor, ``with_options``, a call's keyword arguments and
``RetryPolicy``, for both clients.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from spp_activities import (
    AsyncSPPClient,
    ConfigurationError,
    InvalidInputError,
    RetryPolicy,
    SPPClient,
)
from spp_activities.errors import describe_value
from spp_activities.sandbox import Sandbox

HUGE = 10**5000
TOKEN = "sk-test-numeric-Nn4"

#: Values whose repr() fails or that are absurd: each must be refused with a typed error.
BAD_VALUES = [
    pytest.param(HUGE, id="10**5000"),
    pytest.param(-HUGE, id="-10**5000"),
    pytest.param(2**64 + 1, id="2**64+1"),
]

CLIENT_OPTIONS = ["timeout", "max_retries", "attempt_deadline", "call_deadline"]
#: The options of the client as a whole (not per call).
CLIENT_ONLY = ["max_response_bytes"]
POLICY_FIELDS = ["backoff_initial", "backoff_max", "retry_after_max"]


def _ways() -> list[Any]:
    ways = []
    for option in CLIENT_OPTIONS + CLIENT_ONLY:
        ways.append(pytest.param("constructor", option, ConfigurationError, id=f"new-{option}"))
        ways.append(pytest.param("with_options", option, ConfigurationError, id=f"copy-{option}"))
    for option in CLIENT_OPTIONS:
        ways.append(pytest.param("per_call", option, InvalidInputError, id=f"call-{option}"))
    ways.append(pytest.param("per_call", "client_id", InvalidInputError, id="call-client_id"))
    for name in POLICY_FIELDS:
        ways.append(pytest.param("retry_policy", name, ConfigurationError, id=f"policy-{name}"))
    ways.append(pytest.param("timeout_phase", "timeout", ConfigurationError, id="new-Timeout"))
    ways.append(pytest.param("timeout_phase", "per_call", InvalidInputError, id="call-Timeout"))
    return ways


def _attempt(kind: str, sandbox: Sandbox, way: str, option: str, value: object) -> None:
    """Build a client and create one activity, with `value` given for `option` `way`."""
    options: dict[str, Any] = {}
    copy: dict[str, Any] = {}
    per_call: dict[str, Any] = {}
    client_id: object = 1
    if way == "constructor":
        options[option] = value
    elif way == "with_options":
        copy[option] = value
    elif way == "per_call" and option == "client_id":
        client_id = value
    elif way == "per_call":
        per_call[option] = value
    elif way == "retry_policy":
        options["retry_policy"] = RetryPolicy(**{option: value})  # type: ignore[arg-type]
    elif way == "timeout_phase":
        timeout = httpx.Timeout(5.0, read=value)  # type: ignore[arg-type]
        (options if option == "timeout" else per_call)["timeout"] = timeout

    if kind == "sync":
        with SPPClient(sandbox.workspace_url, TOKEN, **options) as client:
            target = client.with_options(**copy) if copy else client
            target.activities.create(client_id, "x", **per_call)  # type: ignore[arg-type]
        return

    async def main() -> None:
        async with AsyncSPPClient(sandbox.workspace_url, TOKEN, **options) as client:
            target = client.with_options(**copy) if copy else client
            await target.activities.create(client_id, "x", **per_call)  # type: ignore[arg-type]

    asyncio.run(main())


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("value", BAD_VALUES)
@pytest.mark.parametrize(("way", "option", "error"), _ways())
def test_a_huge_number_for_any_option_is_a_typed_error_and_nothing_is_sent(
    sandbox_factory: Callable[..., Sandbox],
    kind: str,
    value: int,
    way: str,
    option: str,
    error: type[Exception],
) -> None:
    sandbox = sandbox_factory(tokens=[TOKEN])
    with pytest.raises(error) as caught:
        _attempt(kind, sandbox, way, option, value)
    text = str(caught.value)
    assert f"{value.bit_length()}-bit int" in text
    assert sandbox.stats()["requests"] == 0
    assert sandbox.activities() == []


def test_the_control_a_sound_value_goes_through(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    """The same path with ordinary values does send, so the tests above test the value."""
    sandbox = sandbox_factory(tokens=[TOKEN])
    _attempt("sync", sandbox, "constructor", "max_retries", 3)
    _attempt("sync", sandbox, "per_call", "call_deadline", 30)
    _attempt("sync", sandbox, "retry_policy", "backoff_max", 4)
    assert sandbox.stats()["requests"] == 3


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (HUGE, "a 16610-bit int"),
        (-HUGE, "a negative 16610-bit int"),
        (2**64 - 1, str(2**64 - 1)),
        (-3, "-3"),
        (float("nan"), "nan"),
        ("x" * 500, "'" + "x" * 55 + "...'"),
        (True, "True"),
    ],
    ids=["huge", "-huge", "2**64-1", "-3", "nan", "long str", "bool"],
)
def test_describe_value(value: object, shown: str) -> None:
    assert describe_value(value) == shown


def test_describe_value_survives_a_failing_repr() -> None:
    class Odd:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert describe_value(Odd()) == "a Odd"
