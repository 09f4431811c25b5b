"""`spp-activities import FILE`: one activity per row, resumably (see spp_activities.importer)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from spp_activities.cli.common import (
    add_connection_flags,
    client_options,
    expected,
    whole_number,
)
from spp_activities.cli.exit_codes import exit_code_for_import

#: The import's --concurrency ceiling: httpx's default connection pool size.
MAX_CONCURRENCY = 100


def add_parser(sub: Any) -> None:
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
        type=_encoding,
        help="text encoding of the file, ASCII-compatible, e.g. cp1252 for a spreadsheet saved "
        "on Windows (default: utf-8; a BOM is skipped). The whole file is checked before "
        "anything is sent",
    )
    imp.add_argument(
        "--delimiter",
        type=_delimiter,
        metavar="CHAR",
        help="CSV delimiter: comma, semicolon, tab or one character (default: found from the "
        "header)",
    )
    imp.add_argument(
        "--concurrency",
        # More would queue for the connection pool (100 connections) and time
        # out there; SPP's throttle, not concurrency, bounds a migration anyway.
        type=whole_number("--concurrency", maximum=MAX_CONCURRENCY),
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
        help="the worksheet: a CSV of the failed, invalid and unknown rows, with an empty "
        "decision column to fill in (default: FILE.spp-import-report.csv)",
    )
    imp.add_argument(
        "--apply",
        type=Path,
        metavar="REPORT",
        help="apply the decisions of a filled-in worksheet to the journal (created: record, "
        "never send; send: the next run sends it once; skip: leave out for good), saying "
        "what it will do first; sends nothing (with --dry-run, changes nothing)",
    )
    imp.add_argument(
        "--skip-invalid",
        action="store_true",
        help="record invalid rows, and rows the API rejected (404 unknown client, 422...), as "
        "skipped for good, so that the import can finish",
    )
    imp.add_argument(
        "--dry-run",
        action="store_true",
        help="validate the whole file, write the worksheet of invalid rows, and send nothing "
        "(needs no token)",
    )
    imp.add_argument(
        "--retry-unknown",
        action="store_true",
        help="also re-send rows whose outcome is unknown (they may then exist twice)",
    )
    imp.add_argument(
        "--max-attempts",
        type=whole_number("--max-attempts"),
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
    add_connection_flags(imp)
    imp.set_defaults(handler=run)


def _encoding(text: str) -> str:
    """An argparse type: an ASCII-compatible text encoding (checked as the importer does,
    reported without the value: a token pasted here must not be echoed)."""
    from spp_activities.importer.rows import FileFormatError, check_encoding

    try:
        check_encoding(text)
    except FileFormatError:
        raise argparse.ArgumentTypeError(
            expected("an ASCII-compatible encoding known to Python, e.g. utf-8 or cp1252", text)
        ) from None
    return text


def _delimiter(text: str) -> str:
    """An argparse type: one character, or comma, semicolon, tab."""
    from spp_activities.importer.rows import FileFormatError, check_delimiter

    try:
        check_delimiter(text)
    except FileFormatError:
        raise argparse.ArgumentTypeError(
            expected("one character, or comma, semicolon, tab", text)
        ) from None
    return text


def run(args: argparse.Namespace) -> int:
    options = {} if args.dry_run or args.apply else client_options(args)
    from spp_activities.importer import run_import

    outcome = run_import(
        args.file,
        file_format=args.format,
        encoding=args.encoding,
        delimiter=args.delimiter,
        concurrency=args.concurrency,
        state_path=args.state,
        report_path=args.report,
        dry_run=args.dry_run,
        retry_unknown=args.retry_unknown,
        skip_invalid=args.skip_invalid,
        apply=args.apply,
        max_attempts=args.max_attempts,
        progress=args.progress,
        client_options=options,
    )
    return exit_code_for_import(outcome)
