"""Every error pickles and unpickles to an equal error, without the token: also out
of a real ProcessPoolExecutor worker, which used to break the pool."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import pickle
from typing import Any

import httpx
import pytest
import spp_activities
from spp_activities import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    InvalidInputError,
    InvalidResponseError,
    NotFoundError,
    SPPClient,
    SPPError,
    errors,
)

TOKEN = "sk-test-Pk1-never-in-a-pickle"
PROXY_SECRET = "proxy-pass-Qz9"


def reply(status: int, body: bytes = b'{"message": "No."}') -> httpx.Response:
    request = httpx.Request(
        "POST",
        "https://example.spp.co/api/clients/1/activities",
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "Proxy-Authorization": f"Basic {PROXY_SECRET}",
            "X-Api-Version": "2024-03-05",
        },
        json={"content": "x"},
    )
    return httpx.Response(
        status,
        content=body,
        headers={"X-Api-Version": "2024-03-05", "Content-Type": "application/json"},
        request=request,
    )


def status_error(cls: type[APIStatusError], status: int) -> APIStatusError:
    return cls(
        response=reply(status),
        message="No.",
        errors={"content": ["Too long."]},
        retry_after=3.0 if status == 429 else None,
        attempts=2,
    )


def every_error() -> list[SPPError]:
    made: list[SPPError] = [
        SPPError("base", may_have_been_created=True),
        ConfigurationError("Missing the API token."),
        InvalidInputError("client_id must be an int >= 1", argument="client_id"),
        APIError("failed", may_have_been_created=True, attempts=3),
        APIConnectionError("Could not connect", may_have_been_created=False, attempts=3),
        APITimeoutError("Gave up: the call deadline passed", may_have_been_created=True),
        InvalidResponseError("201 Created, but the reply is not JSON", response=reply(201, b"<")),
    ]
    for cls, status in [
        (errors.BadRequestError, 400),
        (errors.AuthenticationError, 401),
        (errors.PermissionDeniedError, 403),
        (errors.NotFoundError, 404),
        (errors.UnprocessableEntityError, 422),
        (errors.RateLimitError, 429),
        (errors.ServerError, 502),
        (APIStatusError, 418),
    ]:
        made.append(status_error(cls, status))
    return made


def test_every_error_class_is_covered() -> None:
    classes = {
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, SPPError) and obj.__name__[0] != "_"
    }
    assert {type(error) for error in every_error()} == classes


@pytest.mark.parametrize("error", every_error(), ids=lambda e: type(e).__name__)
def test_an_error_unpickles_equal_and_without_the_token(error: SPPError) -> None:
    data = pickle.dumps(error)
    assert TOKEN.encode() not in data
    assert PROXY_SECRET.encode() not in data
    copy = pickle.loads(data)
    assert type(copy) is type(error)
    assert copy == error
    assert hash(copy) == hash(error)
    assert str(copy) == str(error)
    assert repr(copy) == repr(error)
    assert copy.may_have_been_created is error.may_have_been_created
    for name in ("attempts", "status_code", "message", "errors", "api_version", "argument"):
        assert getattr(copy, name, None) == getattr(error, name, None)
    response = getattr(copy, "response", None)
    if response is not None:
        assert response.content == error.response.content  # type: ignore[attr-defined]
        assert "Authorization" not in response.request.headers
        assert response.request.url == error.response.request.url  # type: ignore[attr-defined]
        assert response.request.headers["X-Api-Version"] == "2024-03-05"


def test_errors_that_differ_are_not_equal() -> None:
    a = status_error(NotFoundError, 404)
    b = status_error(NotFoundError, 404)
    assert a == b
    b.attempts = 3
    assert a != b
    assert status_error(errors.BadRequestError, 400) != status_error(APIStatusError, 400)
    assert InvalidInputError("x", argument="a") != InvalidInputError("x", argument="b")
    assert SPPError("x") != ValueError("x")


# --- through a real process pool -----------------------------------------------


def raise_status_error() -> None:
    raise status_error(NotFoundError, 404)


def raise_from_a_real_call(workspace_url: str, token: str) -> None:
    with SPPClient(workspace_url, token) as client:
        client.activities.create(99_999, "Nobody home.")


@pytest.fixture
def pool() -> Any:
    # fork: the worker functions live in this test module, which a spawned child
    # could not import under --import-mode=importlib
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as executor:
        yield executor


def test_an_error_raised_in_a_worker_process_arrives_equal(pool: Any) -> None:
    future = pool.submit(raise_status_error)
    with pytest.raises(NotFoundError) as caught:
        future.result(timeout=60)
    assert caught.value == status_error(NotFoundError, 404)
    assert "Authorization" not in caught.value.response.request.headers
    # the pool survived (no BrokenProcessPool)
    assert pool.submit(pow, 2, 5).result(timeout=60) == 32


def test_an_error_from_a_real_call_in_a_worker_process(pool: Any, sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(tokens=[TOKEN])
    future = pool.submit(raise_from_a_real_call, sandbox.url, TOKEN)
    with pytest.raises(NotFoundError) as caught:
        future.result(timeout=60)
    error = caught.value
    assert error.status_code == 404
    assert error.message == "Client not found."
    assert error.may_have_been_created is False
    assert TOKEN not in repr(error.response.request.headers)
    assert TOKEN.encode() not in pickle.dumps(error)
    assert pool.submit(pow, 2, 5).result(timeout=60) == 32


def test_apierror_is_public() -> None:
    assert spp_activities.APIError is APIError
    assert "APIError" in spp_activities.__all__
