"""The `spp-activities` command line: create, import, sandbox, demo.

One module per command (`create`, `import_`, `sandbox`, `demo`), each with
`add_parser(subparsers)` and the handler it registers; `exit_codes` holds the
exit codes and the error mapping, `common` what the commands share.

This is the top layer: it may import the importer, the sandbox and the client
core, and nothing imports it. Nothing heavy is imported at module level, so
that `--help` and a `create` with bad input start as fast as `import httpx`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from spp_activities.cli import create, demo, import_, sandbox
from spp_activities.cli.common import PROG, ArgumentParser, describe_error, print_error
from spp_activities.cli.exit_codes import MEANINGS, ExitCode, UsageError, exit_code_for

__all__ = ["ExitCode", "UsageError", "build_parser", "exit_code_for", "main"]

_EPILOG = "exit codes: " + "; ".join(f"{code.value} {text}" for code, text in MEANINGS.items())


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Create client activities in Service Provider Pro, import them in bulk, "
        "or run a local sandbox of the API.",
        epilog=_EPILOG,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in (create, import_, sandbox, demo):
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        code: int = args.handler(args)
        return code
    except SystemExit as exc:  # --help and --version exit 0 through argparse
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE
    except UsageError as exc:
        print_error(str(exc))
        return ExitCode.USAGE
    except BrokenPipeError:
        # The reader went away (`spp-activities demo | head -1`): stop quietly, as Unix tools
        # do, and keep Python from complaining again when it flushes stdout at exit.
        _discard_stdout()
        return ExitCode.BROKEN_PIPE
    except KeyboardInterrupt:
        print_error("interrupted")
        return ExitCode.INTERRUPTED
    except Exception as exc:
        from spp_activities.errors import SPPError

        if isinstance(exc, SPPError):
            print_error(describe_error(exc))
            return exit_code_for(exc)
        print_error(f"unexpected {type(exc).__name__}: {exc}")
        return ExitCode.UNEXPECTED


def _discard_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a file (e.g. captured in tests)
        pass
