"""``client.activities``: the API's one operation, as a resource of each client.

:class:`Activities` (sync) and :class:`AsyncActivities` (a real ``async def
create``), each with a ``with_raw_response`` twin that returns a
:class:`RawResponse` instead of the parsed Activity. A resource only names the
operation and its arguments; the client it belongs to sends it (its
``_create``). Per-call options are one :class:`~spp_activities.config.RequestOptions`.

On the class, ``SPPClient.activities`` is the resource class itself, so that
``unittest.mock.create_autospec(AsyncSPPClient, instance=True).activities.create``
is an awaitable mock with ``create``'s signature.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Generic, Protocol, TypeVar, Unpack, overload

import httpx
from spp_api.models import Activity, ActivityCreate

from .config import RequestOptions, RequestOptionsArgs, request_options
from .errors import describe_status
from .replies import parse_activity

__all__ = [
    "Activities",
    "ActivitiesWithRawResponse",
    "AsyncActivities",
    "AsyncActivitiesWithRawResponse",
    "RawResponse",
    "cached_resource",
]

_T = TypeVar("_T")
_ResourceT = TypeVar("_ResourceT")


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


class cached_resource(Generic[_ResourceT]):
    """Like ``functools.cached_property`` for a resource built from its owner; read on
    the class, it is the resource class (which autospec then follows)."""

    def __init__(self, resource: Callable[[Any], _ResourceT]) -> None:
        self._resource = resource
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Callable[[Any], _ResourceT]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> _ResourceT: ...
    def __get__(self, instance: object, owner: type) -> Any:
        if instance is None:
            return self._resource
        value = self._resource(instance)
        instance.__dict__[self._name] = value  # later look-ups never reach here
        return value


_Parse = Callable[[httpx.Response], _T]


class _Sends(Protocol):
    def _create(
        self,
        client_id: int,
        content: str | ActivityCreate,
        options: RequestOptions,
        parse: _Parse[_T],
    ) -> _T: ...


class _SendsAsync(Protocol):
    def _create(
        self,
        client_id: int,
        content: str | ActivityCreate,
        options: RequestOptions,
        parse: _Parse[_T],
    ) -> Coroutine[Any, Any, _T]: ...


class ActivitiesWithRawResponse:
    """``client.activities.with_raw_response``: ``create`` returns a RawResponse."""

    def __init__(self, activities: Activities) -> None:
        self._client = activities._client

    def create(
        self, client_id: int, content: str | ActivityCreate, **options: Unpack[RequestOptionsArgs]
    ) -> RawResponse:
        """Like ``activities.create``, but returns the RawResponse (status, headers,
        ``parse()``); error statuses still raise the typed errors."""
        return self._client._create(client_id, content, request_options(options), RawResponse)


class Activities:
    """``client.activities``: create activities on a client's timeline."""

    with_raw_response = cached_resource(ActivitiesWithRawResponse)

    def __init__(self, client: _Sends) -> None:
        self._client = client

    def create(
        self, client_id: int, content: str | ActivityCreate, **options: Unpack[RequestOptionsArgs]
    ) -> Activity:
        """Create an activity for the client ``client_id``.

        Args:
            client_id: the client's user ID, an int >= 1.
            content: the activity's text (at least one non-whitespace character), or a
                generated ``spp_api.models.ActivityCreate`` carrying it and any other
                property openapi.yaml defines; checked against the contract.
            **options: for this call only (see RequestOptions): ``timeout``,
                ``max_retries``, ``attempt_deadline``, ``call_deadline`` and
                ``extra_headers``; each defaults to the client's.

        Raises:
            InvalidInputError: bad ``client_id``, ``content`` or option; nothing was sent.
            APIStatusError: the API answered with an error (a subclass per status).
            APIConnectionError: the network failed (APITimeoutError for timeouts and
                deadlines).
            InvalidResponseError: the API answered 2xx with a reply that breaks the
                contract, or a reply larger than the client's ``max_response_bytes``.
        """
        return self._client._create(client_id, content, request_options(options), parse_activity)


class AsyncActivitiesWithRawResponse:
    """``client.activities.with_raw_response`` of AsyncSPPClient."""

    def __init__(self, activities: AsyncActivities) -> None:
        self._client = activities._client

    async def create(
        self, client_id: int, content: str | ActivityCreate, **options: Unpack[RequestOptionsArgs]
    ) -> RawResponse:
        """Like ``activities.create``, but returns the RawResponse (status, headers,
        ``parse()``); error statuses still raise the typed errors."""
        return await self._client._create(client_id, content, request_options(options), RawResponse)


class AsyncActivities:
    """``client.activities`` of AsyncSPPClient: ``await client.activities.create(...)``."""

    with_raw_response = cached_resource(AsyncActivitiesWithRawResponse)

    def __init__(self, client: _SendsAsync) -> None:
        self._client = client

    async def create(
        self, client_id: int, content: str | ActivityCreate, **options: Unpack[RequestOptionsArgs]
    ) -> Activity:
        """Create an activity for the client ``client_id``: :meth:`Activities.create`,
        awaited; the same arguments, options and errors."""
        return await self._client._create(
            client_id, content, request_options(options), parse_activity
        )
