"""What every command shares: the parser class, argument types, the connection flags,
the token file, and how an error is printed.

Nothing heavy is imported here: the client, the importer and the sandbox stack are
imported inside the command that needs them, after the input has been checked, so
that `--help` and a `create` with bad input start as fast as `import httpx`.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn

from spp_activities.cli.exit_codes import UsageError
from spp_activities.vendor import DEFAULT_API_VERSION

if TYPE_CHECKING:
    from spp_api.models import Activity

    from spp_activities.errors import SPPError

PROG = "spp-activities"


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so `main` returns the code, and that never
    echoes a value it did not understand: a mistyped flag is often followed by the token.

    - No prefix matching (``allow_abbrev=False``, also for every subcommand's parser, which
      `add_parser` builds with this class): ``--tok X`` is not ``--token-file X``, ``--api X``
      is not ``--api-version X``, and ``--ret`` is not ``--retry-unknown``.
    - An unknown flag is named without its value (``--token=X`` is reported as ``--token``),
      and stray values are counted, not shown.
    - A bad choice (a subcommand, ``--format``) is reported with the choices, not the value.
    - A bad value for a real flag is reported by what was expected, never the value (every
      type below says so; argparse's own "invalid int value: 'X'" is replaced too).
    - An on/off flag given a value (``--json=X``) is told it takes none, without the value.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            self.error(unrecognized(extras))
        return parsed

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is not None and value not in action.choices:
            choices = ", ".join(map(str, action.choices))
            what = (
                "unknown command"
                if isinstance(action, argparse._SubParsersAction)
                else ("invalid choice")
            )
            raise argparse.ArgumentError(action, f"{what} (choose from {choices})")

    def _get_value(self, action: argparse.Action, arg_string: str) -> Any:
        try:
            return super()._get_value(action, arg_string)
        except argparse.ArgumentError:
            if isinstance(action.type, type):  # a bare int/float: argparse quoted the value
                raise argparse.ArgumentError(action, expected(action.type.__name__)) from None
            raise

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise UsageError(without_values(message))


def expected(what: str, text: str | None = None) -> str:
    """A bad value's message: what was expected, and at most the value's length."""
    length = "" if text is None else f" (got {len(text)} characters, not shown)"
    return f"expected {what}{length}"


#: argparse messages that quote what was typed, and their endings without it.
_ECHOING = (
    (re.compile(r"ignored explicit argument .*", re.S), "takes no value"),
    (re.compile(r"ambiguous option: .*? could match", re.S), "ambiguous option: could match"),
    (re.compile(r"invalid \S+ value: .*", re.S), "invalid value (not shown)"),
    (re.compile(r"invalid choice: .*?\(choose", re.S), "invalid choice (choose"),
)


def without_values(message: str) -> str:
    """An argparse error message with any value the user typed taken out."""
    for pattern, replacement in _ECHOING:
        message = pattern.sub(replacement, message)
    return message


def unrecognized(extras: Sequence[str]) -> str:
    """The message for arguments nobody took: flags by name only, values only counted."""
    flags = [_flag_name(arg) for arg in extras if arg.startswith("-") and arg != "-"]
    values = len(extras) - len(flags)
    parts = []
    if flags:
        parts.append(f"unrecognized argument{'s' if len(flags) > 1 else ''} {' '.join(flags)}")
    if values:
        parts.append(
            f"{values} unexpected value{'s' if values > 1 else ''} (not shown, in case "
            f"{'they hold' if values > 1 else 'it holds'} a secret)"
        )
    return "; ".join(parts)


def _flag_name(arg: str) -> str:
    """A flag without its value: ``--token=X`` -> ``--token``; ``-tX`` -> ``-t`` (a short
    flag takes its value attached)."""
    if arg.startswith("--"):
        return arg.split("=", 1)[0]
    return arg[:2]


def whole_number(what: str, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: ASCII digits, >= 1 (and <= maximum), read as an import file's
    client_id is (int() would also take '1_0' as 10, and other scripts' digits)."""

    def parse(text: str) -> int:
        from spp_activities.validation import parse_whole_number

        value = parse_whole_number(text)
        if value is None:
            raise argparse.ArgumentTypeError(expected(f"{what}: a whole number >= 1", text))
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(
                expected(f"{what}: a whole number >= 1, at most {maximum}", text)
            )
        return value

    return parse


def port(text: str) -> int:
    from spp_activities.validation import parse_whole_number

    value = 0 if text == "0" else parse_whole_number(text)
    if value is None or value > 65535:
        raise argparse.ArgumentTypeError(expected("a port from 0 to 65535", text))
    return value


def integer(text: str) -> int:
    """An argparse type: an integer (ASCII digits, an optional minus sign)."""
    if not re.fullmatch(r"-?[0-9]{1,30}", text.strip()):
        raise argparse.ArgumentTypeError(expected("an integer", text))
    return int(text)


def _number(text: str, what: str, accept: Callable[[float], bool]) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and accept(value)):
        raise argparse.ArgumentTypeError(expected(what, text))
    return value


def non_negative_float(text: str) -> float:
    return _number(text, "a number >= 0", lambda value: value >= 0)


