"""A value typed after a flag the CLI does not know is never echoed: it is often the token.

argparse would take any unique prefix of a flag (`--tok X` as `--token-file X`, `--api X` as
`--api-version X`, `--ret` as `--retry-unknown`) and print unknown arguments with their
values. Every parser here matches flags exactly and names an unknown flag without its value.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from spp_activities.cli import build_parser

SECRET = "sk-live-7f3a9c0e5b2d41a8"

RunCli = Callable[..., Any]


def parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    top = build_parser()
    yield "", top
    (sub,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    yield from sub.choices.items()


def strict_prefixes() -> list[Any]:
    """Every proper prefix (longer than '--') of every long flag of every parser."""
    cases = []
    for command, parser in parsers():
        flags = {flag for action in parser._actions for flag in action.option_strings} - {"-h"}
        for flag in sorted(flags):
            for end in range(3, len(flag)):
                if flag[:end] in flags:
                    continue  # a flag of its own, e.g. sandbox's --token
                cases.append(pytest.param(command, flag[:end], id=f"{command}{flag[:end]}"))
    return cases


def argv_for(command: str, *rest: str, tmp_path: Path) -> list[str]:
    if command == "import":
        return ["import", str(tmp_path / "rows.csv"), *rest]
    return [command, *rest] if command else list(rest)


def assert_refused_without_echo(result: Any) -> None:
    assert result.code == 2, (result.code, result.err)
    assert SECRET not in result.out
    assert SECRET not in result.err


def test_every_parser_turns_prefix_matching_off() -> None:
    for command, parser in parsers():
        assert parser.allow_abbrev is False, command or "the main parser"


@pytest.mark.parametrize(("command", "prefix"), strict_prefixes())
def test_no_prefix_of_a_flag_is_taken_for_it(
    command: str, prefix: str, run_cli: RunCli, tmp_path: Path
) -> None:
    for form in ([prefix, SECRET], [f"{prefix}={SECRET}"]):
        result = run_cli(argv_for(command, *form, tmp_path=tmp_path))
        assert_refused_without_echo(result)
        # Refused for the flag, or earlier: a required argument missing, or (before the
        # command) the value taken for the command.
        said = result.err.splitlines()[-1]
        assert any(
            reason in said
            for reason in (f"unrecognized argument {prefix}", "required", "unknown command")
        ), said


MADE_UP = ("--token", "--api-key", "--api-token", "--password", "--secret", "--tok", "--to")


@pytest.mark.parametrize("command", ["", "create", "import", "sandbox", "demo"])
@pytest.mark.parametrize("flag", MADE_UP)
def test_made_up_secret_flags_are_named_without_their_value(
    command: str, flag: str, run_cli: RunCli, tmp_path: Path
) -> None:
    if flag in {f for action in dict(parsers())[command]._actions for f in action.option_strings}:
        pytest.skip(f"{command} has a real {flag}")  # sandbox --token: the tokens it accepts
    required = ["--client-id", "1", "--content", "hi"] if command == "create" else []
    for form in ([flag, SECRET], [f"{flag}={SECRET}"]):
        result = run_cli(argv_for(command, *required, *form, tmp_path=tmp_path))
        assert_refused_without_echo(result)
        if command:  # before the command, the stray value is taken for the command
            assert f"unrecognized argument {flag}" in result.err


def test_a_value_in_place_of_the_command_is_not_echoed(run_cli: RunCli) -> None:
    result = run_cli(["--token", SECRET, "create"])
    assert_refused_without_echo(result)
    assert "unknown command (choose from create, import, sandbox, demo)" in result.err


def test_a_bad_choice_is_not_echoed(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli(argv_for("import", "--progress", SECRET, tmp_path=tmp_path))
    assert_refused_without_echo(result)
    assert "invalid choice (choose from auto, bar, lines, none)" in result.err


def test_a_token_given_as_the_token_file_is_not_echoed(run_cli: RunCli) -> None:
    result = run_cli(["create", "--client-id", 1, "--content", "x", "--token-file", SECRET])
    assert_refused_without_echo(result)
    assert "--token-file: cannot read the file" in result.err


def test_api_prefix_is_not_the_api_version(run_cli: RunCli) -> None:
    result = run_cli(["create", "--client-id", 1, "--content", "x", "--api", SECRET])
    assert_refused_without_echo(result)
    assert "unrecognized argument --api" in result.err


def test_ret_is_not_retry_unknown(tmp_path: Path) -> None:
    parser = build_parser()
    with pytest.raises(Exception, match="unrecognized argument --ret"):
        parser.parse_args(["import", str(tmp_path / "rows.csv"), "--ret"])
    args = parser.parse_args(["import", str(tmp_path / "rows.csv"), "--retry-unknown"])
    assert args.retry_unknown is True
