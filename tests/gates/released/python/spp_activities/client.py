"""SPPClient and AsyncSPPClient: the ergonomic layer over the generated ``spp_api``.

The generated layer builds the request (``create_client_activity._get_kwargs``)
and the models; :mod:`spp_activities.replies` reads what comes back. This module
adds configuration, input validation, timeouts, safe retries and logging.

Sync and async share everything but sending and sleeping: :class:`_BaseClient`
validates input and builds the request, :class:`_Call` maps each attempt's
outcome to a success, a retry or a typed error, and the two clients only run the
loop ``send -> decide -> (sleep -> send ...)`` with their own I/O.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from functools import cached_property, partial
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

import httpx
from spp_api.api.client_activities import create_client_activity
from spp_api.models import Activity, ActivityCreate

from .config import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    check_max_retries,
    check_timeout,
    resolve_config,
)
from .errors import (
    ConfigurationError,
    InvalidInputError,
    InvalidResponseError,
    _RequestFailure,
    describe_status,
)
from .replies import connection_error, parse_activity, status_error
from .retry import Retry, RetryPolicy
from .validation import is_blank

__all__ = ["Activities", "ActivityCreator", "AsyncSPPClient", "RawResponse", "SPPClient"]

logger = logging.getLogger("spp_activities")

_T = TypeVar("_T")
_R = TypeVar("_R")
_RawR = TypeVar("_RawR")
_HttpT = TypeVar("_HttpT", httpx.Client, httpx.AsyncClient)
_SleepT = TypeVar("_SleepT")

TimeoutArg = float | httpx.Timeout
#: Per-call extra headers; ``None`` as a value removes a header the client would send.
ExtraHeaders = Mapping[str, str | None]


class _Call:
    """One ``create`` call: its request, its retry budget and the decision after
    each attempt. Shared by the sync and async clients."""

    __slots__ = ("_attempt", "_policy", "_started", "max_retries", "request")

    def __init__(self, request: httpx.Request, max_retries: int, policy: RetryPolicy) -> None:
        self.request = request
        self.max_retries = max_retries
        self._policy = policy
        self._attempt = 0
        self._started = 0.0

    def begin(self) -> httpx.Request:
        """Start an attempt; returns the request to send."""
        self._attempt += 1
        self._started = time.perf_counter()
        return self.request

    def end(self, result: httpx.Response | httpx.RequestError) -> httpx.Response | Retry:
        """The response if the attempt succeeded, a Retry to wait for, or raise."""
        elapsed_ms = (time.perf_counter() - self._started) * 1000.0
        error: _RequestFailure
        if isinstance(result, httpx.Response):
            status = result.status_code
            if status == 201:
                if logger.isEnabledFor(logging.DEBUG):
                    self._log(logging.DEBUG, str(status), elapsed_ms, None)
                return result
            if 200 <= status < 300:
                error = InvalidResponseError(
                    f"{describe_status(result)}, but the contract promises 201 Created",
                    response=result,
                )
            else:
                error = status_error(result)
            outcome = str(status)
        else:
            error = connection_error(result)
            outcome = type(result).__name__
        retry = self._policy.decide(error, self._attempt - 1, self.max_retries)
        self._log(logging.DEBUG if retry is None else logging.INFO, outcome, elapsed_ms, retry)
        if retry is None:
            error.attempts = self._attempt
            if isinstance(result, Exception):
                raise error from result
            raise error
        return retry

    def finish(self, parse: Callable[[httpx.Response], _T], response: httpx.Response) -> _T:
        """``parse(response)``; a reply that breaks the contract says how many attempts
        it took, like every other error."""
        try:
            return parse(response)
        except _RequestFailure as error:
            error.attempts = self._attempt
            raise

    def _log(self, level: int, outcome: str, elapsed_ms: float, retry: Retry | None) -> None:
        logger.log(
            level,
            "%s %s -> %s in %.1f ms (attempt %d of %d)%s",
            self.request.method,
            self.request.url.path,
            outcome,
            elapsed_ms,
            self._attempt,
            self.max_retries + 1,
            "" if retry is None else f"; retrying in {retry.delay:.2f} s: {retry.reason}",
        )


# ---------------------------------------------------------------------------
# Public result types and the `activities` resource.
# ---------------------------------------------------------------------------


class RawResponse:
    """A successful reply before it is parsed, from ``activities.with_raw_response``.

    ``parse()`` returns the :class:`Activity` (and raises InvalidResponseError if
    the body breaks the contract); the reply itself is ``http_response``.
    """

    __slots__ = ("_activity", "http_response")

    def __init__(self, http_response: httpx.Response) -> None:
        self.http_response = http_response
        self._activity: Activity | None = None

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def api_version(self) -> str | None:
        """The ``X-Api-Version`` response header: quote it to SPP support."""
        version: str | None = self.http_response.headers.get("X-Api-Version")
        return version

    def parse(self) -> Activity:
        """The created Activity (parsed once, then cached)."""
        if self._activity is None:
            self._activity = parse_activity(self.http_response)
        return self._activity

    def __repr__(self) -> str:
        return f"<RawResponse [{describe_status(self.http_response)}]>"


_Run = Callable[[int, str, TimeoutArg | None, int | None, ExtraHeaders | None], _R]


class ActivityCreator(Generic[_R]):
    """Creates activities on a client's timeline."""

    __slots__ = ("_run",)

    def __init__(self, run: _Run[_R]) -> None:
        self._run = run

    def create(
        self,
        client_id: int,
        content: str,
        *,
        timeout: TimeoutArg | None = None,
        max_retries: int | None = None,
        extra_headers: ExtraHeaders | None = None,
    ) -> _R:
        """Create an activity for the client ``client_id``.

        Args:
            client_id: the client's user ID, an int >= 1.
            content: the activity's text; at least one non-whitespace character.
            timeout: seconds or an ``httpx.Timeout`` for this call; default: the client's.
            max_retries: retries for this call; default: the client's. 0 disables them.
            extra_headers: headers to add to this request; a ``None`` value removes a
                header the client would send (e.g. ``{"Authorization": None}``).

        Raises:
            InvalidInputError: bad ``client_id`` or ``content``; nothing was sent.
            APIStatusError: the API answered with an error (a subclass per status).
            APIConnectionError: the network failed (APITimeoutError for timeouts).
            InvalidResponseError: the API answered 2xx with a reply that breaks the contract.
        """
        return self._run(client_id, content, timeout, max_retries, extra_headers)


