"""The `spp-activities` command line: create, import, sandbox, demo.

This module owns every argument definition. It imports nothing heavy at module
level: the client, the importer, the sandbox stack (uvicorn, starlette,
openapi-core) and the progress bar (tqdm) are imported inside the handler that
needs them, after the input has been validated, so that `--help` and a `create`
with bad input start as fast as `import httpx`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from spp_api.models import Activity

    from spp_activities.errors import SPPError

PROG = "spp-activities"

# Exit codes (fixed by the product brief; the README carries the same table).
EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_REJECTED = 5
EXIT_TEMPORARY = 6
EXIT_UNKNOWN = 7
EXIT_IMPORT_INCOMPLETE = 8
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)

#: The import's --concurrency ceiling: httpx's default connection pool size.
MAX_CONCURRENCY = 100


class UsageError(Exception):
    """Bad command-line input, detected before anything is sent (exit 2)."""


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so `main` returns the code."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise UsageError(message)


def _whole_number(what: str, maximum: int | None = None) -> Callable[[str], int]:
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


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _add_connection_flags(parser: argparse.ArgumentParser) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog=PROG,
        description="Create client activities in Service Provider Pro, import them in bulk, "
        "or run a local sandbox of the API.",
        epilog="exit codes: 0 done; 1 unexpected error; 2 usage or invalid input, nothing sent; "
        "3 authentication (401/403); 4 client not found (404); 5 rejected by the API (400/422); "
        "6 temporary failure after retries, nothing created; 7 outcome unknown, the activity "
        "may exist; 8 (import) some rows failed or are unknown, see the report; 130 interrupted "
        "(Ctrl-C), run the same command again to continue",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    create = sub.add_parser(
        "create",
        help="create one activity on a client's timeline",
        description="Create one activity on a client's timeline.",
    )
    create.add_argument(
        "--client-id",
        required=True,
        type=_whole_number("client ID"),
        metavar="N",
        help="the client's user ID",
    )
    create.add_argument(
        "--content",
        required=True,
        metavar="TEXT",
        help="the activity's text; '-' reads it from standard input",
    )
    create.add_argument("--json", action="store_true", help="print the activity as JSON")
    _add_connection_flags(create)
    create.set_defaults(handler=_run_create)

    imp = sub.add_parser(
        "import",
        help="import activities from a CSV or JSONL file, resumably",
        description="Import activities from a CSV file (header: client_id, content, optional "
        'key) or a JSONL file ({"client_id": 1, "content": "..."} per line; client_id may '
        'also be written 1.0 or "1"). Blank lines and rows of empty cells are skipped. A '
        "journal next to the file records every row's outcome, so re-running the same "
        "command after a crash sends only what is left and never re-sends a created row. "
        "One import per journal at a time, and a journal stays with the workspace it "
        "created rows in.",
    )
    imp.add_argument("file", type=Path, metavar="FILE", help="the CSV or JSONL file")
    imp.add_argument(
        "--format",
        choices=("csv", "jsonl"),
        help="file format (default: from the extension: .csv, .jsonl or .ndjson)",
    )
    imp.add_argument(
        "--encoding",
        default="utf-8",
        help="text encoding of the file, ASCII-compatible (default: utf-8; a BOM is skipped)",
    )
    imp.add_argument(
        "--concurrency",
        # More would queue for the connection pool (100 connections) and time
        # out there; SPP's throttle, not concurrency, bounds a migration anyway.
        type=_whole_number("--concurrency", maximum=MAX_CONCURRENCY),
        default=8,
        metavar="N",
        help="requests in flight at once, over one connection pool "
        f"(default: 8, at most {MAX_CONCURRENCY})",
    )
    imp.add_argument(
        "--state",
        type=Path,
        metavar="PATH",
        help="journal file (default: FILE.spp-import.sqlite next to the file). Without "
        "--state, a file whose first rows match another FILE.spp-import.sqlite in its "
        "directory that created rows (the file was renamed or copied) is refused: pass that "
        "journal to continue, or a new path to import it again",
    )
    imp.add_argument(
        "--report",
        type=Path,
        metavar="PATH",
        help="CSV report of failed and unknown rows (default: FILE.spp-import-report.csv)",
    )
    imp.add_argument(
        "--dry-run",
        action="store_true",
        help="validate the whole file and send nothing (needs no token)",
    )
    imp.add_argument(
        "--retry-unknown",
        action="store_true",
        help="also re-send rows whose outcome is unknown (they may then exist twice)",
    )
    imp.add_argument(
        "--max-attempts",
        type=_whole_number("--max-attempts"),
        default=10,
        metavar="N",
        help="attempts per row for failures that created nothing: 429, 503, could not "
        "connect; a row out of attempts stops the run (default: 10)",
    )
    imp.add_argument(
        "--progress",
        choices=("auto", "bar", "lines", "none"),
        default="auto",
        help="progress display: a bar on a terminal, periodic lines otherwise (default: auto)",
    )
    _add_connection_flags(imp)
    imp.set_defaults(handler=_run_import)

    sandbox = sub.add_parser(
        "sandbox",
        help="run a local stand-in for the SPP API",
        description="Run a local sandbox that follows the same contract as SPP. "
        "It prints its workspace URL and token, and stops on Ctrl-C.",
    )
    sandbox.add_argument(
        "--host", default="127.0.0.1", help="loopback address (default: 127.0.0.1)"
    )
    sandbox.add_argument(
        "--port", type=_port, default=8000, help="port, 0 picks a free one (default: 8000)"
    )
    sandbox.add_argument(
        "--db", type=Path, metavar="PATH", help="SQLite file to keep data in (default: in memory)"
    )
    sandbox.add_argument(
        "--token",
        action="append",
        dest="tokens",
        metavar="TOKEN",
        help="accepted token, repeatable (default: sandbox-token). "
        "A throwaway value for the local sandbox only",
    )
    sandbox.add_argument(
        "--clients",
        metavar="IDS",
        help="client IDs that exist, e.g. '1-100' or '1,2,5-9' (default: 1-100)",
    )
    sandbox.add_argument(
        "--faults",
        metavar="SPEC",
        help="inject faults, e.g. '429=0.05,503=0.05,500=0.02,reset=0.02,reset-after=0.02,"
        "slow=0.02'",
    )
    sandbox.add_argument("--seed", type=int, help="random seed for the faults")
    sandbox.add_argument(
        "--slow-seconds",
        type=_non_negative_float,
        metavar="S",
        help="delay of a 'slow' fault, in seconds",
    )
    sandbox.add_argument(
        "--rate-limit",
        type=float,
        metavar="RPS",
        help="answer 429 above this many requests per second",
    )
    sandbox.set_defaults(handler=_run_sandbox)

    demo = sub.add_parser(
        "demo",
        help="start an embedded sandbox and show the client at work",
        description="Start an embedded sandbox on a free port, create an activity through "
        "SPPClient and show one handled error.",
    )
    demo.set_defaults(handler=_run_demo)
    return parser


# ---------------------------------------------------------------- shared bits


def _error(message: str) -> None:
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


def exit_code_for(exc: BaseException) -> int:
    """Map an error to the documented exit code."""
    from spp_activities import errors

    if isinstance(exc, errors.InvalidInputError | errors.ConfigurationError | UsageError):
        return EXIT_USAGE
    if isinstance(exc, errors.AuthenticationError | errors.PermissionDeniedError):
        return EXIT_AUTH
    if isinstance(exc, errors.NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, errors.BadRequestError | errors.UnprocessableEntityError):
        return EXIT_REJECTED
    if isinstance(exc, errors.SPPError):
        if exc.may_have_been_created:
            return EXIT_UNKNOWN
        if (
            isinstance(exc, errors.APIStatusError)
            and 400 <= exc.status_code < 500
            and not isinstance(exc, errors.RateLimitError)
        ):
            # Another 4xx (409, 418, ...): the API said no, nothing was created.
            return EXIT_REJECTED
        return EXIT_TEMPORARY
    return EXIT_UNEXPECTED


def describe_error(exc: SPPError) -> str:
    """One line for stderr. The error's text already says whether the activity may exist,
    and carries the server's message and X-Api-Version when there are."""
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


