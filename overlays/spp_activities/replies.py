"""What a reply means: the Activity in a 201, or the typed error for anything else.

A 201 is checked against the 201 schema of the shipped openapi.yaml (see
:mod:`spp_activities.contract`, a tolerant reader) and then built with the generated
``Activity.from_dict``; a reply that breaks the contract, or that the model cannot be
built from, raises :class:`InvalidResponseError` naming the field. Both follow
openapi.yaml through ``make generate`` with no change here. Every other status, and
every network failure, becomes the error class that says whether the activity may have
been created.
"""

from __future__ import annotations

import linecache
import re
import traceback
from types import TracebackType

import httpx
from spp_api.models import Activity, Error
from spp_api.types import Unset

from .contract import reply_problem
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
    problem = reply_problem(data)
    if problem is None:
        try:
            return Activity.from_dict(data)
        except Exception as exc:
            problem = _field_of(exc.__traceback__), f"cannot be read: {type(exc).__name__}: {exc}"
    path, what = problem
    where = f"field {path!r}" if path else "the body"
    raise InvalidResponseError(
        f"{describe_status(response)}, but the reply breaks the contract: {where} {what}",
        response=response,
    )


#: A generated ``from_dict`` takes each property with ``d.pop("<json name>"...)``; an
#: optional one is converted from ``_<python name>`` on a later line.
_POPPED = re.compile(r'd\.pop\("((?:[^"\\]|\\.)*)"')
_CONVERTED = re.compile(r"\(_([A-Za-z0-9_]+)\)")


def _field_of(tb: TracebackType | None) -> str:
    """The dotted path of the property a generated ``from_dict`` failed on, read from
    the source lines of its frames (one per nested model); "" when none is recognisable."""
    names = []
    for frame, line_number in traceback.walk_tb(tb):
        if not frame.f_globals.get("__name__", "").startswith("spp_api.models"):
            continue
        line = linecache.getline(frame.f_code.co_filename, line_number)
        found = _POPPED.search(line) or _CONVERTED.search(line)
        if found:
            names.append(found.group(1))
    return ".".join(names)


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


#: How getaddrinfo says that a name does not resolve, on Linux (glibc, musl), macOS
#: and Windows.
_NAME_NOT_RESOLVED = re.compile(
    r"Name or service not known|nodename nor servname|No address associated with hostname"
    r"|Temporary failure in name resolution|getaddrinfo failed|Name does not resolve"
    r"|\[Errno (-2|-3|-5|8|11001|11002)\]",
    re.IGNORECASE,
)


def _host_of(exc: httpx.RequestError) -> str:
    try:
        return exc.request.url.host
    except RuntimeError:  # raised without a request
        return "the workspace host"


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
    if isinstance(exc, httpx.ConnectError) and _NAME_NOT_RESOLVED.search(detail):
        host = _host_of(exc)
        return APIConnectionError(
            f"Could not connect: the name {host!r} does not resolve; check the workspace "
            f"URL ({detail})",
            may_have_been_created=False,
        )
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
