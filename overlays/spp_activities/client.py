"""SPPClient and AsyncSPPClient: the ergonomic layer over the generated ``spp_api``.

The generated layer builds the request (``create_client_activity._get_kwargs``)
and the models; :mod:`spp_activities.replies` reads what comes back and
:mod:`spp_activities.transport` bounds what crosses the wire. This module adds
configuration, input validation, deadlines, safe retries and logging.

Sync and async share everything but sending and sleeping: :class:`_BaseClient`
validates input and builds the request, :class:`_Call` maps each attempt's
outcome to a success, a retry or a typed error (and keeps the deadlines), and the
two clients only run the loop ``send -> decide -> (sleep -> send ...)`` with their
own I/O.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

import anyio
import httpx
from spp_api.api.client_activities import create_client_activity
from spp_api.models import ActivityCreate

from .config import (
    DEFAULT_ATTEMPT_DEADLINE,
    DEFAULT_CALL_DEADLINE,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ClientConfig,
    RequestOptions,
    Token,
    check_max_response_bytes,
    check_max_retries,
    check_seconds,
    check_timeout,
    resolve_config,
)
from .errors import (
    APIError,
    APITimeoutError,
    ConfigurationError,
    InvalidInputError,
    InvalidResponseError,
    describe_status,
    describe_value,
    error_for_status,
)
from .logs import logger, setup_from_environment
from .replies import connection_error, status_error
from .request_body import activity_create
from .resources import (
    Activities,
    AsyncActivities,
    RawResponse,
    cached_resource,
)
from .retry import Retry, RetryPolicy
from .transport import (
    ATTEMPT_DEADLINE,
    NO_AUTH,
    BearerAuth,
    BodyReader,
    ReplyTooLarge,
    fits_as_is,
    forget_credentials,
    new_async_http_client,
    new_http_client,
    refuse_proxied_plain_http,
)

__all__ = ["AsyncSPPClient", "RawResponse", "SPPClient"]

setup_from_environment()

_T = TypeVar("_T")
_HttpT = TypeVar("_HttpT", httpx.Client, httpx.AsyncClient)
_SleepT = TypeVar("_SleepT")

TimeoutArg = float | httpx.Timeout

#: The largest client ID sent: a 64-bit signed integer, as IDs are stored.
_MAX_CLIENT_ID_BITS = 63


class _DeadlinePassed(Exception):
    """An attempt ran out of time; ``sent``: whether the request may have gone out
    (``None``: the transport did not say)."""

    def __init__(self, sent: bool | None) -> None:
        super().__init__("deadline passed")
        self.sent = sent


def _without_tracebacks(error: BaseException | None) -> None:
    """Drop the tracebacks of httpx's exceptions chained to ours: their frames (down
    in httpcore) hold the request headers, which a traceback that captures locals
    would print. The messages stay."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        error.__traceback__ = None
        error = error.__cause__ or error.__context__


