"""`spp-activities sandbox`: a local stand-in for the SPP API (see spp_activities.sandbox)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from spp_activities.cli.common import non_negative_float, port
from spp_activities.cli.exit_codes import ExitCode, UsageError


def add_parser(sub: Any) -> None:
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
    sandbox.add_argument("--seed", type=int, help="random seed for the faults")
    sandbox.add_argument(
        "--slow-seconds",
        type=non_negative_float,
        metavar="S",
        help="delay of a 'slow' fault, in seconds",
    )
    sandbox.add_argument(
        "--rate-limit",
        type=float,
        metavar="RPS",
        help="answer 429 above this many requests per second",
    )
    sandbox.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
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
    return ExitCode.OK
