"""Exit codes of `spp-activities` (fixed by the product brief; the README has the table),
and the mapping from an error or an import's outcome to one."""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spp_activities.importer import ImportOutcome


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    AUTH = 3
    NOT_FOUND = 4
    REJECTED = 5
    TEMPORARY = 6
    UNKNOWN = 7
    IMPORT_INCOMPLETE = 8
    INTERRUPTED = 130  # 128 + SIGINT, as shells report it
    BROKEN_PIPE = 141  # 128 + SIGPIPE, as shells report it


#: What each code means, as `--help` lists it.
MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "done",
    ExitCode.UNEXPECTED: "unexpected error",
    ExitCode.USAGE: "usage or invalid input, nothing sent",
    ExitCode.AUTH: "authentication (401/403)",
    ExitCode.NOT_FOUND: "client not found (404)",
    ExitCode.REJECTED: "rejected by the API (400/422), nothing created",
    ExitCode.TEMPORARY: "temporary failure after retries, nothing created",
    ExitCode.UNKNOWN: "outcome unknown, the activity may exist",
    ExitCode.IMPORT_INCOMPLETE: "(import) rows are left invalid, failed or unknown, see the report",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C), run the same command again to continue",
    ExitCode.BROKEN_PIPE: "the output was closed early (e.g. by `head`)",
}


class UsageError(Exception):
    """Bad command-line input, detected before anything is sent (exit 2)."""


def exit_code_for(exc: BaseException) -> ExitCode:
    """Map an error to the documented exit code."""
    from spp_activities import errors

    if isinstance(exc, errors.InvalidInputError | errors.ConfigurationError | UsageError):
        return ExitCode.USAGE
    if isinstance(exc, errors.AuthenticationError | errors.PermissionDeniedError):
        return ExitCode.AUTH
    if isinstance(exc, errors.NotFoundError):
        return ExitCode.NOT_FOUND
    if isinstance(exc, errors.BadRequestError | errors.UnprocessableEntityError):
        return ExitCode.REJECTED
    if isinstance(exc, errors.SPPError):
        if exc.may_have_been_created:
            return ExitCode.UNKNOWN
        if (
            isinstance(exc, errors.APIStatusError)
            and 400 <= exc.status_code < 500
            and not isinstance(exc, errors.RateLimitError)
        ):
            # Another 4xx (409, 418, ...): the API said no, nothing was created.
            return ExitCode.REJECTED
        return ExitCode.TEMPORARY
    return ExitCode.UNEXPECTED


def exit_code_for_import(outcome: ImportOutcome) -> ExitCode:
    from spp_activities.importer import ImportOutcome

    return {
        ImportOutcome.DONE: ExitCode.OK,
        ImportOutcome.INCOMPLETE: ExitCode.IMPORT_INCOMPLETE,
        ImportOutcome.REFUSED: ExitCode.AUTH,
        ImportOutcome.INVALID: ExitCode.USAGE,
        ImportOutcome.INTERRUPTED: ExitCode.INTERRUPTED,
    }[outcome]
