"""The pytest plugin: a fresh sandbox per test, with the client's environment pointed at it.

Installed with the `sandbox` extra and registered under the `pytest11` entry point
`spp_sandbox`, so pytest loads it by itself (`-p no:spp_sandbox` turns it off).

- `spp_sandbox`: a started `Sandbox` for one test, on a free loopback port with a temporary
  SQLite database. SPP_WORKSPACE_URL and SPP_API_TOKEN point at it for that test, so
  `SPPClient()` with no arguments talks to it. It has `.workspace_url`, `.token`,
  `.activities(client_id=None)`, `.stats()` and `.reset()`.
- `@pytest.mark.spp_sandbox(clients=..., faults=..., seed=..., rate_limit=...,
  slow_seconds=..., tokens=...)` sets that test's sandbox options (on a test, a class or a
  module; the closest mark wins per option).
- `spp_sandbox_session`: one sandbox for the whole session (for each xdist worker), with
  default options, for suites that want speed. The environment variables are set for each
  test that asks for it. It keeps what earlier tests stored: call `.reset()` where a test
  needs a clean slate.

Loading the plugin imports pytest and the standard library only: Starlette, uvicorn and
httpx are imported when a test first asks for a sandbox. Without the `sandbox` extra, such
a test errors with a one-line message saying what to install; other tests are unaffected.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from spp_activities.sandbox.server import Sandbox

MARKER = "spp_sandbox"
#: The marker's keyword arguments: the `Sandbox(...)` options that make sense per test.
MARKER_OPTIONS = ("clients", "faults", "seed", "rate_limit", "slow_seconds", "tokens")
INSTALL_HINT = "pip install 'spp-activities[sandbox]'"
_ENVIRONMENT = ("SPP_WORKSPACE_URL", "SPP_API_TOKEN")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}({', '.join(f'{name}=...' for name in MARKER_OPTIONS)}): options for the "
        "spp_sandbox fixture's sandbox (spp-activities)",
    )


@pytest.fixture
def spp_sandbox(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Sandbox]:
    """A fresh SPP sandbox for this test; SPP_WORKSPACE_URL and SPP_API_TOKEN point at it."""
    with _started(_marker_options(request.node), tmp_path / "spp-sandbox.db") as sandbox:
        _point_client_at(sandbox, monkeypatch)
        yield sandbox


@pytest.fixture(scope="session")
def _spp_sandbox_shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    database = tmp_path_factory.mktemp("spp-sandbox") / "spp-sandbox.db"
    with _started({}, database) as sandbox:
        yield sandbox


@pytest.fixture
def spp_sandbox_session(
    request: pytest.FixtureRequest,
    _spp_sandbox_shared: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> Sandbox:
    """The session's one SPP sandbox (not reset between tests); the environment points at it."""
    if request.node.get_closest_marker(MARKER) is not None:
        pytest.fail(
            f"@pytest.mark.{MARKER} sets the options of the per-test spp_sandbox fixture; "
            "spp_sandbox_session is shared by the whole session and takes none",
            pytrace=False,
        )
    _point_client_at(_spp_sandbox_shared, monkeypatch)
    return _spp_sandbox_shared


def _marker_options(node: pytest.Item) -> dict[str, Any]:
    """The options of every `spp_sandbox` mark on the test, the closest first, checked."""
    options: dict[str, Any] = {}
    for mark in node.iter_markers(MARKER):
        if mark.args:
            pytest.fail(
                f"@pytest.mark.{MARKER} takes keyword arguments only "
                f"({', '.join(MARKER_OPTIONS)}), not {mark.args!r}",
                pytrace=False,
            )
        unknown = sorted(set(mark.kwargs) - set(MARKER_OPTIONS))
        if unknown:
            pytest.fail(
                f"@pytest.mark.{MARKER}: unknown option {', '.join(map(repr, unknown))}; "
                f"the options are {', '.join(MARKER_OPTIONS)}",
                pytrace=False,
            )
        for name, value in mark.kwargs.items():
            options.setdefault(name, value)
    return options


@contextlib.contextmanager
def _started(options: dict[str, Any], database: Path) -> Iterator[Sandbox]:
    """A started sandbox, stopped after. Bad options and a missing extra fail the test with
    one line, not with a traceback into the plugin."""
    problem = None
    try:
        from spp_activities.sandbox.options import SandboxOptionError
        from spp_activities.sandbox.server import Sandbox
    except ModuleNotFoundError as missing:
        problem = (
            f"the spp_sandbox fixture needs the sandbox extra ({missing.name} is not "
            f"installed): {INSTALL_HINT}"
        )
    else:
        try:
            sandbox = Sandbox(db=database, **options)
        except SandboxOptionError as error:
            problem = f"@pytest.mark.{MARKER}: {error}"
    if problem is not None:  # failed outside the `except`, so no chained traceback shows
        pytest.fail(problem, pytrace=False)
    with sandbox:
        yield sandbox


def _point_client_at(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace_url, token = _ENVIRONMENT
    monkeypatch.setenv(workspace_url, sandbox.workspace_url)
    monkeypatch.setenv(token, sandbox.token)
