"""`spp-activities create`: one activity on a client's timeline."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from spp_activities.cli.common import (
    activity_json,
    add_connection_flags,
    client_options,
    describe_error,
    positive_seconds,
    print_error,
    whole_number,
)
from spp_activities.cli.exit_codes import ExitCode, UsageError, exit_code_for


def add_parser(sub: Any) -> None:
    create = sub.add_parser(
        "create",
        help="create one activity on a client's timeline",
        description="Create one activity on a client's timeline.",
    )
    create.add_argument(
        "--client-id",
        required=True,
        type=whole_number("client ID"),
        metavar="N",
        help="the client's user ID",
    )
    create.add_argument(
        "--content",
        required=True,
        metavar="TEXT",
        help="the activity's text; '-' reads it from standard input",
    )
    create.add_argument(
        "--timeout",
        type=positive_seconds,
        metavar="SECONDS",
        help="how long to wait for the API, per request (default: connect 5 s, read 30 s)",
    )
    create.add_argument("--json", action="store_true", help="print the activity as JSON")
    add_connection_flags(create)
    create.set_defaults(handler=run)


def _read_content(value: str) -> str:
    """The --content text; '-' reads standard input, without the line breaks it ends with
    (`echo` adds one, `git log --format=%B` two); other white space is the user's text."""
    if value != "-":
        return value
    data = sys.stdin.buffer.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"standard input is not UTF-8 text (byte {exc.start + 1})") from None
    return text.rstrip("\r\n")


def run(args: argparse.Namespace) -> int:
    content = _read_content(args.content)
    from spp_activities.validation import is_blank

    if is_blank(content):
        raise UsageError("--content is blank: an activity needs at least one non-blank character")
    options = client_options(args)

    # Only now pull in the client (httpx and the generated layer).
    from spp_activities.client import SPPClient
    from spp_activities.errors import SPPError

    try:
        with SPPClient(**options) as client:
            activity = client.activities.create(args.client_id, content)
    except SPPError as exc:
        print_error(describe_error(exc))
        return exit_code_for(exc)

    payload = activity_json(activity)
    if args.json:
        print(json.dumps({**payload, "client_id": args.client_id}, ensure_ascii=False))
    else:
        created = payload["created_at"]
        print(f"Created activity {activity.id} for client {args.client_id} at {created}")
    return ExitCode.OK
