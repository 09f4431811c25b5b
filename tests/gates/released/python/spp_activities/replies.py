"""What a reply means: the Activity in a 201, or the typed error for anything else.

A 201 is checked against the generated ``Activity`` model before it is parsed,
so a reply that breaks the contract raises :class:`InvalidResponseError` instead
of a ``KeyError``; the check is derived from the model's fields and types, so it
follows openapi.yaml through ``make generate``. Every other status, and every
network failure, becomes the error class that says whether the activity may
have been created.
"""

from __future__ import annotations

import datetime
import typing
from collections.abc import Callable
from types import NoneType, UnionType
from typing import Any

import attrs
import httpx
import spp_api.models
from spp_api.models import Activity, Error
from spp_api.types import Unset

from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InvalidResponseError,
    describe_status,
    error_for_status,
)
from .retry import parse_retry_after

__all__ = ["connection_error", "parse_activity", "status_error"]

# ---------------------------------------------------------------------------
# The contract check for replies: derived from the generated attrs models.
# ---------------------------------------------------------------------------

_Problem = tuple[str, str]  # (path, what is wrong)
_Check = Callable[[Any], _Problem | None]

_JSON_TYPE_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    NoneType: "null",
}


def _json_type(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _exact_type_check(expected: type, description: str) -> _Check:
    # `type(v) is int` rejects True/False, which JSON decoding gives as bool.
    def check(value: Any) -> _Problem | None:
        if type(value) is expected:
            return None
        return "", f"must be {description}, got {_json_type(value)}"

    return check


def _check_number(value: Any) -> _Problem | None:
    if type(value) is int or type(value) is float:
        return None
    return "", f"must be a number, got {_json_type(value)}"


def _check_datetime(value: Any) -> _Problem | None:
    if type(value) is not str:
        return "", f"must be a date-time string, got {_json_type(value)}"
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return "", f"must be an ISO 8601 date-time, got {value[:40]!r}"
    if parsed.tzinfo is None:
        return "", f"must be a date-time with a time zone, got {value[:40]!r}"
    return None


def _check_any(value: Any) -> _Problem | None:
    return None


def _checker_for(hint: Any) -> _Check:
    """A check for a JSON value that from_dict turns into ``hint``."""
    optional = (NoneType,)
    args = typing.get_args(hint)
    if isinstance(hint, UnionType) or typing.get_origin(hint) is typing.Union:
        # `X | Unset` marks an optional property: absence is handled by the model check.
        remaining = [arg for arg in args if arg is not Unset]
        nullable = NoneType in remaining
        remaining = [arg for arg in remaining if arg not in optional]
        if len(remaining) != 1:
            raise TypeError(f"no response check for the type {hint!r}")
        inner = _checker_for(remaining[0])
        if not nullable:
            return inner
        return lambda value: None if value is None else inner(value)
    if attrs.has(hint):
        return _model_checker(hint)
    if typing.get_origin(hint) is list and len(args) == 1:
        item_check = _checker_for(args[0])

        def check_list(value: Any) -> _Problem | None:
            if type(value) is not list:
                return "", f"must be an array, got {_json_type(value)}"
            for index, item in enumerate(value):
                problem = item_check(item)
                if problem is not None:
                    return f"[{index}]{problem[0]}", problem[1]
            return None

        return check_list
    simple: dict[Any, _Check] = {
        int: _exact_type_check(int, "an integer"),
        str: _exact_type_check(str, "a string"),
        bool: _exact_type_check(bool, "a boolean"),
        float: _check_number,
        datetime.datetime: _check_datetime,
        Any: _check_any,
    }
    if hint in simple:
        return simple[hint]
    raise TypeError(f"no response check for the type {hint!r}")


def _model_checker(model: type) -> _Check:
    """A check that a JSON value fits the generated attrs ``model``.

    Built from the model's fields and their resolved type hints, so it follows
    openapi.yaml through ``make generate``: required fields must be present and
    every present field must have the JSON type its Python type comes from.
    """
    hints = typing.get_type_hints(model, localns=vars(spp_api.models))
    fields: list[tuple[str, bool, _Check]] = [
        (field.name, field.default is attrs.NOTHING, _checker_for(hints[field.name]))
        for field in attrs.fields(model)
        if field.init  # `additional_properties` keeps unknown keys; not a property
    ]

    def check(value: Any) -> _Problem | None:
        if type(value) is not dict:
            return "", f"must be an object, got {_json_type(value)}"
        for name, required, check_field in fields:
            if name in value:
                problem = check_field(value[name])
                if problem is not None:
                    return f".{name}{problem[0]}", problem[1]
            elif required:
                return f".{name}", "is missing"
        return None

    return check


_check_activity = _model_checker(Activity)


def parse_activity(response: httpx.Response) -> Activity:
    """The Activity in a 201 reply; InvalidResponseError if the reply breaks the contract."""
    try:
        data = response.json()
    # ValueError includes JSONDecodeError and UnicodeDecodeError; RecursionError is
    # json's answer to deep nesting.
    except (ValueError, RecursionError):
        raise InvalidResponseError(
            f"{describe_status(response)}, but the reply is not JSON ({_describe_body(response)})",
            response=response,
        ) from None
    problem = _check_activity(data)
    if problem is None:
        try:
            return Activity.from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problem = "", f"{type(exc).__name__}: {exc}"
    path, what = problem
    where = f"field {path[1:]!r}" if path else "the body"
    raise InvalidResponseError(
        f"{describe_status(response)}, but the reply breaks the contract: {where} {what}",
        response=response,
    )


# ---------------------------------------------------------------------------
# Mapping attempt outcomes to errors.
# ---------------------------------------------------------------------------


def _describe_body(response: httpx.Response) -> str:
    size = len(response.content)
    if not size:
        return "empty body"
    content_type = response.headers.get("Content-Type", "no Content-Type").split(";")[0]
    return f"{content_type}, {size} bytes"


def _error_body(response: httpx.Response) -> tuple[str | None, dict[str, list[str]], str | None]:
    """(message, field errors, a note on the body when it has no message)."""
    note = None
    if 300 <= response.status_code < 400 and "Location" in response.headers:
        note = f"redirected to {response.headers['Location']}; check the workspace URL"
    if not response.content:
        return None, {}, note or "the reply has no body"
    try:
        data = response.json()
    except (ValueError, RecursionError):
        return None, {}, note or f"the reply is not JSON ({_describe_body(response)})"
    if type(data) is not dict or type(data.get("message")) is not str:
        return None, {}, note or f"the reply has no error message ({_describe_body(response)})"
    errors = data.get("errors")
    fits = errors is None or (
        type(errors) is dict
        and all(
            type(messages) is list and all(type(m) is str for m in messages)
            for messages in errors.values()
        )
    )
    if not fits:  # keep the message, drop field errors that break the contract
        data = {key: value for key, value in data.items() if key != "errors"}
    parsed = Error.from_dict(data)
    field_errors = {} if isinstance(parsed.errors, Unset) else parsed.errors.additional_properties
    return parsed.message, dict(field_errors), None


def status_error(response: httpx.Response) -> APIStatusError:
    """The typed error for a non-2xx reply."""
    cls, may_have_been_created = error_for_status(response.status_code)
    message, errors, note = _error_body(response)
    return cls(
        response=response,
        message=message,
        errors=errors,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        body_note=note,
        may_have_been_created=may_have_been_created,
    )


def connection_error(exc: httpx.RequestError) -> APIConnectionError:
    """The typed error for a request that got no reply."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout):
        return APITimeoutError(f"Timed out connecting: {detail}", may_have_been_created=False)
    if isinstance(exc, httpx.PoolTimeout):
        return APITimeoutError(
            "Timed out waiting for a free connection in the pool", may_have_been_created=False
        )
    if isinstance(exc, httpx.WriteTimeout):  # part of the request may have gone out
        return APITimeoutError("Timed out sending the request", may_have_been_created=True)
    if isinstance(exc, httpx.TimeoutException):  # the request went out; no reply in time
        return APITimeoutError("Timed out waiting for the reply", may_have_been_created=True)
    if isinstance(exc, httpx.ConnectError | httpx.ProxyError):
        return APIConnectionError(f"Could not connect: {detail}", may_have_been_created=False)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return APIConnectionError(
            f"Could not send the request: {detail}", may_have_been_created=False
        )
    return APIConnectionError(
        "The connection failed after the request was sent "
        f"({type(exc).__name__}{'' if detail == type(exc).__name__ else ': ' + detail})",
        may_have_been_created=True,
    )
