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


# --- every real flag, given a secret where its value belongs -------------------------


def value_flags() -> list[Any]:
    """Every flag that takes a value, of every parser (sandbox's --token excepted: the
    tokens it accepts are its value, printed by design only as a count)."""
    cases = []
    for command, parser in parsers():
        for action in parser._actions:
            if not action.option_strings or action.nargs == 0:
                continue
            flag = max(action.option_strings, key=len)
            if (command, flag) == ("sandbox", "--token"):
                continue
            cases.append(pytest.param(command, flag, id=f"{command}{flag}"))
    return cases


def on_off_flags() -> list[Any]:
    """Every flag that takes no value (store_true, --help), of every parser."""
    return [
        pytest.param(command, flag, id=f"{command or 'main'}{flag}")
        for command, parser in parsers()
        for action in parser._actions
        for flag in action.option_strings
        if action.nargs == 0
    ]


def required_for(command: str, tmp_path: Path) -> list[str]:
    """The arguments that get a command as far as checking the flag under test: for
    `import`, a real file and --dry-run, so the import's own checks run too."""
    if command == "create":
        return ["--client-id", "1", "--content", "hi"]
    if command == "import":
        rows = tmp_path / "rows.csv"
        rows.write_text("client_id,content\n1,hi\n", encoding="utf-8")
        return [str(rows), "--dry-run"]
    if command == "sandbox":
        return ["--port", "0"]
    return []


@pytest.fixture
def no_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sandbox that got as far as starting fails the test instead of serving forever."""
    import spp_activities.sandbox.server as server

    def started(*args: object) -> str:
        raise RuntimeError("the sandbox started: the flag's value was accepted")

    monkeypatch.setattr(server, "_banner", started)


@pytest.mark.usefixtures("no_serving")
@pytest.mark.parametrize(("command", "flag"), value_flags())
@pytest.mark.parametrize("form", ["separate", "attached"])
def test_a_secret_given_to_a_real_flag_is_not_echoed(
    command: str,
    flag: str,
    form: str,
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A token pasted into the wrong flag: refused (or, where any text is a valid value,
    stopped later for want of a token) without the value in any message. A path flag gets
    it as a file name in a missing folder, so that nothing is written."""
    monkeypatch.chdir(tmp_path)
    parser = dict(parsers())[command]
    (action,) = [a for a in parser._actions if flag in a.option_strings]
    value = str(tmp_path / "missing" / SECRET) if action.type is Path else SECRET
    argv = [command, *required_for(command, tmp_path)]
    argv += [flag, value] if form == "separate" else [f"{flag}={value}"]
    result = run_cli(argv)
    # A dry run opens no journal and makes no client: --state and the connection flags
    # are not looked at there.
    unused = command == "import" and (action.type is Path or action.dest in CONNECTION)
    assert result.code == 2 or unused, (result.code, result.err)
    assert SECRET not in result.out + result.err
    assert list(tmp_path.rglob(f"*{SECRET}*")) == []


CONNECTION = {"workspace_url", "base_url", "token_file", "api_version"}


def test_a_secret_given_as_the_base_url_is_not_echoed(run_cli: RunCli) -> None:
    """With a token at hand, the URL is checked (a bare word is no URL) and not echoed."""
    result = run_cli(
        ["create", "--client-id", "1", "--content", "hi", "--base-url", SECRET], token="tok"
    )
    assert_refused_without_echo(result)
    assert "--base-url must be a full URL with http:// or https://" in result.err


NUMERIC_LOOKING = ["123456789012345678901234567890", "9" * 5000, "-1", "1e999", "nan", "0x1F"]


def typed_flags() -> list[Any]:
    """The flags whose value is converted (numbers, ports, encodings...): not free text."""
    typed = []
    for param in value_flags():
        command, flag = param.values
        (action,) = [a for a in dict(parsers())[command]._actions if flag in a.option_strings]
        if action.type is not None and action.type is not Path:
            typed.append(param)
    return typed


