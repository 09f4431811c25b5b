"""What a user sees of an import while it runs and at its end: progress and the summary."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from spp_activities.importer import journal as jr
from spp_activities.importer.rows import Row

PROGRESS_INTERVAL = 3.0  # seconds between plain progress lines


class Output(Protocol):
    def write(self, text: str, /) -> int: ...
    def flush(self) -> None: ...


class ProgressMode(StrEnum):
    """--progress: a bar on a terminal and lines otherwise (auto), or as named."""

    AUTO = "auto"
    BAR = "bar"
    LINES = "lines"
    NONE = "none"


class StopReason(StrEnum):
    """Why a run stopped before the end of the file."""

    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM
    AUTHENTICATION = "authentication"  # 401/403: the token, not the row
    UNAVAILABLE = "unavailable"  # out of attempts on failures that created nothing


def default_report_path(source: Path) -> Path:
    return source.with_name(source.name + ".spp-import-report.csv")


def problem_line(what: str, row: Row, reason: str) -> str:
    """One problem, one format: `invalid: row 3 (line 4, key k): content is blank`."""
    key = f", key {row.key}" if row.key else ""
    # A validation message names its line already: say it once.
    reason = reason.removeprefix(f"line {row.line}: ")
    return f"{what}: row {row.number} (line {row.line}{key}): {reason}"


@dataclass
class Tally:
    """What this run did, for the progress display and the summary. Every count is of
    this run; the summary's "all runs" figures come from the journal."""

    total: int = 0  # data rows in the file
    to_send: int | None = None  # rows this run has to send or check (None: not known)
    created: int = 0
    skipped: int = 0  # recorded skipped by this run (--skip-invalid)
    failed: int = 0  # sent and refused, or could not be sent: nothing created
    invalid: int = 0  # failed validation
    unknown: int = 0  # sent, and may exist
    sent: int = 0  # rows sent by this run (each counted once, however many attempts)
    done_before: int = 0  # rows settled by earlier runs: created or skipped
    unknown_before: int = 0  # rows left unknown by earlier runs, not re-sent
    requests: int = 0  # HTTP attempts
    throttled: int = 0  # of those, answered 429

    @property
    def this_run(self) -> int:
        """Rows this run decided: sent, or found invalid or to skip."""
        return self.created + self.skipped + self.failed + self.invalid + self.unknown

    @property
    def processed(self) -> int:
        """Rows of the file reached so far, whether this run sent them or not."""
        return self.this_run + self.done_before + self.unknown_before


class Progress:
    """A tqdm bar on a terminal, plain periodic lines otherwise, or nothing.

    The rate and the ETA count only rows this run handles: rows done before are
    passed over in an instant and would make the ETA far too hopeful."""

    def __init__(self, err: Output, mode: ProgressMode, tally: Tally) -> None:
        self.tally = tally
        self.err = err
        if mode is ProgressMode.AUTO:
            isatty = getattr(self.err, "isatty", None)
            mode = ProgressMode.BAR if isatty is not None and isatty() else ProgressMode.LINES
        self.mode = mode
        self.started = time.monotonic()
        self.last_line = self.started
        self.bar: Any = None
        if mode is ProgressMode.BAR:
            from tqdm import tqdm

            total = tally.total if tally.to_send is None else tally.to_send
            self.bar = tqdm(
                total=total, unit="row", file=self.err, dynamic_ncols=True, smoothing=0.1
            )
            self.shown = 0

    def update(self) -> None:
        tally = self.tally
        if self.bar is not None:
            done = tally.this_run
            if done > self.shown:
                self.bar.update(done - self.shown)
                self.shown = done
                self.bar.set_postfix(
                    created=tally.created, failed=tally.failed, invalid=tally.invalid,
                    unknown=tally.unknown, refresh=False,
                )  # fmt: skip
            return
        if self.mode is not ProgressMode.LINES:
            return
        now = time.monotonic()
        if now - self.last_line >= PROGRESS_INTERVAL:
            self.last_line = now
            print(self.line(now), file=self.err, flush=True)

    def line(self, now: float) -> str:
        tally = self.tally
        done = tally.processed
        elapsed = max(now - self.started, 1e-9)
        rate = tally.this_run / elapsed
        left = tally.total - done if tally.to_send is None else tally.to_send - tally.this_run
        eta = _clock(left / rate) if rate > 0 else _clock(0) if left <= 0 else "?"
        percent = 100 * done / tally.total if tally.total else 100.0
        return (
            f"{done}/{tally.total} rows ({percent:.0f}%), {rate:.0f} rows/s, ETA {eta}; "
            f"this run: created {tally.created}, failed {tally.failed}, invalid {tally.invalid}, "
            f"unknown {tally.unknown}; done before {tally.done_before}"
        )

    def note(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.err)
        elif self.mode is not ProgressMode.NONE:
            print(text, file=self.err, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.mode is ProgressMode.LINES and self.tally.processed:
            print(self.line(time.monotonic()), file=self.err, flush=True)


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def print_summary(
    out: Output,
    source: Path,
    tally: Tally,
    counts: dict[jr.State, int],
    stop: tuple[StopReason | None, str | None],
    elapsed: float,
    problems: int,
    report_path: Path,
    journal_path: Path,
) -> None:
    """The end of a run: this run's counts, all runs' counts (the journal's, for the
    rows of the file), why it stopped early, where the worksheet and journal are."""
    why, message = stop
    rate = f", {tally.sent / elapsed:.0f} rows/s" if elapsed > 0 and tally.sent else ""
    unknown = counts[jr.UNKNOWN] + counts[jr.SENDING]
    left = tally.total - tally.processed
    print(
        f"{source}: {tally.total} rows. This run: created {tally.created}, "
        f"failed {tally.failed}, invalid {tally.invalid}, unknown {tally.unknown}"
        + (f", skipped {tally.skipped}" if tally.skipped else "")
        + (f", done before {tally.done_before}" if tally.done_before else "")
        + (f", unknown before {tally.unknown_before}" if tally.unknown_before else "")
        + (f", not processed {left}" if left > 0 else "")
        + f" ({elapsed:.1f} s{rate}; {tally.requests} requests, {tally.throttled} answered 429)."
        + f"\nAll runs: created {counts[jr.CREATED]}, skipped {counts[jr.SKIPPED]}, "
        f"failed {counts[jr.FAILED]}, invalid {counts[jr.INVALID]}, unknown {unknown}"
        + (f", not yet processed {left}" if left > 0 else "")
        + ".",
        file=out,
    )  # fmt: skip
    if why is StopReason.AUTHENTICATION:
        print(
            f"Stopped early: the API refused the token ({message}). "
            "Check SPP_API_TOKEN or --token-file, then run the same command again.",
            file=out,
        )
    elif why is StopReason.UNAVAILABLE:
        print(
            f"Stopped early: the API did not take requests ({message}). "
            "Nothing was created for the rows not done; run the same command again later.",
            file=out,
        )
    elif why is StopReason.INTERRUPTED:
        print("Interrupted. Run the same command again to continue where it stopped.", file=out)
    if problems:
        print(
            f"Worksheet of {problems} failed, invalid or unknown row(s): {report_path}\n"
            "Fill in its decision column (created, send or skip) and apply it with "
            "--apply REPORT; or pass --skip-invalid to skip the invalid and rejected rows.",
            file=out,
        )
    if unknown:
        print(
            "Unknown rows may exist in SPP: check them and decide them in the worksheet, "
            "or re-send all of them with --retry-unknown (those that did exist will then "
            "exist twice).",
            file=out,
        )
    print(f"Journal: {journal_path}", file=out)