def positive_number(text: str) -> float:
    return _number(text, "a number > 0", lambda value: value > 0)


def add_connection_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection (the token is read from the environment)")
    group.add_argument(
        "--workspace-url",
        metavar="URL",
        help="workspace host or URL, e.g. example.spp.co (default: $SPP_WORKSPACE_URL); "
        "'/api' is appended",
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        help="API root taken as is, e.g. a mock server without '/api'",
    )
    group.add_argument(
        "--token-file",
        metavar="PATH",
        type=Path,
        help="read the API token from this file (default: $SPP_API_TOKEN). "
        "There is no --token flag: command lines end up in shell history",
    )
    group.add_argument(
        "--api-version",
        metavar="VERSION",
        help=f"X-Api-Version header (default: $SPP_API_VERSION or {DEFAULT_API_VERSION})",
    )


def print_error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def read_token_file(path: Path) -> str:
    """Read a token from a file: the first line, stripped. Raises UsageError.

    The path is not shown in errors: a token pasted where the path belongs would be echoed.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"--token-file: cannot read the file ({exc.strerror}); pass the path of a file "
            "that holds the token (the path is not shown, in case it is the token itself)"
        ) from None
    except UnicodeDecodeError:
        raise UsageError("--token-file: the file is not UTF-8 text") from None
    token = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not token:
        raise UsageError("--token-file: the file is blank")
    return token


def client_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for SPPClient/AsyncSPPClient from the connection flags.

    Unset values are left out, so the client falls back to the environment. The result is
    checked here, so that a missing or bad setting is reported with the command line's own
    flags and variables (``--token-file`` or ``$SPP_API_TOKEN``), not the client's keyword
    arguments. Raises UsageError.
    """
    options: dict[str, Any] = {}
    if args.workspace_url:
        options["workspace_url"] = args.workspace_url
    if args.base_url:
        options["base_url"] = args.base_url
    if args.token_file is not None:
        options["token"] = read_token_file(args.token_file)
    if args.api_version:
        options["api_version"] = args.api_version
    if getattr(args, "timeout", None) is not None:
        options["timeout"] = args.timeout

    from spp_activities.config import resolve_config
    from spp_activities.errors import ConfigurationError

    try:
        resolve_config(**options)
    except ConfigurationError as exc:
        raise UsageError(in_cli_terms(str(exc))) from None
    return options


#: The client's keyword arguments, as the command line spells them.
_CLI_SPELLING = {
    "token=": "--token-file PATH",
    "workspace_url=": "--workspace-url URL",
    "workspace_url": "--workspace-url",
    "base_url=": "--base-url URL",
    "base_url": "--base-url",
    "api_version=": "--api-version VERSION",
    "api_version": "--api-version",
    "timeout=": "--timeout SECONDS",
    "timeout": "--timeout",
}
_PYTHON_SPELLING = re.compile(
    r"\b(?:token=|(?:workspace_url|base_url|api_version|timeout)\b=?)(?![\w-])"
)


def in_cli_terms(message: str) -> str:
    """A client error's message with its keyword arguments replaced by the CLI's flags,
    e.g. "pass token= or set SPP_API_TOKEN" -> "pass --token-file PATH or set SPP_API_TOKEN"."""
    return _PYTHON_SPELLING.sub(lambda match: _CLI_SPELLING[match.group(0)], message)


def positive_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds greater than 0."""
    return _number(text, "a number of seconds > 0", lambda value: value > 0)


#: The packages only the sandbox needs: the `sandbox` extra (see pyproject.toml).
SANDBOX_PACKAGES = frozenset({"starlette", "uvicorn", "openapi_core", "h11", "jsonschema"})
SANDBOX_EXTRA_HINT = "pip install 'spp-activities[sandbox]'"


def import_sandbox() -> ModuleType:
    """The sandbox package, or UsageError (exit 2) naming the extra when it is not installed."""
    try:
        # The package resolves its names lazily: load the server to know it can run.
        import spp_activities.sandbox as sandbox
        import spp_activities.sandbox.server  # noqa: F401
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in SANDBOX_PACKAGES:
            raise
        raise UsageError(
            f"the sandbox needs packages that are not installed ({exc.name}): {SANDBOX_EXTRA_HINT}"
        ) from None
    return sandbox


def describe_error(exc: SPPError) -> str:
    """One line for stderr. The error's text already says whether the activity may exist,
    and carries the server's message and X-Api-Version when there are. A configuration
    error names the CLI's flags, not the client's keyword arguments."""
    from spp_activities.errors import ConfigurationError

    text = str(exc) or type(exc).__name__
    if isinstance(exc, ConfigurationError):
        text = in_cli_terms(text)
    return " ".join(text.split())


def activity_json(activity: Activity) -> dict[str, Any]:
    """The activity as the API sends it, timestamps in its format
    (``2025-12-19T10:00:00.000000Z``), not Python's ``+00:00``."""
    from spp_activities.vendor import vendor_timestamp

    payload = activity.to_dict()
    for name in ("created_at", "updated_at"):
        payload[name] = vendor_timestamp(getattr(activity, name))
    return payload