@pytest.mark.usefixtures("no_serving")
@pytest.mark.parametrize(("command", "flag"), typed_flags())
@pytest.mark.parametrize("value", NUMERIC_LOOKING, ids=["long", "huge", "neg", "inf", "nan", "hex"])
def test_a_number_shaped_secret_is_not_echoed_either(
    command: str, flag: str, value: str, run_cli: RunCli, tmp_path: Path
) -> None:
    """Some tokens are all digits: a numeric flag says what it expected, not what it got."""
    result = run_cli([command, *required_for(command, tmp_path), flag, value])
    assert value not in result.out + result.err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["create", "--client-id", SECRET], "--client-id: expected client ID: a whole number"),
        (["create", "--timeout", SECRET], "--timeout: expected a number of seconds > 0"),
        (["sandbox", "--port", SECRET], "--port: expected a port from 0 to 65535"),
        (["sandbox", "--seed", SECRET], "--seed: expected an integer"),
        (["sandbox", "--rate-limit", SECRET], "--rate-limit: expected a number > 0"),
        (["sandbox", "--host", SECRET], "host: not a loopback address"),
        (["sandbox", "--clients", f"1,{SECRET}"], "entry 2 is not a client ID"),
        (["sandbox", "--faults", SECRET], "entry 1 has no rate"),
        (["import", "f.csv", "--concurrency", SECRET], "--concurrency: expected"),
        (["import", "f.csv", "--delimiter", SECRET], "--delimiter: expected one character"),
        (["import", "f.csv", "--encoding", SECRET], "--encoding: expected an ASCII-compatible"),
        (["import", "f.csv", "--format", SECRET], "invalid choice (choose from csv, jsonl)"),
    ],
)
def test_a_bad_value_is_described_by_what_was_expected(
    argv: list[str], says: str, run_cli: RunCli
) -> None:
    result = run_cli(argv)
    assert_refused_without_echo(result)
    assert says in result.err
    if "expected" in says and argv[-1] == SECRET:
        assert f"got {len(SECRET)} characters, not shown" in result.err


@pytest.mark.parametrize(("command", "flag"), on_off_flags())
def test_an_on_off_flag_given_a_value_is_told_it_takes_none(
    command: str, flag: str, run_cli: RunCli, tmp_path: Path
) -> None:
    argv = [command, *required_for(command, tmp_path)] if command else []
    result = run_cli([*argv, f"{flag}={SECRET}"])
    assert_refused_without_echo(result)
    assert f"{flag}" in result.err
    assert "takes no value" in result.err


SHORT = ["-t", "-x", "-k", "-p", "-T", "-1"]


@pytest.mark.parametrize("command", ["", "create", "import", "sandbox", "demo"])
@pytest.mark.parametrize("short", SHORT)
def test_an_unknown_short_flag_with_its_value_attached_is_named_by_two_characters(
    command: str, short: str, run_cli: RunCli, tmp_path: Path
) -> None:
    argv = [command, *required_for(command, tmp_path)] if command else []
    result = run_cli([*argv, f"{short}{SECRET}"])
    assert_refused_without_echo(result)
    said = result.err.splitlines()[-1]
    assert f"unrecognized argument {short}" in said or "required" in said, said
    assert f"{short}{SECRET[0]}" not in said


@pytest.mark.parametrize("command", ["", "create", "import", "sandbox", "demo"])
def test_help_with_a_value_attached_does_not_echo_it(
    command: str, run_cli: RunCli, tmp_path: Path
) -> None:
    """`-hX` is -h followed by the unknown short flag -X: argparse's message quotes the rest.
    Python 3.11 and 3.12 refuse it; where argparse runs -h before reading the rest
    (3.13.0 does for the top-level parser), the help is printed. Either way, no echo."""
    argv = [command, *required_for(command, tmp_path)] if command else []
    result = run_cli([*argv, f"-h{SECRET}"])
    if result.code == 0:
        assert result.out.startswith("usage: spp-activities")
        assert SECRET not in result.out + result.err
    else:
        assert_refused_without_echo(result)
        assert "takes no value" in result.err
