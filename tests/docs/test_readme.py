"""Every ```python snippet in README.md runs, as written, against a live sandbox.

The docs cannot drift from the code: a renamed method, a changed default or a
wrong import in the README fails here. Each snippet runs in its own interpreter
with SPP_WORKSPACE_URL and SPP_API_TOKEN pointing at a sandbox started for the
test (default clients 1..100 exist; 999999 does not). A snippet that defines
pytest tests is run under pytest, so its tests really execute.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def snippets() -> list[Any]:
    text = README.read_text()
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        found.append(pytest.param(match.group(1), id=f"README.md:{line}"))
    return found


def test_readme_has_snippets() -> None:
    assert len(snippets()) >= 1


@pytest.mark.parametrize("code", snippets())
def test_snippet_runs(code: str, sandbox: Any, tmp_path: Path) -> None:
    env = dict(
        os.environ,
        SPP_WORKSPACE_URL=sandbox.workspace_url,
        SPP_API_TOKEN=sandbox.token,
    )
    env.pop("SPP_API_VERSION", None)
    command = [sys.executable, "-c", code]
    if "\ndef test_" in code:
        # A pytest example: run its tests, not just its definitions.
        (tmp_path / "test_snippet.py").write_text(code)
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "test_snippet.py",
        ]
    run = subprocess.run(
        command,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, (
        f"snippet failed:\n{code}\n--- stdout ---\n{run.stdout}\n--- stderr ---\n{run.stderr}"
    )


def test_the_sandbox_flag_table_lists_every_flag() -> None:
    """The table under "Start it" names every `spp-activities sandbox` flag, so a new
    flag cannot go undocumented."""
    import argparse

    from spp_activities.cli import build_parser

    text = README.read_text()
    start = text.index("### Start it")
    table = text[start : text.index("\n### ", start + 1)]
    documented = set(re.findall(r"^\| `(--[a-z-]+)", table, re.MULTILINE))
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    flags = {
        max(action.option_strings, key=len)
        for action in sub.choices["sandbox"]._actions
        if action.option_strings and "--help" not in action.option_strings
    }
    assert flags - documented == set()
    assert documented - flags == set()
