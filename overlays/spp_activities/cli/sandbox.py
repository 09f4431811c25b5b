"""`spp-activities sandbox`: a local stand-in for the SPP API (see spp_activities.sandbox)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from spp_activities.cli.common import (
    import_sandbox,
    integer,
    non_negative_float,
    port,
    positive_number,
    positive_seconds,
    whole_number,
)
from spp_activities.cli.exit_codes import ExitCode, UsageError


def add_parser(sub: Any) -> None:
    sandbox = sub.add_parser(
        "sandbox",
        help="run a local stand-in for the SPP API",
        description="Run a local sandbox that follows the same contract as SPP. "
        "It prints its workspace URL and token, and stops on Ctrl-C.",
    )
    sandbox.add_argument(
        "--host",
        help="address to listen on (default: 127.0.0.1); one that is not loopback needs "
        "--allow-remote",
    )
    sandbox.add_argument(
        "--allow-remote",
        action="store_true",
        default=None,
        help="listen on a --host other machines can reach; needs a --token of your own",
    )
    sandbox.add_argument(
        "--port", type=port, default=8000, help="port, 0 picks a free one (default: 8000)"
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
    sandbox.add_argument("--seed", type=integer, metavar="N", help="random seed for the faults")
    sandbox.add_argument(
        "--slow-seconds",
        type=non_negative_float,
        metavar="S",
        help="delay of a 'slow' fault, in seconds",
    )
    sandbox.add_argument(
        "--rate-limit",
        type=positive_number,
        metavar="RPS",
        help="answer 429 above this many requests per second",
    )
    sandbox.add_argument(
        "--read-timeout",
        type=positive_seconds,
        metavar="S",
        help="seconds a connection has to send a whole request (default: 10)",
    )
    sandbox.add_argument(
        "--max-connections",
        type=whole_number("--max-connections"),
        metavar="N",
        help="open connections at most; more are closed at once (default: 512)",
    )
    sandbox.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    sandbox = import_sandbox()
    # Every flag is named after its SandboxOptions field; a flag left out takes the field's
    # default, and the sandbox checks the values, so the flags and Sandbox(...) report bad
    # values with the same messages.
    given = {
        option.name: getattr(args, option.name)
        for option in dataclasses.fields(sandbox.SandboxOptions)
        if getattr(args, option.name, None) is not None
    }
    try:
        if args.clients is not None:
            given["clients"] = sandbox.parse_clients(args.clients)
        sandbox.serve(sandbox.SandboxOptions(**given))
    except sandbox.SandboxOptionError as exc:
        raise UsageError(str(exc)) from None
    return ExitCode.OK