class Activities(ActivityCreator[_R], Generic[_R, _RawR]):
    """``client.activities``. ``client.activities.with_raw_response.create(...)`` takes
    the same arguments and returns a :class:`RawResponse` instead of the Activity."""

    __slots__ = ("with_raw_response",)

    def __init__(self, run: _Run[_R], run_raw: _Run[_RawR]) -> None:
        super().__init__(run)
        self.with_raw_response: ActivityCreator[_RawR] = ActivityCreator(run_raw)


# ---------------------------------------------------------------------------
# The clients.
# ---------------------------------------------------------------------------


def _invalid(argument: str) -> Callable[[str], InvalidInputError]:
    return lambda message: InvalidInputError(message, argument=argument)


def _check_client_id(client_id: object) -> None:
    if type(client_id) is int and client_id >= 1:
        return
    if isinstance(client_id, int) and not isinstance(client_id, bool) and client_id >= 1:
        return  # an int subclass, e.g. an IntEnum
    shown = repr(client_id) if len(repr(client_id)) <= 40 else repr(client_id)[:37] + "..."
    raise InvalidInputError(
        f"client_id must be an int >= 1, got {shown} ({type(client_id).__name__}); "
        "nothing was sent.",
        argument="client_id",
    )


def _check_content(content: object) -> None:
    if not isinstance(content, str):
        raise InvalidInputError(
            f"content must be a str, got {type(content).__name__}; nothing was sent.",
            argument="content",
        )
    if is_blank(content):
        raise InvalidInputError(
            "content must contain at least one non-whitespace character; nothing was sent.",
            argument="content",
        )


#: RFC 9110 field-name (a token); httpx breaks on others (a KeyError for "Ü") and h11
#: refuses them on the wire, after the retries.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: Control characters other than tab; h11 refuses them in a value (CR and LF would split it).
_HEADER_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _apply_extra_headers(request: httpx.Request, extra_headers: ExtraHeaders) -> None:
    for name, value in extra_headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise InvalidInputError(
                f"extra_headers: invalid header name {name!r}.", argument="extra_headers"
            )
        if value is None:
            request.headers.pop(name, None)
        elif isinstance(value, str) and not _HEADER_VALUE_FORBIDDEN.search(value):
            request.headers[name] = value
        else:
            raise InvalidInputError(
                f"extra_headers: the value for {name!r} must be None or a str without line "
                "breaks or other control characters.",
                argument="extra_headers",
            )


