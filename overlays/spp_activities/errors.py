"""The errors spp_activities raises, and what each one tells you.

Every error is an :class:`SPPError` and answers the question an integration has
to answer before it retries: *may the activity have been created?*
(``error.may_have_been_created``). The API has no idempotency key, so when the
answer is ``True`` a blind retry can create a duplicate; look at the client's
timeline first.

Exception hierarchy::

    SPPError                          may_have_been_created
    ├── ConfigurationError            False  workspace, token or URL missing / invalid
    ├── InvalidInputError (ValueError) False  bad client_id or content; nothing sent
    └── APIError                      a request was attempted (.attempts)
        ├── APIConnectionError        False when it could not connect,
        │   │                         True when the connection broke after sending
        │   └── APITimeoutError       False on connect / pool timeout,
        │                             True on read / write timeout or a deadline
        │                             passed after sending
        ├── APIStatusError            the server answered with a non-2xx status
        │   ├── BadRequestError           400  False
        │   ├── AuthenticationError       401  False
        │   ├── PermissionDeniedError     403  False
        │   ├── NotFoundError             404  False
        │   ├── UnprocessableEntityError  422  False
        │   ├── RateLimitError            429  False  (.retry_after)
        │   └── ServerError               5xx  False for 503, True for 500, 502, 504, 520...
        │   (any other status, e.g. 418 or 499, is a plain APIStatusError:
        │    False for 4xx, True otherwise)
        └── InvalidResponseError      True   a 2xx reply that breaks the contract, or a
                                             reply larger than max_response_bytes

No error's ``str`` or ``repr`` contains the API token: messages are built from
the status, the server's message and the response's ``X-Api-Version`` only.

Every error pickles (e.g. out of a ``ProcessPoolExecutor`` worker) and unpickles to
an equal error. A pickle never holds the token: the ``Authorization`` and
``Proxy-Authorization`` headers of the stored request and response are left out.
Two errors are equal when they are of the same class with the same message and
attributes; a stored response compares by its status, headers and body.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "InvalidInputError",
    "InvalidResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "SPPError",
    "ServerError",
    "UnprocessableEntityError",
    "describe_status",
    "describe_value",
    "error_for_status",
]

#: Ints beyond this many bits are described by their size: Python refuses to turn an int
#: of more than 4,300 digits into text (a bare ValueError), and nobody reads one anyway.
_SHOWN_INT_BITS = 64
_SHOWN_CHARS = 60


def describe_value(value: object) -> str:
    """A value as an error message shows it: its ``repr``, cut short when long, but a
    huge int by its size (``10**5000`` -> ``a 16610-bit int``) and a value whose ``repr``
    fails by its type. Every "got ..." of a bad argument goes through here, so that
    describing a bad value never raises in its turn.

    >>> describe_value(-3), describe_value(10**5000), describe_value("x" * 100)[-4:]
    ('-3', 'a 16610-bit int', "...'")
    """
    if isinstance(value, int) and not isinstance(value, bool):
        bits = value.bit_length()
        if bits > _SHOWN_INT_BITS:
            return f"a {'negative ' if value < 0 else ''}{bits}-bit int"
    try:
        text = repr(value)
    except Exception:  # a user's object whose __repr__ fails
        return f"a {type(value).__name__}"
    return text if len(text) <= _SHOWN_CHARS else f"{text[: _SHOWN_CHARS - 4]}...{text[-1]}"


_NOT_CREATED = "the activity was not created"
_MAYBE_CREATED = "the activity may have been created: check the timeline before retrying"


class SPPError(Exception):
    """Base class of every error raised by spp_activities.

    Attributes:
        may_have_been_created: ``False`` when the activity was certainly not
            created, so the call is safe to repeat; ``True`` when the request
            may have reached the server and been acted on.
    """

    may_have_been_created: bool = False

    def __init__(self, message: str, *, may_have_been_created: bool | None = None) -> None:
        super().__init__(message)
        if may_have_been_created is not None:
            self.may_have_been_created = may_have_been_created

    @property
    def _outcome(self) -> str:
        return _MAYBE_CREATED if self.may_have_been_created else _NOT_CREATED

    def __reduce__(self) -> tuple[Any, ...]:
        # The keyword-only __init__s cannot be called with self.args, so rebuild
        # from the state; the stored responses lose their credentials on the way.
        state = {name: _without_credentials(value) for name, value in vars(self).items()}
        return _unpickle, (type(self), self.args, state)

    def _comparable(self) -> tuple[object, ...]:
        state = {name: _response_key(value) for name, value in vars(self).items()}
        return type(self), self.args, sorted(state.items())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SPPError):
            return NotImplemented
        return self._comparable() == other._comparable()

    def __hash__(self) -> int:
        return hash((type(self), self.args))


_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})


def _unpickle(cls: type[SPPError], args: tuple[object, ...], state: dict[str, Any]) -> SPPError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


def _clean_headers(headers: httpx.Headers) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers.multi_items() if k.lower() not in _CREDENTIAL_HEADERS]


def _without_credentials(value: object) -> object:
    """A stored response, copied without the credential headers (its request's too)."""
    if not isinstance(value, httpx.Response):
        return value
    response = httpx.Response(
        value.status_code,
        headers=_clean_headers(value.headers),
        content=_read_content(value),
        extensions={"reason_phrase": value.reason_phrase.encode("ascii", "replace")},
    )
    try:
        request = value.request
    except RuntimeError:  # a response built without a request
        return response
    response.request = httpx.Request(
        request.method,
        request.url,
        headers=_clean_headers(request.headers),
        content=_read_content(request),
    )
    return response


def _read_content(message: httpx.Response | httpx.Request) -> bytes:
    try:
        return message.content
    except (httpx.ResponseNotRead, httpx.RequestNotRead):
        return b""


def _response_key(value: object) -> object:
    if not isinstance(value, httpx.Response):
        return value
    return value.status_code, _clean_headers(value.headers), _read_content(value)


class ConfigurationError(SPPError):
    """The client is not configured: a workspace or token is missing or invalid.

    Raised by the client's constructor, before any request. The message names the
    argument or environment variable to set.
    """


class InvalidInputError(SPPError, ValueError):
    """An argument is invalid (e.g. ``client_id=0`` or blank ``content``); nothing was sent.

    Attributes:
        argument: the name of the offending argument, e.g. ``"client_id"``.
    """

    def __init__(self, message: str, *, argument: str) -> None:
        super().__init__(message, may_have_been_created=False)
        self.argument = argument


class APIError(SPPError):
    """Base of the errors raised once a request was attempted (connection, status,
    invalid response): catch it to handle every failure of a call that got that far.

    Attributes:
        attempts: how many times the request was sent before this error.
    """

    def __init__(self, message: str, *, may_have_been_created: bool, attempts: int = 1) -> None:
        super().__init__(message, may_have_been_created=may_have_been_created)
        self.attempts = attempts

    def __str__(self) -> str:
        text = f"{self.args[0]} ({self._details()})"
        return text

    def _details(self) -> str:
        parts = [self._outcome]
        if self.attempts > 1:
            parts.append(f"gave up after {self.attempts} attempts")
        return "; ".join(parts)


class APIConnectionError(APIError):
    """The request failed on the network: no HTTP status was received.

    ``may_have_been_created`` is ``False`` when the client could not connect (the
    request never left), ``True`` when the connection broke after the request was
    sent (the server may have stored the activity).
    """

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.args[0]!r}, "
            f"may_have_been_created={self.may_have_been_created})"
        )


