"""Fixtures shared by every test area: a real sandbox on a free loopback port.

`sandbox` is a started `Sandbox` with a temporary SQLite database and default options
(token "sandbox-token", clients 1-100). `sandbox_factory(**options)` starts one with other
options (faults, seed, rate_limit, tokens, clients, db, ...). Each is stopped after its test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from spp_activities.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]


@pytest.fixture
def sandbox_factory(tmp_path: Path) -> Iterator[SandboxFactory]:
    started: list[Sandbox] = []

    def start(**options: Any) -> Sandbox:
        sandbox = Sandbox(**options).start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in reversed(started):
        sandbox.stop()


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory, tmp_path: Path) -> Sandbox:
    return sandbox_factory(db=tmp_path / "sandbox.db")
