"""Test sessions beyond the dev venv: each supported Python, and the lowest and newest
releases that pyproject.toml allows. `make nox` runs them all (CI does, after `make test`).

Each session installs the project from this checkout with its `sandbox` extra into a fresh
virtualenv made by uv (fast, and its cache is shared between sessions and runs), then runs
a representative subset of the suite: the client, the CLI, the importer, and the sandbox end
to end. The full suite, the spec checks and the Prism tests run once, in `make test`.
"""

from __future__ import annotations

import glob
import os

import nox

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = False

PYTHONS = ["3.11", "3.12", "3.13"]
SUBSET = [
    "tests/client",
    "tests/cli",
    "tests/importer",
    "tests/sandbox/test_client_e2e.py",
    "tests/sandbox/test_hardening.py",
    # Slow or machine-bound tests stay in `make test`.
    "--deselect=tests/importer/test_reliability.py",
]
TEST_TOOLS = ["pytest==9.2.0", "pytest-timeout==2.4.0"]

# pyenv's interpreters, when pyenv has them (these machines), without a `pyenv global`.
for found in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[123].*/bin"))):
    os.environ["PATH"] = found + os.pathsep + os.environ["PATH"]


def _run_subset(session: nox.Session) -> None:
    session.run("pytest", "-q", "-p", "no:cacheprovider", "-x", *SUBSET, *session.posargs)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The subset on each supported Python, with the newest allowed dependencies."""
    session.install(".[sandbox]", *TEST_TOOLS)
    _run_subset(session)


@nox.session(python=PYTHONS[0])
def deps_lowest(session: nox.Session) -> None:
    """The subset with the lowest version of every dependency that pyproject.toml allows."""
    session.install("--resolution", "lowest-direct", ".[sandbox]", *TEST_TOOLS)
    _run_subset(session)


@nox.session(python=PYTHONS[-1])
def deps_newest(session: nox.Session) -> None:
    """The subset with the newest release of every dependency, ignoring uv's cache of what
    was newest before."""
    session.install("--upgrade", "--refresh", ".[sandbox]", *TEST_TOOLS)
    _run_subset(session)