class APITimeoutError(APIConnectionError):
    """The request timed out: on connect (``may_have_been_created=False``) or while
    waiting for the reply (``may_have_been_created=True``)."""


class APIStatusError(APIError):
    """The server answered with a non-2xx status.

    Attributes:
        status_code: the HTTP status, e.g. ``404`` (also non-standard ones such as 520).
        response: the :class:`httpx.Response`, for headers and the raw body.
        message: the server's ``message``, or ``None`` if the body had none.
        errors: the server's field errors, e.g. ``{"content": ["The content field is required."]}``.
        api_version: the response's ``X-Api-Version`` header (quote it to SPP support).
        retry_after: seconds the server asked to wait (``Retry-After``), or ``None``.
    """

    def __init__(
        self,
        *,
        response: httpx.Response,
        message: str | None,
        errors: dict[str, list[str]] | None = None,
        retry_after: float | None = None,
        body_note: str | None = None,
        may_have_been_created: bool | None = None,
        attempts: int = 1,
    ) -> None:
        if may_have_been_created is None:
            may_have_been_created = type(self).may_have_been_created
        headline = describe_status(response)
        text = message if message is not None else (body_note or "no error message in the reply")
        field_errors = errors or {}
        if field_errors:
            text += (
                " ["
                + "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in field_errors.items())
                + "]"
            )
        super().__init__(
            f"{headline}: {text}", may_have_been_created=may_have_been_created, attempts=attempts
        )
        self.response = response
        self.status_code = response.status_code
        self.message = message
        self.errors = field_errors
        self.api_version: str | None = response.headers.get("X-Api-Version")
        self.retry_after = retry_after

    def _details(self) -> str:
        parts = []
        if self.api_version:
            parts.append(f"X-Api-Version: {self.api_version}")
        if self.retry_after is not None:
            parts.append(f"retry after {self.retry_after:g} s")
        parts.append(super()._details())
        return "; ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, message={self.message!r}, "
            f"api_version={self.api_version!r}, may_have_been_created={self.may_have_been_created})"
        )


