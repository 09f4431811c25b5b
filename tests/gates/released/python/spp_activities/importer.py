"""`spp-activities import FILE`: create one activity per row, resumably.

The run, in order:

1. Check the file can be read (format, header, encoding) and open the journal
   (`journal.py`), which locks it for this run and checks it belongs to the
   same API. Rows a dead run left `sending` become `unknown`. Before a new
   default journal is made, a file imported before under another name is
   refused (`earlier_import.py`).
2. One pass over the file counts the rows (for the progress display) and
   compares every row the journal knows with what the file says now. If a row
   that was created, or may have been, changed at its position, the run stops
   before sending anything: the file was edited, and going on would mis-map
   rows. (A first run without a progress display skips this pass.)
3. The feeder reads rows one at a time, decides for each from the journal
   (new, done before, unknown, failed before), writes the `sending` marks of
   a small batch together with the outcomes that arrived since the last batch
   in one durable transaction, and only then hands the batch to the workers.
4. `concurrency` workers share one AsyncSPPClient (one connection pool, no
   retries of its own) and one pacer (`pacing.py`). Failures that prove nothing
   was created (429, 503, could not connect) are retried here, after the pacer
   allows; anything that may have created the activity is recorded `unknown`
   and never re-sent unless the user passes --retry-unknown.
5. At the end (or on Ctrl-C, when the token is refused, or when the API cannot
   be reached) the journal is settled, a CSV report lists every failed and
   unknown row, and a summary is printed (`import_output.py`).

Memory does not depend on the file's size: rows are streamed, and per-row
state lives in the journal on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from spp_activities import journal as jr
from spp_activities.cli import (
    EXIT_AUTH,
    EXIT_IMPORT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
)
from spp_activities.earlier_import import ImportedBeforeError, check_not_imported_before
from spp_activities.errors import ConfigurationError
from spp_activities.import_output import (
    Output,
    Progress,
    Tally,
    default_report_path,
    print_summary,
    problem_line,
    write_report,
)
from spp_activities.pacing import AsyncPacer, Pacer, Reply, parse_rate_headers
from spp_activities.rows import FileFormatError, Row, check_encoding, detect_format, read_rows

if TYPE_CHECKING:
    from spp_activities.client import AsyncSPPClient


_DEFAULT_PORTS = {"https": 443, "http": 80}

PROBLEM_LINES_SHOWN = 20
CONFLICTS_SHOWN = 3


@dataclass
class _Batch:
    """How the feeder decided one batch of rows."""

    sending: list[Row] = field(default_factory=list)
    invalid: list[Row] = field(default_factory=list)
    skipped: int = 0
    unknown: int = 0


class ImportStopped(Exception):
    """Raised inside a worker when the run is stopping and a row was not sent."""


@dataclass
class _Settings:
    path: Path
    fmt: str
    encoding: str
    concurrency: int
    retry_unknown: bool
    max_attempts: int
    progress: str
    out: Output
    err: Output


@dataclass
class _State:
    outcomes: list[jr.Outcome] = field(default_factory=list)
    stop: str | None = None  # "interrupted", "authentication" or "unavailable"
    stop_message: str | None = None
    problems_shown: int = 0


def run_import(
    path: Path,
    *,
    file_format: str | None = None,
    encoding: str = "utf-8",
    concurrency: int = 8,
    state_path: Path | None = None,
    report_path: Path | None = None,
    dry_run: bool = False,
    retry_unknown: bool = False,
    max_attempts: int = 10,
    progress: str = "auto",
    client_options: Mapping[str, Any] | None = None,
    out: Output | None = None,
    err: Output | None = None,
) -> int:
    """Run an import; returns the exit code. See the module docstring."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    client: AsyncSPPClient | None = None
    journal: jr.Journal | None = None
    try:
        fmt = detect_format(path, file_format)
        encoding = check_encoding(encoding)
        default_state = state_path is None
        state_path = state_path if state_path is not None else jr.default_state_path(path)
        report_path = report_path if report_path is not None else default_report_path(path)
        if len({path.resolve(), state_path.resolve(), report_path.resolve()}) < 3:
            raise FileFormatError(
                f"the file ({path}), --state ({state_path}) and --report ({report_path}) "
                "must be three different files"
            )
        if not report_path.parent.is_dir():  # else found only after the run, as a crash
            raise FileFormatError(f"--report: no such directory: {str(report_path.parent)!r}")
        settings = _Settings(
            path, fmt, encoding, concurrency, retry_unknown, max_attempts, progress, out, err
        )
        _probe(settings)
        if default_state and not state_path.exists():
            # A renamed or copied file would get a new journal: all its rows sent again.
            check_not_imported_before(path, fmt, encoding)
        if dry_run:
            return _dry_run(settings, state_path)
        # The client checks the configuration before the journal is created.
        from spp_activities.client import AsyncSPPClient

        client = AsyncSPPClient(**dict(client_options or {}), max_retries=0)
        journal = jr.Journal(state_path)
        journal.bind(_api_identity(client.base_url))
        return _run(settings, journal, report_path, client)
    except (FileFormatError, jr.JournalError, ImportedBeforeError, ConfigurationError) as exc:
        print(f"spp-activities: error: {exc}", file=err)
        return EXIT_USAGE
    finally:
        if journal is not None:
            journal.close()
        if client is not None:
            asyncio.run(client.aclose())  # if the run did not (closing twice does nothing)


