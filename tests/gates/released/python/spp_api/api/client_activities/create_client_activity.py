from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.activity import Activity
from ...models.activity_create import ActivityCreate
from ...models.error import Error
from ...types import UNSET, Response, Unset


def _get_kwargs(
    user: int,
    *,
    body: ActivityCreate,
    x_api_version: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_api_version, Unset):
        headers["X-Api-Version"] = x_api_version

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/clients/{user}/activities".format(
            user=quote(str(user), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Activity | Error | None:
    if response.status_code == 201:
        response_201 = Activity.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Activity | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    user: int,
    *,
    client: AuthenticatedClient,
    body: ActivityCreate,
    x_api_version: str | Unset = UNSET,
) -> Response[Activity | Error]:
    """Create an activity

     Create a new activity for a client.

    Args:
        user (int): The client ID (the client's user ID).
        x_api_version (str | Unset):
        body (ActivityCreate): A new activity for a client's timeline.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Activity | Error]
    """

    kwargs = _get_kwargs(
        user=user,
        body=body,
        x_api_version=x_api_version,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    user: int,
    *,
    client: AuthenticatedClient,
    body: ActivityCreate,
    x_api_version: str | Unset = UNSET,
) -> Activity | Error | None:
    """Create an activity

     Create a new activity for a client.

    Args:
        user (int): The client ID (the client's user ID).
        x_api_version (str | Unset):
        body (ActivityCreate): A new activity for a client's timeline.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Activity | Error
    """

    return sync_detailed(
        user=user,
        client=client,
        body=body,
        x_api_version=x_api_version,
    ).parsed


async def asyncio_detailed(
    user: int,
    *,
    client: AuthenticatedClient,
    body: ActivityCreate,
    x_api_version: str | Unset = UNSET,
) -> Response[Activity | Error]:
    """Create an activity

     Create a new activity for a client.

    Args:
        user (int): The client ID (the client's user ID).
        x_api_version (str | Unset):
        body (ActivityCreate): A new activity for a client's timeline.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Activity | Error]
    """

    kwargs = _get_kwargs(
        user=user,
        body=body,
        x_api_version=x_api_version,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    user: int,
    *,
    client: AuthenticatedClient,
    body: ActivityCreate,
    x_api_version: str | Unset = UNSET,
) -> Activity | Error | None:
    """Create an activity

     Create a new activity for a client.

    Args:
        user (int): The client ID (the client's user ID).
        x_api_version (str | Unset):
        body (ActivityCreate): A new activity for a client's timeline.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Activity | Error
    """

    return (
        await asyncio_detailed(
            user=user,
            client=client,
            body=body,
            x_api_version=x_api_version,
        )
    ).parsed