class _Call:
    """One ``create`` call: its request, its settings, its deadlines, and the decision
    after each attempt. Shared by the sync and async clients."""

    __slots__ = (
        "_attempt",
        "_call_deadline",
        "_policy",
        "_started",
        "attempt_deadline",
        "auth",
        "request",
        "sent",
        "settings",
    )

    def __init__(
        self,
        request: httpx.Request,
        settings: ClientConfig,
        policy: RetryPolicy,
        auth: httpx.Auth,
    ) -> None:
        self.request = request
        self.settings = settings
        self.auth = auth
        self._policy = policy
        self._attempt = 0
        self._started = 0.0
        self._call_deadline = time.monotonic() + settings.call_deadline
        self.attempt_deadline = self._call_deadline
        self.sent: bool | None = None

    def begin(self) -> httpx.Request:
        """Start an attempt: its deadline, and each phase's timeout clipped to it."""
        self._attempt += 1
        now = self._started = time.monotonic()
        self.attempt_deadline = min(now + self.settings.attempt_deadline, self._call_deadline)
        self.sent = None
        left = self.attempt_deadline - now
        phases = self.settings.timeout.as_dict()
        if any(seconds is None or seconds > left for seconds in phases.values()):
            self.request.extensions["timeout"] = {
                phase: left if seconds is None else min(seconds, left)
                for phase, seconds in phases.items()
            }
        return self.request

    def time_left(self) -> float:
        return max(0.0, self.attempt_deadline - time.monotonic())

    def passed(self) -> bool:
        return time.monotonic() >= self.attempt_deadline

    async def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's ``trace`` extension: learns whether the request went out. Once
        it has, it unsubscribes (httpcore looks the extension up at every event)."""
        if "send_request_headers" in event:
            self.sent = True
            self.request.extensions.pop("trace", None)
        elif self.sent is None:
            self.sent = False

    def reader(self, response: httpx.Response) -> BodyReader | None:
        """None when the reply can be read whole (see ``fits_as_is``), else a reader
        for its chunks."""
        if fits_as_is(response, self.settings.max_response_bytes):
            return None
        return BodyReader(response, self.settings.max_response_bytes)

    def end(self, result: httpx.Response | Exception) -> httpx.Response | Retry:
        """The response if the attempt succeeded, a Retry to wait for, or raise."""
        forget_credentials(self.request)
        elapsed_ms = (time.monotonic() - self._started) * 1000.0
        error: APIError
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
            error = self._error_for(result)
            outcome = {_DeadlinePassed: "deadline passed", ReplyTooLarge: "reply too large"}.get(
                type(result), type(result).__name__
            )
        retry = self._policy.decide(error, self._attempt - 1, self.settings.max_retries)
        note = ""
        if retry is not None and time.monotonic() + retry.delay >= self._call_deadline:
            retry, note = None, "; not retried: the wait would pass the call deadline"
        self._log(
            logging.DEBUG if retry is None else logging.INFO, outcome, elapsed_ms, retry, note
        )
        if retry is None:
            error.attempts = self._attempt
            if isinstance(result, httpx.RequestError):
                _without_tracebacks(result)
                raise error from result
            raise error
        return retry

    def _error_for(self, result: Exception) -> APIError:
        if isinstance(result, ReplyTooLarge):
            response = result.response
            error = InvalidResponseError(
                f"{describe_status(response)}, but the reply is larger than "
                f"max_response_bytes ({result.limit} bytes); the rest was not read",
                response=response,
            )
            if not 200 <= response.status_code < 300:
                error.may_have_been_created = error_for_status(response.status_code)[1]
            return error
        if isinstance(result, _DeadlinePassed):
            return self._deadline_error(result.sent)
        if not isinstance(result, httpx.RequestError):
            raise result
        mapped = connection_error(result)
        if isinstance(result, httpx.TimeoutException) and self.passed():
            return self._deadline_error(mapped.may_have_been_created)
        return mapped

    def _deadline_error(self, sent: bool | None) -> APITimeoutError:
        settings = self.settings
        whole_call = self.attempt_deadline >= self._call_deadline
        which, seconds = (
            ("call", settings.call_deadline)
            if whole_call
            else ("attempt", settings.attempt_deadline)
        )
        sent = True if sent is None else sent
        when = "after the request was sent" if sent else "before the request was sent"
        return APITimeoutError(
            f"Gave up: the {which} deadline ({which}_deadline={seconds:g} s) passed {when}",
            may_have_been_created=sent,
        )

    def finish(self, parse: Callable[[httpx.Response], _T], response: httpx.Response) -> _T:
        """``parse(response)``; a reply that breaks the contract says how many attempts
        it took, like every other error."""
        try:
            return parse(response)
        except APIError as error:
            error.attempts = self._attempt
            raise

    def _log(
        self, level: int, outcome: str, elapsed_ms: float, retry: Retry | None, note: str = ""
    ) -> None:
        logger.log(
            level,
            "%s %s -> %s in %.1f ms (attempt %d of %d)%s%s",
            self.request.method,
            self.request.url.path,
            outcome,
            elapsed_ms,
            self._attempt,
            self.settings.max_retries + 1,
            "" if retry is None else f"; retrying in {retry.delay:.2f} s: {retry.reason}",
            note,
        )


# ---------------------------------------------------------------------------
# Input checks (the body's are in request_body.py).
# ---------------------------------------------------------------------------


def _check_client_id(client_id: object) -> None:
    if isinstance(client_id, int) and not isinstance(client_id, bool):
        bits = client_id.bit_length()
        if client_id >= 1 and bits <= _MAX_CLIENT_ID_BITS:
            return  # an int, or an int subclass such as an IntEnum
        if bits > _MAX_CLIENT_ID_BITS:
            raise InvalidInputError(
                f"client_id must be an int >= 1 and < 2**63, got a {bits}-bit int; "
                "nothing was sent.",
                argument="client_id",
            )
    raise InvalidInputError(
        f"client_id must be an int >= 1, got {describe_value(client_id)} "
        f"({type(client_id).__name__}); "
        "nothing was sent.",
        argument="client_id",
    )


def _headers_of_every_call(api_version: str) -> dict[str, str]:
    """The headers the generated layer sets on each create for this API version
    (``X-Api-Version``, ``Content-Type``): the own pool sends them by default, so that
    a call need not merge them in again."""
    kwargs = create_client_activity._get_kwargs(
        1, body=ActivityCreate(content="-"), x_api_version=api_version
    )
    headers: dict[str, str] = kwargs["headers"]
    return headers


#: Parsing a URL is the largest part of building an httpx request (~15 us, as much as
#: the rest of the overlay's work together), so each client ID's URL is parsed once while
#: it is among the last 1,024 used; a call to any other pays the parse, as before.
_url = functools.lru_cache(maxsize=1024)(httpx.URL)


# ---------------------------------------------------------------------------
# The clients.
# ---------------------------------------------------------------------------


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
        attempt_deadline: float = DEFAULT_ATTEMPT_DEADLINE,
        call_deadline: float = DEFAULT_CALL_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
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
        timeout: seconds or an ``httpx.Timeout``, per socket operation; default
            connect 5 s, read 30 s, write 30 s, pool 10 s. Applies to every request,
            also with your own ``http_client``.
        max_retries: how often to retry a failure after which nothing was created
            (could not connect, 429, 503). Default 2; 0 turns retries off.
        attempt_deadline: seconds one attempt may take in all, from sending to the
            reply's last byte (a server that trickles bytes cannot hold it). Default 60.
        call_deadline: seconds a whole call may take, retries and their waits
            included. Default 180. A retry whose wait would pass it is not made.
        max_response_bytes: the largest reply body read, after decompression;
            beyond it the call raises InvalidResponseError. Default 1 MiB.
        http_client: your own ``httpx.Client`` (``httpx.AsyncClient`` for the async
            client), e.g. for proxies or custom TLS. You close it; the client does not.
        retry_policy: backoff, ``Retry-After`` cap and opting in to retrying
            unknown outcomes; see :class:`spp_activities.retry.RetryPolicy`.
        sleep: replaces ``time.sleep`` (``anyio.sleep`` for the async client)
            between retries, e.g. in tests.

        Raises:
            ConfigurationError: the workspace, token or an option is missing or invalid.
        """
        secret = Token(token)  # first of all: no frame below holds the token in the clear
        del token
        config = resolve_config(
            workspace_url,
            secret,
            base_url=base_url,
            api_version=api_version,
            timeout=timeout,
            max_retries=max_retries,
            attempt_deadline=attempt_deadline,
            call_deadline=call_deadline,
            max_response_bytes=max_response_bytes,
        )
        del secret
        if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
            raise ConfigurationError(
                f"retry_policy must be a RetryPolicy, got {type(retry_policy).__name__}."
            )
        headers_per_request: dict[str, str] = {}
        pool_headers: dict[str, str] = {}
        if http_client is None:
            pool_headers = {**config.headers(), **_headers_of_every_call(config.api_version)}
            http = self._new_http_client(config, pool_headers)
        elif isinstance(http_client, self._http_client_class):
            refuse_proxied_plain_http(http_client, config.base_url)
            http = http_client
            headers_per_request = config.headers()  # never change the caller's client
        else:
            raise ConfigurationError(
                f"http_client must be an {self._http_client_class.__module__}."
                f"{self._http_client_class.__name__}, got {type(http_client).__name__}."
            )
        self._setup(
            config,
            retry_policy or RetryPolicy(),
            http,
            owns_http_client=http_client is None,
            own_pool=http_client is None,
            headers_per_request=headers_per_request,
            pool_headers=pool_headers,
            sleep=self._default_sleep() if sleep is None else sleep,
        )

    def _setup(
        self,
        config: ClientConfig,
        policy: RetryPolicy,
        http: _HttpT,
        *,
        owns_http_client: bool,
        own_pool: bool,
        headers_per_request: dict[str, str],
        pool_headers: dict[str, str],
        sleep: _SleepT,
    ) -> None:
        self._config = config
        self._policy = policy
        self._http: _HttpT = http
        self._owns_http_client = owns_http_client  # closes it
        self._own_pool = own_pool  # built here (also in a copy): socket operations clipped
        self._headers_per_request = headers_per_request
        self._pool_headers = pool_headers
        self._auth = BearerAuth(config.token)
        self._sleep = sleep
        self._closed = False

    def _new_http_client(self, config: ClientConfig, headers: dict[str, str]) -> _HttpT:
        raise NotImplementedError

    def _default_sleep(self) -> _SleepT:
        raise NotImplementedError

    def with_options(
        self,
        *,
        timeout: TimeoutArg | None = None,
        max_retries: int | None = None,
        attempt_deadline: float | None = None,
        call_deadline: float | None = None,
        max_response_bytes: int | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> Self:
        """A copy of this client with other settings, sharing its connection pool.

        >>> fast = client.with_options(timeout=2.0, max_retries=0)  # doctest: +SKIP

        The copy never closes the pool; closing this client closes it for both.

        Raises:
            ConfigurationError: an option is invalid.
        """
        changes: dict[str, Any] = {}
        if timeout is not None:
            changes["timeout"] = check_timeout(timeout)
        if max_retries is not None:
            changes["max_retries"] = check_max_retries(max_retries)
        for name, seconds in (
            ("attempt_deadline", attempt_deadline),
            ("call_deadline", call_deadline),
        ):
            if seconds is not None:
                changes[name] = check_seconds(seconds, name)
        if max_response_bytes is not None:
            changes["max_response_bytes"] = check_max_response_bytes(max_response_bytes)
        if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
            raise ConfigurationError(
                f"retry_policy must be a RetryPolicy, got {type(retry_policy).__name__}."
            )
        copy = type(self).__new__(type(self))
        copy._setup(
            dataclasses.replace(self._config, **changes),
            retry_policy or self._policy,
            self._http,
            owns_http_client=False,
            own_pool=self._own_pool,
            headers_per_request=self._headers_per_request,
            pool_headers=self._pool_headers,
            sleep=self._sleep,
        )
        return copy

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
    def attempt_deadline(self) -> float:
        return self._config.attempt_deadline

    @property
    def call_deadline(self) -> float:
        return self._config.call_deadline

    @property
    def max_response_bytes(self) -> int:
        return self._config.max_response_bytes

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._policy

    def __repr__(self) -> str:
        # Safe on a half-built client too (a traceback that captures locals calls it).
        config = self.__dict__.get("_config")
        if not isinstance(config, ClientConfig):
            return f"{type(self).__name__}(<not configured>)"
        return (
            f"{type(self).__name__}(base_url={config.base_url!r}, "
            f"api_version={config.api_version!r}, max_retries={config.max_retries})"
        )

    def _prepare(
        self, client_id: int, content: str | ActivityCreate, options: RequestOptions
    ) -> _Call:
        """Validate the input and build the request; nothing is sent."""
        if self._closed or self._http.is_closed:
            raise RuntimeError(
                f"This {type(self).__name__} is closed; create a new one to send requests."
            )
        _check_client_id(client_id)
        body = activity_create(content)
        settings = self._config.for_call(options)
        kwargs = create_client_activity._get_kwargs(
            int(client_id),  # an int subclass (e.g. an IntEnum) is formatted into the path
            body=body,
            x_api_version=settings.api_version,
        )
        headers = kwargs["headers"]
        if self._headers_per_request:
            headers = {**self._headers_per_request, **headers}
        elif headers.items() <= self._pool_headers.items():
            headers = None  # the own pool sends them on every request already
        try:
            request = self._http.build_request(
                kwargs["method"],
                _url(settings.base_url + kwargs["url"]),
                json=kwargs["json"],
                headers=headers,
                timeout=settings.timeout,
            )
        except UnicodeEncodeError:
            raise InvalidInputError(
                "content contains characters that cannot be encoded as UTF-8 "
                "(e.g. a lone surrogate); nothing was sent.",
                argument="content",
            ) from None
        auth: httpx.Auth = self._auth
        for name, value in (options.extra_headers or {}).items():
            if name.lower() == "authorization":  # set as it is sent, like the token
                auth = NO_AUTH if value is None else BearerAuth(Token(value), scheme=None)
            elif value is None:
                request.headers.pop(name, None)
            else:
                request.headers[name] = value
        return _Call(request, settings, self._policy, auth)


class SPPClient(_BaseClient[httpx.Client, Callable[[float], object]]):
    """The client for SPP's client-activity API.

    >>> with SPPClient() as client:  # doctest: +SKIP
    ...     activity = client.activities.create(1, "Client called about the invoice.")

    Use it as a context manager, or call :meth:`close`, to close its connections.
    """

    _http_client_class = httpx.Client

    activities = cached_resource(Activities)
    """Create activities: ``client.activities.create(client_id, content)``."""

    def _new_http_client(self, config: ClientConfig, headers: dict[str, str]) -> httpx.Client:
        return new_http_client(config, headers)

    def _default_sleep(self) -> Callable[[float], object]:
        return time.sleep

    def _create(
        self,
        client_id: int,
        content: str | ActivityCreate,
        options: RequestOptions,
        parse: Callable[[httpx.Response], _T],
    ) -> _T:
        call = self._prepare(client_id, content, options)
        while True:
            step = call.end(self._attempt(call))
            if isinstance(step, httpx.Response):
                return call.finish(parse, step)
            self._sleep(step.delay)

    def _attempt(self, call: _Call) -> httpx.Response | Exception:
        """Send once and read the reply within the deadline and the size cap."""
        request = call.begin()
        deadline = ATTEMPT_DEADLINE.set(call.attempt_deadline)
        try:
            response = self._http.send(request, stream=True, auth=call.auth, follow_redirects=False)
            try:
                reader = call.reader(response)
                if reader is None and self._own_pool:
                    # Every socket read of the own pool ends by the deadline.
                    result = response
                    response.read()
                else:
                    # Your own httpx.Client: the deadline is checked between chunks.
                    reader = reader or BodyReader(response, call.settings.max_response_bytes)
                    already = reader.already_read()
                    if already is not None:
                        result = already
                    else:
                        for chunk in response.iter_raw():
                            reader.feed(chunk)
                            if call.passed():
                                raise _DeadlinePassed(sent=True)
                        result = reader.response()
            finally:
                response.close()
            if result is not response:
                result.elapsed = response.elapsed
            return result
        except (httpx.RequestError, ReplyTooLarge, _DeadlinePassed) as exc:
            return exc
        finally:
            ATTEMPT_DEADLINE.reset(deadline)

    def close(self) -> None:
        """Close the connections, unless the httpx.Client was passed in by you (or this
        is a copy from ``with_options``). The client cannot be used afterwards; closing
        it again does nothing."""
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


class AsyncSPPClient(_BaseClient[httpx.AsyncClient, Callable[[float], Awaitable[object]]]):
    """The async twin of :class:`SPPClient`: the same arguments and behaviour, with ``await``.

    >>> async with AsyncSPPClient() as client:  # doctest: +SKIP
    ...     activity = await client.activities.create(1, "Client called about the invoice.")
    """

    _http_client_class = httpx.AsyncClient

    activities = cached_resource(AsyncActivities)
    """Create activities: ``await client.activities.create(client_id, content)``."""

    def _new_http_client(self, config: ClientConfig, headers: dict[str, str]) -> httpx.AsyncClient:
        return new_async_http_client(config, headers)

    def _default_sleep(self) -> Callable[[float], Awaitable[object]]:
        return anyio.sleep

    async def _create(
        self,
        client_id: int,
        content: str | ActivityCreate,
        options: RequestOptions,
        parse: Callable[[httpx.Response], _T],
    ) -> _T:
        call = self._prepare(client_id, content, options)
        while True:
            step = call.end(await self._attempt(call))
            if isinstance(step, httpx.Response):
                return call.finish(parse, step)
            await self._sleep(step.delay)

    async def _attempt(self, call: _Call) -> httpx.Response | Exception:
        """Send once and read the reply within the deadline and the size cap."""
        request = call.begin()
        if self._own_pool:
            # Every socket operation of the own pool ends by the deadline.
            deadline = ATTEMPT_DEADLINE.set(call.attempt_deadline)
            try:
                return await self._exchange(call, request)
            except (httpx.RequestError, ReplyTooLarge) as exc:
                return exc
            finally:
                ATTEMPT_DEADLINE.reset(deadline)
        # Your own httpx.AsyncClient: the attempt runs in a cancel scope.
        request.extensions["trace"] = call.trace
        try:
            with anyio.fail_after(call.time_left()):
                return await self._exchange(call, request)
        except TimeoutError:
            return _DeadlinePassed(call.sent)
        except (httpx.RequestError, ReplyTooLarge) as exc:
            return exc

    async def _exchange(self, call: _Call, request: httpx.Request) -> httpx.Response:
        """The request sent and its reply read, within the size cap."""
        response = await self._http.send(
            request, stream=True, auth=call.auth, follow_redirects=False
        )
        try:
            reader = call.reader(response)
            if reader is None:
                result = response
                await response.aread()
            else:
                already = reader.already_read()
                if already is not None:
                    result = already
                else:
                    async for chunk in response.aiter_raw():
                        reader.feed(chunk)
                    result = reader.response()
        finally:
            await response.aclose()
        if result is not response:
            result.elapsed = response.elapsed
        return result

    async def aclose(self) -> None:
        """Close the connections, unless the httpx.AsyncClient was passed in by you (or
        this is a copy from ``with_options``). The client cannot be used afterwards;
        closing it again does nothing."""
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
