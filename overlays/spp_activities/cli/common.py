"""What every command shares: the parser class, argument types, the connection flags,
the token file, and how an error is printed.

Nothing heavy is imported here: the client, the importer and the sandbox stack are
imported inside the command that needs them, after the input has been checked, so
that `--help` and a `create` with bad input start as fast as `import httpx`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from spp_activities.cli.exit_codes import UsageError

if TYPE_CHECKING:
    from spp_api.models import Activity

    from spp_activities.errors import SPPError

PROG = "spp-activities"


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so `main` returns the code."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise UsageError(message)


def whole_number(what: str, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: ASCII digits, >= 1 (and <= maximum), read as an import file's
    client_id is (int() would also take '1_0' as 10, and other scripts' digits)."""

    def parse(text: str) -> int:
        from spp_activities.validation import parse_whole_number

        value = parse_whole_number(text)
        if value is None:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number >= 1, got {text!r}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{what} must be at most {maximum}, got {value}")
        return value

    return parse


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, got {value}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


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
        help="X-Api-Version header (default: $SPP_API_VERSION or 2024-03-05)",
    )


def print_error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def read_token_file(path: Path) -> str:
    """Read a token from a file: the first line, stripped. Raises UsageError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read token file {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"token file {str(path)!r} is not UTF-8 text") from None
    token = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not token:
        raise UsageError(f"token file {str(path)!r} is empty")
    return token


def client_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for SPPClient/AsyncSPPClient from the connection flags.

    Unset values are left out, so the client falls back to the environment.
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
    return options


def describe_error(exc: SPPError) -> str:
    """One line for stderr. The error's text already says whether the activity may exist,
    and carries the server's message and X-Api-Version when there are."""
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def activity_json(activity: Activity) -> dict[str, Any]:
    """The activity as the API sends it, timestamps in its format
    (``2025-12-19T10:00:00.000000Z``), not Python's ``+00:00``."""
    from spp_activities.vendor import vendor_timestamp

    payload = activity.to_dict()
    for name in ("created_at", "updated_at"):
        payload[name] = vendor_timestamp(getattr(activity, name))
    return payload