class _BaseClient(Generic[_HttpT, _SleepT]):
    """Configuration, request building and the retry decision, shared by both clients."""

    _http_client_class: ClassVar[type[httpx.Client] | type[httpx.AsyncClient]]

    def __init__(
        self,
        workspace_url: str | None = None,
        token: str | None = None,
        *,
        base_url: str | None = None,
        api_version: str | None = None,
        timeout: TimeoutArg = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: _HttpT | None = None,
        retry_policy: RetryPolicy | None = None,
        sleep: _SleepT | None = None,
    ) -> None:
        """Args:
        workspace_url: your workspace's host or URL, e.g. ``"example.spp.co"``;
            ``/api`` is appended. Default: ``$SPP_WORKSPACE_URL``.
        token: the API token. Default: ``$SPP_API_TOKEN``.
        base_url: the API root taken as is, instead of ``workspace_url``
            (e.g. a mock server that serves without ``/api``).
        api_version: the ``X-Api-Version`` to send. Default: ``$SPP_API_VERSION``,
            else ``"2024-03-05"``.
        timeout: seconds or an ``httpx.Timeout``; default connect 5 s, read 30 s,
            write 30 s, pool 10 s. Applies to every request, also with your own
            ``http_client``.
        max_retries: how often to retry a failure after which nothing was created
            (could not connect, 429, 503). Default 2; 0 turns retries off.
        http_client: your own ``httpx.Client`` (``httpx.AsyncClient`` for the async
            client), e.g. for proxies or custom TLS. You close it; the client does not.
        retry_policy: backoff, ``Retry-After`` cap and opting in to retrying
            unknown outcomes; see :class:`spp_activities.retry.RetryPolicy`.
        sleep: replaces ``time.sleep`` (``anyio.sleep`` for the async client)
            between retries, e.g. in tests.

        Raises:
            ConfigurationError: the workspace or token is missing or invalid.
        """
        self._config = resolve_config(
            workspace_url,
            token,
            base_url=base_url,
            api_version=api_version,
            timeout=timeout,
            max_retries=max_retries,
        )
        if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
            raise ConfigurationError(
                f"retry_policy must be a RetryPolicy, got {type(retry_policy).__name__}."
            )
        self._policy = retry_policy or RetryPolicy()
        headers = self._config.headers()
        self._headers_per_request: dict[str, str] = {}
        self._owns_http_client = http_client is None
        if http_client is None:
            self._http: _HttpT = self._new_http_client(headers, self._config.timeout)
        elif isinstance(http_client, self._http_client_class):
            self._http = http_client
            self._headers_per_request = headers  # never change the caller's client
        else:
            raise ConfigurationError(
                f"http_client must be an {self._http_client_class.__module__}."
                f"{self._http_client_class.__name__}, got {type(http_client).__name__}."
            )
        self._sleep: _SleepT = self._default_sleep() if sleep is None else sleep
        self._closed = False

    def _new_http_client(self, headers: dict[str, str], timeout: httpx.Timeout) -> _HttpT:
        raise NotImplementedError

    def _default_sleep(self) -> _SleepT:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        """The API root requests go to, e.g. ``https://example.spp.co/api``."""
        return self._config.base_url

    @property
    def api_version(self) -> str:
        return self._config.api_version

    @property
    def timeout(self) -> httpx.Timeout:
        return self._config.timeout

    @property
    def max_retries(self) -> int:
        return self._config.max_retries

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._policy

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, "
            f"api_version={self.api_version!r}, max_retries={self.max_retries})"
        )

    def _prepare(
        self,
        client_id: int,
        content: str,
        timeout: TimeoutArg | None,
        max_retries: int | None,
        extra_headers: ExtraHeaders | None,
    ) -> _Call:
        """Validate the input and build the request; nothing is sent."""
        if self._closed:
            raise RuntimeError(
                f"This {type(self).__name__} is closed; create a new one to send requests."
            )
        _check_client_id(client_id)
        _check_content(content)
        kwargs = create_client_activity._get_kwargs(
            int(client_id),  # an int subclass (e.g. an IntEnum) is formatted into the path
            body=ActivityCreate(content=content),
            x_api_version=self._config.api_version,
        )
        headers = kwargs["headers"]
        if self._headers_per_request:
            headers = {**self._headers_per_request, **headers}
        try:
            request = self._http.build_request(
                kwargs["method"],
                self._config.base_url + kwargs["url"],
                json=kwargs["json"],
                headers=headers,
                timeout=self._config.timeout
                if timeout is None
                else check_timeout(timeout, _invalid("timeout")),
            )
        except UnicodeEncodeError:
            raise InvalidInputError(
                "content contains characters that cannot be encoded as UTF-8 "
                "(e.g. a lone surrogate); nothing was sent.",
                argument="content",
            ) from None
        if extra_headers:
            _apply_extra_headers(request, extra_headers)
        retries = (
            self._config.max_retries
            if max_retries is None
            else check_max_retries(max_retries, _invalid("max_retries"))
        )
        return _Call(request, retries, self._policy)


