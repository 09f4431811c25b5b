"""What a user sees of an import: the progress display, the report file, the summary."""

from __future__ import annotations

import contextlib
import csv
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from spp_activities import journal as jr
from spp_activities.rows import Row

PROGRESS_INTERVAL = 3.0  # seconds between plain progress lines
REPORT_COLUMNS = ("row", "line", "key", "client_id", "outcome", "http_status", "reason")


class Output(Protocol):
    def write(self, text: str, /) -> int: ...
    def flush(self) -> None: ...


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
    """What this run did, for the progress display and the summary."""

    total: int = 0  # data rows in the file
    created: int = 0  # created by this run
    skipped: int = 0  # created by an earlier run
    failed: int = 0  # rejected, invalid, or could not be sent: nothing created
    unknown: int = 0  # may exist: this run's unknowns plus earlier ones not retried
    invalid: int = 0  # of `failed`, rows that failed validation
    requests: int = 0  # HTTP attempts
    throttled: int = 0  # of those, answered 429

    @property
    def processed(self) -> int:
        return self.created + self.skipped + self.failed + self.unknown


class Progress:
    """A tqdm bar on a terminal, plain periodic lines otherwise, or nothing."""

    def __init__(self, err: Output, mode: str, tally: Tally) -> None:
        self.tally = tally
        self.err = err
        if mode == "auto":
            isatty = getattr(self.err, "isatty", None)
            mode = "bar" if isatty is not None and isatty() else "lines"
        self.mode = mode
        self.started = time.monotonic()
        self.last_line = self.started
        self.bar: Any = None
        if mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(
                total=tally.total, unit="row", file=self.err, dynamic_ncols=True, smoothing=0.1
            )
            self.shown = 0

    def update(self) -> None:
        tally = self.tally
        if self.bar is not None:
            done = tally.processed
            if done > self.shown:
                self.bar.update(done - self.shown)
                self.shown = done
                self.bar.set_postfix(
                    created=tally.created, failed=tally.failed, unknown=tally.unknown,
                    refresh=False,
                )  # fmt: skip
            return
        if self.mode != "lines":
            return
        now = time.monotonic()
        if now - self.last_line >= PROGRESS_INTERVAL:
            self.last_line = now
            print(self.line(now), file=self.err, flush=True)

    def line(self, now: float) -> str:
        tally = self.tally
        done = tally.processed
        elapsed = max(now - self.started, 1e-9)
        rate = (done - tally.skipped) / elapsed
        left = tally.total - done
        eta = f"{_clock(left / rate)}" if rate > 0 else "?"
        percent = 100 * done / tally.total if tally.total else 100.0
        return (
            f"{done}/{tally.total} rows ({percent:.0f}%), {rate:.0f} rows/s, ETA {eta}: "
            f"created {tally.created}, skipped {tally.skipped}, failed {tally.failed}, "
            f"unknown {tally.unknown}"
        )

    def note(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.err)
        elif self.mode != "none":
            print(text, file=self.err, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.mode == "lines" and self.tally.processed:
            print(self.line(time.monotonic()), file=self.err, flush=True)


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def write_report(journal: jr.Journal, report_path: Path, rows_in_file: int) -> int:
    """Write every failed, invalid and unknown row to the report; returns how many.

    Rows the journal knows beyond the file's end (failed or invalid rows since
    deleted from it) are not problems any more."""
    count = 0
    tmp = report_path.with_name(report_path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_COLUMNS)
        for entry in journal.entries((jr.FAILED, jr.INVALID, jr.UNKNOWN, jr.SENDING), rows_in_file):
            count += 1
            writer.writerow(
                (
                    entry.number,
                    entry.line,
                    entry.key or "",
                    entry.client_id,
                    jr.UNKNOWN if entry.state == jr.SENDING else entry.state,
                    entry.http_status or "",
                    entry.reason or "",
                )
            )
    if count:
        os.replace(tmp, report_path)
    else:
        tmp.unlink()
        with contextlib.suppress(FileNotFoundError):
            report_path.unlink()  # a stale report from an earlier run would mislead
    return count


def print_summary(
    out: Output,
    source: Path,
    tally: Tally,
    stop: tuple[str | None, str | None],
    elapsed: float,
    problems: int,
    report_path: Path,
    journal_path: Path,
) -> None:
    """The end of a run: counts, why it stopped early, where the report and journal are."""
    why, message = stop
    rate = f", {tally.created / elapsed:.0f} rows/s" if elapsed > 0 and tally.created else ""
    print(
        f"{source}: {tally.total} rows: created {tally.created}, skipped {tally.skipped} "
        f"(done before), failed {tally.failed}"
        + (f" ({tally.invalid} invalid)" if tally.invalid else "")
        + f", unknown {tally.unknown}"
        + (f", not processed {tally.total - tally.processed}" if tally.processed < tally.total
           else "")
        + f" ({elapsed:.1f} s{rate}; {tally.requests} requests, {tally.throttled} answered 429)",
        file=out,
    )  # fmt: skip
    if why == "authentication":
        print(
            f"Stopped early: the API refused the token ({message}). "
            "Check SPP_API_TOKEN or --token-file, then run the same command again.",
            file=out,
        )
    elif why == "unavailable":
        print(
            f"Stopped early: the API did not take requests ({message}). "
            "Nothing was created for the rows not done; run the same command again later.",
            file=out,
        )
    elif why == "interrupted":
        print("Interrupted. Run the same command again to continue where it stopped.", file=out)
    if problems:
        print(f"Report of {problems} failed or unknown row(s): {report_path}", file=out)
    if tally.unknown:
        print(
            "Unknown rows may exist in SPP: check them, then re-send with --retry-unknown "
            "(those that did exist will then exist twice).",
            file=out,
        )
    print(f"Journal: {journal_path}", file=out)