def _api_identity(base_url: str) -> str:
    """The API root as the journal records it: host in lower case, default port dropped,
    so that `Example.spp.co` and `https://example.spp.co:443` are the same workspace."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = "" if parts.port in (None, _DEFAULT_PORTS.get(parts.scheme)) else f":{parts.port}"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _probe(settings: _Settings) -> None:
    """Open the file and read its header (and first row): FileFormatError if unreadable."""
    rows = read_rows(settings.path, settings.fmt, settings.encoding)
    try:
        next(rows, None)
    finally:
        rows.close()


# ---------------------------------------------------------------- checks


def _check_against_journal(settings: _Settings, journal: jr.Journal) -> tuple[int, list[str], int]:
    """Count the file's rows and compare them with the journal.

    Returns (rows in the file, the first few conflicts, how many conflicts). A
    conflict is a row that was created, or may have been, and now says something
    else. Only a few are kept: a wholly different file must not fill the memory.
    """
    known = journal.entries(jr.MAY_EXIST) if journal.high_water() else iter(())
    entry = next(known, None)
    conflicts: list[str] = []
    total = count = 0
    for row in read_rows(settings.path, settings.fmt, settings.encoding):
        total += 1
        while entry is not None and entry.number < row.number:
            entry = next(known, None)
        if entry is not None and entry.number == row.number and entry.digest != row.digest:
            count += 1
            if count <= CONFLICTS_SHOWN:
                conflicts.append(
                    f"row {row.number} (line {row.line}) is not the row that was {entry.state} "
                    f"there before (then line {entry.line}, client {entry.client_id})"
                )
    while entry is not None:
        if entry.number > total:
            count += 1
            if count <= CONFLICTS_SHOWN:
                conflicts.append(
                    f"row {entry.number} (was line {entry.line}, {entry.state}) is no longer "
                    "in the file"
                )
        entry = next(known, None)
    return total, conflicts, count


def _refuse_edited(
    settings: _Settings, journal: jr.Journal, conflicts: list[str], count: int
) -> None:
    shown = "; ".join(conflicts) + (
        f"; and {count - len(conflicts)} more" if count > len(conflicts) else ""
    )
    raise FileFormatError(
        f"{settings.path} changed since the journal {journal.path} was written: {shown}. "
        "Rows may only be appended, or edited where nothing was created. Nothing was sent. "
        "To import the edited file as a new import, pass a new --state path "
        "(rows created before would then be created again)."
    )


def _dry_run(settings: _Settings, state_path: Path) -> int:
    err = settings.err
    total = invalid = 0
    for row in read_rows(settings.path, settings.fmt, settings.encoding):
        total += 1
        if row.error is not None:
            invalid += 1
            if invalid <= PROBLEM_LINES_SHOWN:
                print(problem_line("invalid", row, row.error), file=err)
    if invalid > PROBLEM_LINES_SHOWN:
        print(f"... and {invalid - PROBLEM_LINES_SHOWN} more invalid rows", file=err)
    line = f"Dry run of {settings.path}: {total} rows, {total - invalid} valid, {invalid} invalid."
    conflicts = 0
    if state_path.exists():
        journal = jr.Journal(state_path, read_only=True)
        try:
            _, shown, conflicts = _check_against_journal(settings, journal)
            counts = journal.counts()
        finally:
            journal.close()
        for text in shown:
            print(f"conflict with the journal: {text}", file=err)
        line += (
            f" Journal {state_path}: {counts[jr.CREATED]} created before, "
            f"{counts[jr.UNKNOWN] + counts[jr.SENDING]} unknown"
            f"{f', {conflicts} CONFLICTS: the file was edited' if conflicts else ''}."
        )
    print(line + " Nothing was sent.", file=settings.out)
    if conflicts:
        return EXIT_USAGE  # the real run would refuse the file
    return EXIT_OK if invalid == 0 else EXIT_IMPORT_INCOMPLETE


# ---------------------------------------------------------------- the run


def _run(
    settings: _Settings,
    journal: jr.Journal,
    report_path: Path,
    client: AsyncSPPClient,
) -> int:
    recovered = journal.recover()
    if recovered:
        print(
            f"{recovered} row(s) were in flight when an earlier run stopped: their outcome is "
            "unknown (re-send them with --retry-unknown after checking)",
            file=settings.err,
        )
    total: int | None = None
    if journal.high_water() or settings.progress != "none":
        # Compare with the journal, and count the rows for the progress display.
        total, conflicts, count = _check_against_journal(settings, journal)
        if count:
            _refuse_edited(settings, journal, conflicts, count)

    tally = Tally(total=total or 0)
    state = _State()
    runner = _Runner(settings, journal, client, tally, state)
    started = time.monotonic()
    try:
        asyncio.run(runner.main())
    except KeyboardInterrupt:
        state.stop = "interrupted"
    finally:
        # Only rows a hard stop (a second Ctrl-C) left in flight remain `sending`.
        tally.unknown += journal.recover()
    elapsed = time.monotonic() - started
    if total is None:
        tally.total = runner.rows_read

    problems = write_report(journal, report_path, tally.total)
    print_summary(
        settings.out,
        settings.path,
        tally,
        (state.stop, state.stop_message),
        elapsed,
        problems,
        report_path,
        journal.path,
    )
    if state.stop == "authentication":
        return EXIT_AUTH
    if state.stop == "interrupted":
        return EXIT_INTERRUPTED
    return EXIT_OK if tally.failed == 0 and tally.unknown == 0 else EXIT_IMPORT_INCOMPLETE


class _Runner:
    def __init__(
        self,
        settings: _Settings,
        journal: jr.Journal,
        client: AsyncSPPClient,
        tally: Tally,
        state: _State,
    ) -> None:
        self.s = settings
        self.journal = journal
        self.client = client
        self.tally = tally
        self.state = state
        self.pacer = AsyncPacer(Pacer())
        self.high_water = journal.high_water()
        self.ready: asyncio.Queue[Row | None] = asyncio.Queue()
        self.capacity = 2 * settings.concurrency
        self.wake = asyncio.Event()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spp-journal")
        self.progress = Progress(settings.err, settings.progress, tally)
        self.workers: list[asyncio.Task[None]] = []
        self.stopping = asyncio.Event()
        self.rows_read = 0

    # ------------------------------------------------------------ main

    async def main(self) -> None:
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._on_signal)
                installed.append(sig)
        workers = [asyncio.create_task(self._worker()) for _ in range(self.s.concurrency)]
        self.workers = workers
        feeder = asyncio.create_task(self._feed())
        try:
            pending: set[asyncio.Task[None]] = {feeder, *workers}
            while pending:
                done, pending = await asyncio.wait(
                    pending, timeout=0.05, return_when=asyncio.FIRST_EXCEPTION
                )
                for task in done:
                    # A task that failed (a bug) ends the run: its rows would never move.
                    error = None if task.cancelled() else task.exception()
                    if error is not None:
                        raise error
                if feeder.done():
                    await self._flush()  # the tail: record outcomes as the last requests end
        finally:
            for task in (*workers, feeder):
                task.cancel()
            await asyncio.gather(*workers, feeder, return_exceptions=True)
            try:
                # Also after a hard stop or a failure: each outcome known is kept, and
                # rows marked but never handed to a worker were not sent.
                await self._flush()
                await self._unqueue()
            finally:  # even if the journal failed (a full disk, say)
                with contextlib.suppress(Exception):
                    await self.client.aclose()
                for sig in installed:
                    loop.remove_signal_handler(sig)
                self.executor.shutdown(wait=True)
                self.progress.close()

    def _on_signal(self) -> None:
        if self.state.stop is None:
            self.state.stop = "interrupted"
            self.progress.note(
                "stopping: finishing the requests in flight (Ctrl-C again to stop at once; "
                "those rows would then be unknown)"
            )
            self.wake.set()
            self.stopping.set()
            self.pacer.wake()
        else:
            # A second Ctrl-C: stop at once; rows in flight stay `sending` -> unknown.
            self.progress.note("stopping now: rows in flight will be reported unknown")
            for task in self.workers:
                task.cancel()

    async def _journal_call(self, fn: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, fn, *args)

    # ------------------------------------------------------------ feeder

    async def _feed(self) -> None:
        rows = read_rows(self.s.path, self.s.fmt, self.s.encoding)
        try:
            exhausted = False
            while not exhausted and self.state.stop is None:
                room = self.capacity - self.ready.qsize()
                if room < max(1, self.s.concurrency // 2):
                    self.wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.wake.wait(), 0.05)
                    if self.state.outcomes and self.ready.qsize() >= self.s.concurrency:
                        await self._flush()
                    continue
                batch = []
                for row in rows:
                    self.rows_read += 1
                    batch.append(row)
                    if len(batch) >= room:
                        break
                else:
                    exhausted = True
                outcomes, self.state.outcomes = self.state.outcomes, []
                decided: _Batch = await self._journal_call(self._commit_batch, batch, outcomes)
                for row in decided.sending:
                    self.ready.put_nowait(row)
                self.tally.skipped += decided.skipped
                self.tally.unknown += decided.unknown
                for row in decided.invalid:
                    self.tally.failed += 1
                    self.tally.invalid += 1
                    self._problem(row, "invalid", row.error or "")
                self.progress.update()
        finally:
            rows.close()
        # On a stop, workers unmark the rows still queued instead of sending them.
        for _ in range(self.s.concurrency):
            self.ready.put_nowait(None)

    async def _unqueue(self) -> None:
        """Rows marked `sending` but never handed to a worker go back."""
        unsent: list[Row] = []
        while not self.ready.empty():
            row = self.ready.get_nowait()
            if row is not None:
                unsent.append(row)
        await self._journal_call(self.journal.forget, unsent)

    def _commit_batch(self, batch: list[Row], outcomes: list[jr.Outcome]) -> _Batch:
        """In the journal thread: decide each row, then one transaction."""
        decided = _Batch()
        records = list(outcomes)
        for row in batch:
            entry = self.journal.get(row.number) if row.number <= self.high_water else None
            if entry is not None and entry.state == jr.CREATED:
                decided.skipped += 1
            elif entry is not None and entry.state == jr.UNKNOWN and not self.s.retry_unknown:
                decided.unknown += 1
            elif row.error is not None:
                decided.invalid.append(row)
                records.append(jr.Outcome(row, jr.INVALID, reason=row.error))
            else:
                decided.sending.append(row)
        self.journal.commit(records, decided.sending)
        return decided

    async def _flush(self) -> None:
        outcomes, self.state.outcomes = self.state.outcomes, []
        if outcomes:
            await self._journal_call(self.journal.commit, outcomes, [])

    # ------------------------------------------------------------ workers

    async def _worker(self) -> None:
        while True:
            row = await self.ready.get()
            if row is None:
                return
            if self.ready.qsize() < self.s.concurrency:
                self.wake.set()  # let the feeder top the queue up in time
            if self.state.stop is not None:
                await self._journal_call(self.journal.forget, [row])
                continue
            try:
                outcome = await self._send(row)
            except ImportStopped:
                await self._journal_call(self.journal.forget, [row])
                continue
            self._record(outcome)

    def _record(self, outcome: jr.Outcome) -> None:
        tally = self.tally
        if outcome.state == jr.CREATED:
            tally.created += 1
        elif outcome.state == jr.UNKNOWN:
            tally.unknown += 1
            self._problem(outcome.row, "unknown", outcome.reason or "")
        else:
            tally.failed += 1
            if outcome.http_status not in (401, 403):  # the token, not the row: said once
                self._problem(outcome.row, "failed", outcome.reason or "")
        self.state.outcomes.append(outcome)
        if len(self.state.outcomes) >= self.s.concurrency:
            self.wake.set()
        self.progress.update()

    def _problem(self, row: Row, what: str, reason: str) -> None:
        self.state.problems_shown += 1
        if self.state.problems_shown <= PROBLEM_LINES_SHOWN:
            self.progress.note(problem_line(what, row, reason))
        elif self.state.problems_shown == PROBLEM_LINES_SHOWN + 1:
            self.progress.note("more problems: see the report at the end")

    async def _send(self, row: Row) -> jr.Outcome:
        from spp_activities import errors

        assert row.client_id is not None
        attempt = 0
        while True:
            attempt += 1
            # Every earlier attempt created nothing, so a stop can still put the row back.
            if self.state.stop is not None:
                raise ImportStopped
            sent_at = await self.pacer.acquire()
            if self.state.stop is not None:
                self.pacer.on_failure()
                raise ImportStopped
            self.tally.requests += 1
            try:
                response = await self.client.activities.with_raw_response.create(
                    row.client_id, row.content
                )
                activity_id = response.parse().id
            except errors.APIStatusError as exc:
                limit, remaining = parse_rate_headers(exc.response.headers)
                throttled = isinstance(exc, errors.RateLimitError)
                retry_after = exc.retry_after if throttled else None
                unavailable = exc.status_code == 503
                self.pacer.on_reply(
                    Reply(sent_at, throttled, retry_after, limit, remaining, unavailable)
                )
                if throttled:
                    self.tally.throttled += 1
                if isinstance(exc, errors.AuthenticationError | errors.PermissionDeniedError):
                    self._stop("authentication", exc)
                    return jr.Outcome(row, jr.FAILED, exc.status_code, reason=_reason(exc))
                if exc.may_have_been_created:
                    return jr.Outcome(row, jr.UNKNOWN, exc.status_code, reason=_reason(exc))
                if (throttled or unavailable) and attempt < self.s.max_attempts:
                    if unavailable:
                        await self._backoff(attempt)
                    continue
                if throttled or unavailable:
                    # Out of attempts though nothing was created: the rest would fare no
                    # better (an exhausted quota, an outage); going on would take hours.
                    self._stop("unavailable", exc)
                return jr.Outcome(row, jr.FAILED, exc.status_code, reason=_reason(exc))
            except errors.APIConnectionError as exc:
                if exc.may_have_been_created:
                    self.pacer.on_failure()
                    return jr.Outcome(row, jr.UNKNOWN, reason=_reason(exc))
                self.pacer.on_failure(could_not_connect=True, sent_at=sent_at)
                if attempt < self.s.max_attempts:
                    await self._backoff(attempt)
                    continue
                self._stop("unavailable", exc)
                return jr.Outcome(row, jr.FAILED, reason=_reason(exc))
            except errors.InvalidInputError as exc:
                self.pacer.on_failure()
                return jr.Outcome(row, jr.INVALID, reason=_reason(exc))
            except errors.SPPError as exc:
                self.pacer.on_failure()
                state = jr.UNKNOWN if exc.may_have_been_created else jr.FAILED
                status = getattr(exc, "status_code", None)
                return jr.Outcome(row, state, status, reason=_reason(exc))
            limit, remaining = parse_rate_headers(response.headers)
            self.pacer.on_reply(Reply(sent_at, False, None, limit, remaining))
            return jr.Outcome(row, jr.CREATED, 201, activity_id)

    async def _backoff(self, attempt: int) -> None:
        """Per-row wait before re-sending after a 503 or a failed connect."""
        delay = min(8.0, 0.1 * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)  # noqa: S311
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), delay)
        if self.state.stop is not None:
            raise ImportStopped

    def _stop(self, why: str, exc: Exception) -> None:
        if self.state.stop is None:
            self.state.stop = why
            self.state.stop_message = _reason(exc)
            self.wake.set()
            self.stopping.set()
            self.pacer.wake()


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