# ---------------------------------------------------------------- create


def _read_content(value: str) -> str:
    if value != "-":
        return value
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"standard input is not UTF-8 text (byte {exc.start + 1})") from None


def _run_create(args: argparse.Namespace) -> int:
    content = _read_content(args.content)
    from spp_activities.validation import is_blank

    if is_blank(content):
        raise UsageError("content is empty: an activity needs at least one non-blank character")
    options = client_options(args)

    # Only now pull in the client (httpx and the generated layer).
    from spp_activities.client import SPPClient
    from spp_activities.errors import SPPError

    try:
        with SPPClient(**options) as client:
            activity = client.activities.create(args.client_id, content)
    except SPPError as exc:
        _error(describe_error(exc))
        return exit_code_for(exc)

    payload = activity_json(activity)
    if args.json:
        print(json.dumps({**payload, "client_id": args.client_id}, ensure_ascii=False))
    else:
        created = payload["created_at"]
        print(f"Created activity {activity.id} for client {args.client_id} at {created}")
    return EXIT_OK


def activity_json(activity: Activity) -> dict[str, Any]:
    """The activity as the API sends it, timestamps in its format
    (``2025-12-19T10:00:00.000000Z``), not Python's ``+00:00``."""
    payload = activity.to_dict()
    for name in ("created_at", "updated_at"):
        stamp = getattr(activity, name).astimezone(datetime.UTC)
        payload[name] = stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return payload


# ---------------------------------------------------------------- import


def _run_import(args: argparse.Namespace) -> int:
    options = {} if args.dry_run else client_options(args)
    from spp_activities.importer import run_import

    return run_import(
        args.file,
        file_format=args.format,
        encoding=args.encoding,
        concurrency=args.concurrency,
        state_path=args.state,
        report_path=args.report,
        dry_run=args.dry_run,
        retry_unknown=args.retry_unknown,
        max_attempts=args.max_attempts,
        progress=args.progress,
        client_options=options,
    )


# ---------------------------------------------------------------- sandbox, demo


def _run_sandbox(args: argparse.Namespace) -> int:
    # The sandbox checks its own options (clients, faults, rate limit), so the
    # flags and Sandbox(...) report bad values with the same messages.
    from spp_activities.sandbox import SandboxOptionError, parse_clients, serve

    kwargs: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "db": args.db,
        "tokens": args.tokens,
        "faults": args.faults,
        "seed": args.seed,
        "rate_limit": args.rate_limit,
    }
    if args.slow_seconds is not None:
        kwargs["slow_seconds"] = args.slow_seconds
    try:
        kwargs["clients"] = None if args.clients is None else parse_clients(args.clients)
        serve(**kwargs)
    except SandboxOptionError as exc:
        raise UsageError(str(exc)) from None
    return EXIT_OK


def _run_demo(args: argparse.Namespace) -> int:
    from spp_activities.demo import run

    return run()


# ---------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        code: int = args.handler(args)
        return code
    except SystemExit as exc:  # --help and --version exit 0 through argparse
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        from spp_activities.errors import SPPError

        if isinstance(exc, SPPError):
            _error(describe_error(exc))
            return exit_code_for(exc)
        _error(f"unexpected {type(exc).__name__}: {exc}")
        return EXIT_UNEXPECTED


if __name__ == "__main__":
    sys.exit(main())
