"""`spp-activities demo` / `make demo`: the main job, end to end, with nothing configured.

It starts the embedded sandbox on a free port with a temporary database, creates an activity
through `SPPClient` exactly as user code would, shows one handled error (an unknown client),
and shuts everything down.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from spp_activities.cli.common import activity_json, import_sandbox

DEMO_CLIENT_ID = 1
UNKNOWN_CLIENT_ID = 999999
DEMO_CONTENT = "Client called to discuss project requirements."


def add_parser(sub: Any) -> None:
    demo = sub.add_parser(
        "demo",
        help="start an embedded sandbox and show the client at work",
        description="Start an embedded sandbox on a free port, create an activity through "
        "SPPClient and show one handled error.",
    )
    demo.set_defaults(handler=_command)


def _command(args: argparse.Namespace) -> int:
    import_sandbox()  # a one-line hint, exit 2, when the sandbox extra is missing
    return run()


def run(out: TextIO | None = None) -> int:
    """Run the demo, printing to `out` (default stdout); 0 when everything behaved."""
    from spp_activities import NotFoundError, SPPClient
    from spp_activities.sandbox import Sandbox

    stream = out if out is not None else sys.stdout

    def say(line: str = "") -> None:
        print(line, file=stream, flush=True)

    with (
        tempfile.TemporaryDirectory(prefix="spp-demo-") as scratch,
        Sandbox(db=Path(scratch) / "sandbox.db") as sandbox,
    ):
        say(f"Started a local SPP sandbox at {sandbox.workspace_url} (temporary database).")
        with SPPClient(workspace_url=sandbox.workspace_url, token=sandbox.token) as client:
            activity = client.activities.create(DEMO_CLIENT_ID, DEMO_CONTENT)
            say(
                f"Created activity #{activity.id} on client {DEMO_CLIENT_ID}'s timeline "
                f"at {activity.created_at:%Y-%m-%d %H:%M:%S} UTC: {activity.content!r}"
            )
            say(json.dumps(activity_json(activity), indent=2, ensure_ascii=False))
            say()
            say(f"Logging an activity for client {UNKNOWN_CLIENT_ID}, which does not exist:")
            try:
                client.activities.create(UNKNOWN_CLIENT_ID, DEMO_CONTENT)
            except NotFoundError as error:
                say(f"  {type(error).__name__}: {error}")
                say(f"  may_have_been_created = {error.may_have_been_created}")
            else:
                say("  Unexpected: the sandbox accepted an unknown client.")
                return 1
    say()
    say("Sandbox stopped and its temporary database removed.")
    return 0


if __name__ == "__main__":
    sys.exit(run())