class SPPClient(_BaseClient[httpx.Client, Callable[[float], object]]):
    """The client for SPP's client-activity API.

    >>> with SPPClient() as client:  # doctest: +SKIP
    ...     activity = client.activities.create(1, "Client called about the invoice.")

    Use it as a context manager, or call :meth:`close`, to close its connections.
    """

    _http_client_class = httpx.Client

    def _new_http_client(self, headers: dict[str, str], timeout: httpx.Timeout) -> httpx.Client:
        return httpx.Client(headers=headers, timeout=timeout, follow_redirects=False)

    def _default_sleep(self) -> Callable[[float], object]:
        return time.sleep

    @cached_property
    def activities(self) -> Activities[Activity, RawResponse]:
        """Create activities: ``client.activities.create(client_id, content)``."""
        return Activities(partial(self._run, parse_activity), partial(self._run, RawResponse))

    def _run(
        self,
        finish: Callable[[httpx.Response], _T],
        client_id: int,
        content: str,
        timeout: TimeoutArg | None,
        max_retries: int | None,
        extra_headers: ExtraHeaders | None,
    ) -> _T:
        call = self._prepare(client_id, content, timeout, max_retries, extra_headers)
        while True:
            request = call.begin()
            result: httpx.Response | httpx.RequestError
            try:
                result = self._http.send(request)
            except httpx.RequestError as exc:
                result = exc
            step = call.end(result)
            if isinstance(step, httpx.Response):
                return call.finish(finish, step)
            self._sleep(step.delay)

    def close(self) -> None:
        """Close the connections, unless the httpx.Client was passed in by you. The client
        cannot be used afterwards; closing it again does nothing."""
        self._closed = True
        if self._owns_http_client:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


async def _anyio_sleep(seconds: float) -> None:
    import anyio  # httpx's own dependency; imported on the first retry only

    await anyio.sleep(seconds)


class AsyncSPPClient(_BaseClient[httpx.AsyncClient, Callable[[float], Awaitable[object]]]):
    """The async twin of :class:`SPPClient`: the same arguments and behaviour, with ``await``.

    >>> async with AsyncSPPClient() as client:  # doctest: +SKIP
    ...     activity = await client.activities.create(1, "Client called about the invoice.")
    """

    _http_client_class = httpx.AsyncClient

    def _new_http_client(
        self, headers: dict[str, str], timeout: httpx.Timeout
    ) -> httpx.AsyncClient:
        return httpx.AsyncClient(headers=headers, timeout=timeout, follow_redirects=False)

    def _default_sleep(self) -> Callable[[float], Awaitable[object]]:
        return _anyio_sleep

    @cached_property
    def activities(
        self,
    ) -> Activities[Coroutine[Any, Any, Activity], Coroutine[Any, Any, RawResponse]]:
        """Create activities: ``await client.activities.create(client_id, content)``."""
        return Activities(partial(self._run, parse_activity), partial(self._run, RawResponse))

    async def _run(
        self,
        finish: Callable[[httpx.Response], _T],
        client_id: int,
        content: str,
        timeout: TimeoutArg | None,  # noqa: ASYNC109 - the HTTP timeout handed to httpx
        max_retries: int | None,
        extra_headers: ExtraHeaders | None,
    ) -> _T:
        call = self._prepare(client_id, content, timeout, max_retries, extra_headers)
        while True:
            request = call.begin()
            result: httpx.Response | httpx.RequestError
            try:
                result = await self._http.send(request)
            except httpx.RequestError as exc:
                result = exc
            step = call.end(result)
            if isinstance(step, httpx.Response):
                return call.finish(finish, step)
            await self._sleep(step.delay)

    async def aclose(self) -> None:
        """Close the connections, unless the httpx.AsyncClient was passed in by you. The
        client cannot be used afterwards; closing it again does nothing."""
        self._closed = True
        if self._owns_http_client:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
