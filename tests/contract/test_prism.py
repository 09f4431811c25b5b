"""Contract tests over real HTTP against Prism 5.14.2 mocking openapi.yaml.

Prism runs with --errors: a request that breaks the contract gets an error
status (and an ``sl-violations`` header), so the happy path passing proves our
requests keep the contract. Prism serves without /api, hence ``base_url``.
Both clients run every test.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from spp_activities import (
    Activity,
    AsyncSPPClient,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RawResponse,
    SPPClient,
)

ROOT = Path(__file__).resolve().parents[2]
PRISM = ROOT / "node_modules" / ".bin" / "prism"
TOKEN = "prism-token"
STARTUP_SECONDS = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not PRISM.exists():
        pytest.fail(f"{PRISM} is missing: run `make install` (npm ci) first")
    log_path = tmp_path_factory.mktemp("prism") / "prism.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(PRISM), "mock", "openapi.yaml", "--errors", "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: node and its children
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"Prism exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                # Any answer means it serves; no auth -> 401 by the contract.
                httpx.post(f"{url}/clients/1/activities", json={"content": "ping"}, timeout=2.0)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail(f"Prism did not answer within {STARTUP_SECONDS:.0f} s")
                time.sleep(0.2)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


Create = Callable[..., Any]


@pytest.fixture(params=["sync", "async"])
def create(request: pytest.FixtureRequest, prism_url: str) -> Create:
    """Runs `activities.create` (`.with_raw_response.create` if raw) on a fresh client."""

    def run(*args: Any, raw: bool = False, **options: Any) -> Any:
        def creator(client: Any) -> Any:
            return client.activities.with_raw_response if raw else client.activities

        if request.param == "sync":
            with SPPClient(base_url=prism_url, token=TOKEN, max_retries=0) as client:
                return creator(client).create(*args, **options)

        async def run_async() -> Any:
            async with AsyncSPPClient(base_url=prism_url, token=TOKEN, max_retries=0) as client:
                return await creator(client).create(*args, **options)

        return asyncio.run(run_async())

    return run


def test_happy_path(create: Create) -> None:
    activity = create(1, "Client called to discuss project requirements.")
    assert isinstance(activity, Activity)
    assert activity.id == 1
    assert activity.created_at.tzinfo is not None
    assert activity.author.email == "john@example.com"


def test_the_request_keeps_the_contract(create: Create) -> None:
    raw = create(42, "Called about the invoice", raw=True)
    assert isinstance(raw, RawResponse)
    assert raw.status_code == 201
    assert "sl-violations" not in raw.headers  # Prism found nothing wrong with our request
    assert raw.api_version == "2024-03-05"
    assert raw.parse().content == "Client called to discuss project requirements."


def test_missing_token_is_an_authentication_error(create: Create) -> None:
    with pytest.raises(AuthenticationError) as caught:
        create(1, "x", extra_headers={"Authorization": None})
    error = caught.value
    assert error.status_code == 401
    assert error.message == "Unauthenticated."
    assert error.may_have_been_created is False
    assert error.api_version == "2024-03-05"


def test_unknown_client_is_not_found(create: Create) -> None:
    with pytest.raises(NotFoundError) as caught:
        create(999999, "x", extra_headers={"Prefer": "code=404"})
    assert caught.value.message == "Client not found."
    assert caught.value.may_have_been_created is False
    assert str(caught.value) == (
        "404 Not Found: Client not found. (X-Api-Version: 2024-03-05; the activity was not created)"
    )


def test_bad_request_carries_field_errors(create: Create) -> None:
    with pytest.raises(BadRequestError) as caught:
        create(1, "x", extra_headers={"Prefer": "code=400"})
    assert caught.value.message == "The content field is required."
    assert caught.value.errors == {"content": ["The content field is required."]}


def test_prism_does_reject_requests_that_break_the_contract(prism_url: str) -> None:
    """The check above can fail: a blank content sent around the overlay is flagged."""
    response = httpx.post(
        f"{prism_url}/clients/0/activities",
        json={"content": "   "},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10.0,
    )
    assert response.status_code in (400, 422)
    assert "sl-violations" in response.headers