class BadRequestError(APIStatusError):
    """400: the API rejected the request, e.g. blank content (see ``errors``)."""


class AuthenticationError(APIStatusError):
    """401: the token is missing or wrong. Check ``SPP_API_TOKEN``."""


class PermissionDeniedError(APIStatusError):
    """403: the token may not create activities for this client."""


class NotFoundError(APIStatusError):
    """404: no client has this ID."""


class UnprocessableEntityError(APIStatusError):
    """422: the API could not process the content (see ``errors``)."""


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` says how many seconds to wait, if known."""


class ServerError(APIStatusError):
    """5xx: the server failed.

    503 means the server did not take the request (``may_have_been_created=False``);
    any other 5xx (500, 502, 504, 520, ...) leaves the outcome unknown
    (``may_have_been_created=True``).
    """

    may_have_been_created = True


class InvalidResponseError(APIError):
    """The server answered 2xx, but the reply breaks the contract (not JSON, a field
    missing or of the wrong type). The activity may well exist.

    Attributes:
        response: the :class:`httpx.Response` that could not be understood.
        api_version: the response's ``X-Api-Version`` header.
    """

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        super().__init__(message, may_have_been_created=True)
        self.response = response
        self.status_code = response.status_code
        self.api_version: str | None = response.headers.get("X-Api-Version")

    def _details(self) -> str:
        version = f"X-Api-Version: {self.api_version}; " if self.api_version else ""
        return version + super()._details()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.args[0]!r}, status_code={self.status_code}, "
            f"api_version={self.api_version!r})"
        )


def describe_status(response: httpx.Response) -> str:
    """``"404 Not Found"``; ``"520 (non-standard status)"`` when there is no reason phrase."""
    status = response.status_code
    reason = response.reason_phrase or httpx.codes.get_reason_phrase(status)
    return f"{status} {reason}" if reason else f"{status} (non-standard status)"


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_for_status(status_code: int) -> tuple[type[APIStatusError], bool]:
    """The error class for a non-2xx status, and whether the activity may exist.

    >>> error_for_status(404)
    (<class 'spp_activities.errors.NotFoundError'>, False)
    >>> error_for_status(520)
    (<class 'spp_activities.errors.ServerError'>, True)
    """
    cls = _BY_STATUS.get(status_code)
    if cls is not None:
        return cls, False
    if 500 <= status_code <= 599:
        return ServerError, status_code != 503
    return APIStatusError, not 400 <= status_code <= 499
