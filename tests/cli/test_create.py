"""`spp-activities create`: output, input, configuration and every exit code."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from spp_activities import client as client_module
from spp_activities.sandbox import Sandbox

SECRET = "tok-5e1f0a9c-never-print-me"

RunCli = Callable[..., Any]  # the run_cli fixture (tests/conftest.py)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_create_prints_a_readable_line(sandbox: Sandbox, run_cli: RunCli) -> None:
    result = run_cli(
        ["create", "--client-id", 3, "--content", "Called about the invoice."],
        workspace=sandbox.workspace_url,
        token=sandbox.token,
    )
    assert result.code == 0, result.err
    (stored,) = sandbox.activities()
    assert stored["content"] == "Called about the invoice."
    assert stored["client_id"] == 3
    assert result.out == (
        f"Created activity {stored['id']} for client 3 at {stored['created_at']}\n"
    )
    assert result.err == ""


def test_create_json_and_content_from_stdin(sandbox: Sandbox, run_cli: RunCli) -> None:
    content = 'Line one, "quoted"\nline two 🎉'
    result = run_cli(
        ["create", "--client-id", 1, "--content", "-", "--json"],
        workspace=sandbox.workspace_url,
        token=sandbox.token,
        stdin=(content + "\n").encode(),
    )
    assert result.code == 0, result.err
    printed = json.loads(result.out)
    assert printed["content"] == content
    assert printed["client_id"] == 1
    assert printed["author"]["name"] == "Sandbox User"
    stored = sandbox.activities()[0]
    assert stored["content"] == content
    # Timestamps as the API writes them (2025-12-19T10:00:00.000000Z), not Python's +00:00.
    assert printed["created_at"] == stored["created_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", printed["updated_at"])


def test_token_file_is_read_and_its_token_never_printed(
    sandbox: Sandbox, run_cli: RunCli, tmp_path: Path
) -> None:
    good = tmp_path / "token"
    good.write_text(sandbox.token + "\n", encoding="utf-8")
    ok = run_cli(
        ["create", "--client-id", 1, "--content", "x", "--token-file", good],
        workspace=sandbox.workspace_url,
    )
    assert ok.code == 0, ok.err
    bad = tmp_path / "bad-token"
    bad.write_text(SECRET, encoding="utf-8")
    refused = run_cli(
        ["create", "--client-id", 1, "--content", "x", "--token-file", bad],
        workspace=sandbox.workspace_url,
        token="env-token-is-overridden",
    )
    assert refused.code == 3
    assert "401" in refused.err
    assert SECRET not in refused.out + refused.err
    assert len(refused.err.strip().splitlines()) == 1


def test_there_is_no_token_flag(run_cli: RunCli) -> None:
    result = run_cli(["create", "--client-id", 1, "--content", "x", "--token", SECRET])
    assert result.code == 2
    assert SECRET not in result.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "--client-id", "0", "--content", "x"], "client ID"),
        (["create", "--client-id", "abc", "--content", "x"], "client ID"),
        (["create", "--client-id", "1_0", "--content", "x"], "client ID"),  # int() says 10
        (["create", "--client-id", "\u0661", "--content", "x"], "client ID"),  # Arabic-Indic 1
        (["create", "--client-id", "1", "--content", "   "], "--content is blank"),
        # Blank by the contract's rule too (JavaScript's whitespace), not only str.strip()'s.
        (["create", "--client-id", "1", "--content", "\ufeff \u3000"], "--content is blank"),
        (["create", "--content", "x"], "--client-id"),
        (["frobnicate"], "unknown command (choose from create, import, sandbox, demo)"),
        ([], "required"),
    ],
)
def test_usage_and_invalid_input_exit_2_and_send_nothing(
    sandbox: Sandbox, run_cli: RunCli, args: list[str], message: str
) -> None:
    result = run_cli(args, workspace=sandbox.workspace_url, token=sandbox.token)
    assert result.code == 2
    assert message in result.err
    assert sandbox.stats()["requests"] == 0


def test_missing_configuration_exits_2(run_cli: RunCli, tmp_path: Path) -> None:
    no_workspace = run_cli(["create", "--client-id", 1, "--content", "x"], token="t")
    assert no_workspace.code == 2
    assert "SPP_WORKSPACE_URL" in no_workspace.err
    no_token = run_cli(["create", "--client-id", 1, "--content", "x"], workspace="127.0.0.1:9")
    assert no_token.code == 2
    assert "SPP_API_TOKEN" in no_token.err
    missing = run_cli(
        ["create", "--client-id", 1, "--content", "x", "--token-file", tmp_path / "nope"],
        workspace="127.0.0.1:9",
    )
    assert missing.code == 2
    assert "--token-file: cannot read the file" in missing.err
    plain_http = run_cli(
        ["create", "--client-id", 1, "--content", "x"], workspace="http://example.com", token="t"
    )
    assert plain_http.code == 2


def test_wrong_token_exits_3(sandbox: Sandbox, run_cli: RunCli) -> None:
    result = run_cli(
        ["create", "--client-id", 1, "--content", "x"],
        workspace=sandbox.workspace_url,
        token=SECRET,
    )
    assert result.code == 3
    assert SECRET not in result.out + result.err


def test_unknown_client_exits_4_with_the_servers_message(sandbox: Sandbox, run_cli: RunCli) -> None:
    result = run_cli(
        ["create", "--client-id", 999_999, "--content", "x"],
        workspace=sandbox.workspace_url,
        token=sandbox.token,
    )
    assert result.code == 4
    assert "Client not found" in result.err
    assert "X-Api-Version: 2024-03-05" in result.err


def test_rejected_content_exits_5(sandbox: Sandbox, run_cli: RunCli) -> None:
    huge = ("x" * 1024 * 1024 + "y").encode()  # beyond what the API accepts
    result = run_cli(
        ["create", "--client-id", 1, "--content", "-"],
        workspace=sandbox.workspace_url,
        token=sandbox.token,
        stdin=huge,
    )
    assert result.code == 5
    assert "400" in result.err
    assert sandbox.activities() == []


def test_could_not_connect_exits_6(run_cli: RunCli) -> None:
    result = run_cli(
        ["create", "--client-id", 1, "--content", "x"], workspace=closed_port_url(), token="t"
    )
    assert result.code == 6
    assert "not created" in result.err


def test_service_unavailable_after_retries_exits_6(
    sandbox_factory: Callable[..., Sandbox], run_cli: RunCli
) -> None:
    sandbox = sandbox_factory(faults={"503": 1.0})
    result = run_cli(
        ["create", "--client-id", 1, "--content", "x"],
        workspace=sandbox.workspace_url,
        token=sandbox.token,
    )
    assert result.code == 6
    assert sandbox.stats()["by_status"]["503"] == 3  # the first try and two retries
    assert sandbox.activities() == []


def test_unknown_outcome_exits_7(sandbox_factory: Callable[..., Sandbox], run_cli: RunCli) -> None:
    sandbox = sandbox_factory(faults={"500": 1.0})
    result = run_cli(
        ["create", "--client-id", 1, "--content", "x"],
        workspace=sandbox.workspace_url,
        token=sandbox.token,
    )
    assert result.code == 7
    assert "may have been created" in result.err
    assert len(sandbox.activities()) == 1  # it was: a 500 after storing
    assert sandbox.stats()["requests"] == 1  # and it was not re-sent


def test_an_unexpected_error_exits_1(
    sandbox: Sandbox, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(client_module.SPPClient, "__init__", broken)
    result = run_cli(
        ["create", "--client-id", 1, "--content", "x"],
        workspace=sandbox.workspace_url,
        token=sandbox.token,
    )
    assert result.code == 1
    assert "unexpected RuntimeError: boom" in result.err


def test_help_exits_0(run_cli: RunCli) -> None:
    result = run_cli(["--help"])
    assert result.code == 0
    assert "exit codes" in result.out
    for command in ("create", "import", "sandbox", "demo"):
        assert command in result.out


def test_api_version_from_the_environment_and_the_flag(sandbox: Sandbox, run_cli: RunCli) -> None:
    args = ["create", "--client-id", 1, "--content", "x"]
    at = {"workspace": sandbox.workspace_url, "token": sandbox.token}
    default = run_cli(args, **at)
    from_env = run_cli(args, **at, api_version="2025-01-01")
    flag = run_cli([*args, "--api-version", "2026-02-02"], **at, api_version="2025-01-01")
    assert (default.code, from_env.code, flag.code) == (0, 0, 0)
    versions = [a["api_version"] for a in sorted(sandbox.activities(), key=lambda a: a["id"])]
    assert versions == ["2024-03-05", "2025-01-01", "2026-02-02"]
