"""The command line speaks its own language: flags and variables, not Python keywords; and
the small things a Unix tool is expected to get right."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from spp_activities import client as client_module
from spp_activities.sandbox import Sandbox

RunCli = Callable[..., Any]
CREATE = ["create", "--client-id", "1", "--content", "x"]
PYTHON_SPELLING = re.compile(r"\b(token|workspace_url|base_url|api_version|timeout)=|_url\b")


@pytest.mark.parametrize(
    ("extra", "env", "says"),
    [
        ([], {}, ["--workspace-url", "SPP_WORKSPACE_URL", "--token-file", "SPP_API_TOKEN"]),
        ([], {"workspace": "example.spp.co"}, ["--token-file PATH or set SPP_API_TOKEN"]),
        ([], {"token": "t"}, ["--workspace-url URL", "SPP_WORKSPACE_URL"]),
        (["--workspace-url", "http://example.com"], {"token": "t"}, ["--workspace-url uses"]),
        (["--workspace-url", "a", "--base-url", "https://b"], {"token": "t"}, ["--base-url"]),
        (["--base-url", "example.com/api"], {"token": "t"}, ["--base-url must be a full URL"]),
        (["--workspace-url", "https://u:p@example.com"], {"token": "t"}, ["--token-file"]),
        (["--api-version", "\x01"], {"token": "t", "workspace": "x.spp.co"}, ["--api-version"]),
    ],
)
def test_configuration_errors_name_the_cli_flags(
    run_cli: RunCli, extra: list[str], env: dict[str, str], says: list[str]
) -> None:
    result = run_cli([*CREATE, *extra], **env)
    assert result.code == 2
    (line,) = [line for line in result.err.splitlines() if "error:" in line]
    for words in says:
        assert words in line
    assert not PYTHON_SPELLING.search(line), line


def test_import_names_the_cli_flags_too(run_cli: RunCli, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("client_id,content\n1,hello\n", encoding="utf-8")
    result = run_cli(["import", rows], workspace="example.spp.co")
    assert result.code == 2
    assert "--token-file PATH or set SPP_API_TOKEN" in result.err
    assert not PYTHON_SPELLING.search(result.err), result.err


@pytest.mark.parametrize(
    ("stdin", "stored"),
    [
        (b"Fixed the invoice\n", "Fixed the invoice"),  # echo
        (b"Fixed the invoice\n\n", "Fixed the invoice"),  # git log -1 --format=%B
        (b"Subject\n\nBody line\n\n", "Subject\n\nBody line"),  # ... with a body
        (b"Fixed the invoice\r\n", "Fixed the invoice"),  # a Windows editor
        (b"Fixed the invoice", "Fixed the invoice"),
        (b"Two lines\nof text\n", "Two lines\nof text"),
        (b"  indented, trailing spaces  \n", "  indented, trailing spaces  "),
    ],
)
def test_content_from_stdin_loses_only_its_final_line_breaks(
    sandbox: Sandbox, run_cli: RunCli, stdin: bytes, stored: str
) -> None:
    result = run_cli(
        ["create", "--client-id", 1, "--content", "-"],
        workspace=sandbox.workspace_url,
        token=sandbox.token,
        stdin=stdin,
    )
    assert result.code == 0, result.err
    assert [a["content"] for a in sandbox.activities()] == [stored]


@pytest.mark.parametrize("stdin", [b"\n", b"\r\n", b" \n", b""])
def test_blank_content_from_stdin_is_called_blank(
    sandbox: Sandbox, run_cli: RunCli, stdin: bytes
) -> None:
    result = run_cli(
        ["create", "--client-id", 1, "--content", "-"],
        workspace=sandbox.workspace_url,
        token=sandbox.token,
        stdin=stdin,
    )
    assert result.code == 2
    assert "--content is blank" in result.err
    assert "empty" not in result.err
    assert sandbox.stats()["requests"] == 0


def test_timeout_flag_reaches_the_client(
    sandbox: Sandbox, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []
    real = client_module.SPPClient

    def spy(**options: Any) -> Any:
        seen.append(options.get("timeout"))
        return real(**options)

    monkeypatch.setattr(client_module, "SPPClient", spy)
    result = run_cli(
        ["create", "--client-id", 1, "--content", "x", "--timeout", "2.5"],
        workspace=sandbox.workspace_url,
        token=sandbox.token,
    )
    assert result.code == 0, result.err
    assert seen == [2.5]


@pytest.mark.parametrize("value", ["0", "-1", "abc", "nan", "inf", ""])
def test_a_bad_timeout_is_a_usage_error(sandbox: Sandbox, run_cli: RunCli, value: str) -> None:
    result = run_cli(
        ["create", "--client-id", 1, "--content", "x", "--timeout", value],
        workspace=sandbox.workspace_url,
        token=sandbox.token,
    )
    assert result.code == 2
    assert "argument --timeout: expected a number of seconds" in result.err
    assert sandbox.stats()["requests"] == 0


def test_a_reader_that_goes_away_ends_the_demo_quietly() -> None:
    """`spp-activities demo | head -1`: a real pipe whose reader closes after one line."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "spp_activities.cli", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert demo.stdout is not None
    assert demo.stderr is not None
    first = demo.stdout.readline()
    demo.stdout.close()  # what `head -1` does after its line
    err = demo.stderr.read().decode()
    code = demo.wait(timeout=120)
    assert first.startswith(b"Started a local SPP sandbox")
    assert err == ""
    assert code == 141  # 128 + SIGPIPE, as a shell reports a tool killed by it
