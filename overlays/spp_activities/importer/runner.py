"""`spp-activities import FILE`: create one activity per row, resumably.

The run, in order:

1. Check the file can be read (format, delimiter, header) and that all of it
   decodes in the chosen encoding, then open the journal (`journal.py`),
   which locks it for this run and checks it belongs to the same API. Rows a
   dead run left `sending` become `unknown`. Before a new default journal is
   made, a file imported before under another name is refused (`earlier.py`).
2. One pass over the file counts the rows (for the progress display) and
   compares every row the journal knows with what the file says now. If a row
   that was created, or may have been, changed at its position, the run stops
   before sending anything: the file was edited, and going on would mis-map
   rows. (A first run without a progress display skips this pass.)
3. The feeder reads rows one at a time and decides each from the journal
   (new, done before, skipped, unknown, failed before, invalid), recording
   the invalid ones; the rows to send wait in a short queue, unmarked.
4. `concurrency` workers share one AsyncSPPClient (one connection pool, no
   retries of its own) and one pacer (`pacing.py`). A worker waits for the
   pacer, marks its row `sending` (durable, in a group commit with the
   outcomes that arrived meanwhile: `_JournalWriter`), sends it, and asks the
   importer's `RetryPolicy` (`retry.py`, the one place that decides what may
   be re-sent and after how long) whether to send it again. Anything that
   may have created the activity is recorded `unknown` and never re-sent
   unless the user passes --retry-unknown or decides it in the worksheet.
5. At the end (or on Ctrl-C, when the token is refused, or when the API cannot
   be reached) the journal is settled, the worksheet (`worksheet.py`) lists
   every failed, invalid and unknown row, and a summary is printed
   (`output.py`).

Memory does not depend on the file's size: rows are streamed, and per-row
state lives in the journal on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from spp_activities import errors
from spp_activities.importer import journal as jr
from spp_activities.importer.earlier import ImportedBeforeError, check_not_imported_before
from spp_activities.importer.output import (
    Output,
    Progress,
    ProgressMode,
    StopReason,
    Tally,
    default_report_path,
    print_summary,
    problem_line,
)
from spp_activities.importer.pacing import (
    AsyncPacer,
    Pacer,
    Reply,
    parse_rate_headers,
    wait_set,
)
from spp_activities.importer.rows import (
    FileFormatError,
    Row,
    Source,
)
from spp_activities.importer.worksheet import WorksheetError, apply_worksheet, write_worksheet
from spp_activities.retry import RetryPolicy

if TYPE_CHECKING:
    from spp_activities.client import AsyncSPPClient


_DEFAULT_PORTS = {"https": 443, "http": 80}

PROBLEM_LINES_SHOWN = 20
CONFLICTS_SHOWN = 3

#: The importer's retry policy: it re-sends only what created nothing, as the client's
#: default does, starting sooner; --max-attempts bounds the attempts per row.
IMPORT_RETRY_POLICY = RetryPolicy(backoff_initial=0.2, backoff_max=8.0, retry_after_max=60.0)


class ImportOutcome(StrEnum):
    """How a run ended; the command line maps each to its exit code."""

    DONE = "done"  # every row created or skipped (or, for a dry run, valid)
    INCOMPLETE = "incomplete"  # some rows failed, are invalid or unknown: see the report
    REFUSED = "refused"  # the API refused the token
    INVALID = "invalid"  # the file, journal, report or settings were refused; nothing sent
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM; the same command continues


class ImportStopped(Exception):
    """Raised inside a worker when the run is stopping and a row was not sent."""


@dataclass
class _Settings:
    source: Source
    concurrency: int
    retry_unknown: bool
    skip_invalid: bool
    max_attempts: int
    progress: ProgressMode
    out: Output
    err: Output


@dataclass
class _State:
    stop: StopReason | None = None
    stop_message: str | None = None
    problems_shown: int = 0


def run_import(
    path: Path,
    *,
    file_format: str | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    concurrency: int = 8,
    state_path: Path | None = None,
    report_path: Path | None = None,
    dry_run: bool = False,
    retry_unknown: bool = False,
    skip_invalid: bool = False,
    apply: Path | None = None,
    max_attempts: int = 10,
    progress: str = "auto",
    client_options: Mapping[str, Any] | None = None,
    out: Output | None = None,
    err: Output | None = None,
) -> ImportOutcome:
    """Run an import; returns how it ended. See the module docstring.

    With `apply`, apply the decisions of a filled-in report (worksheet) to the
    journal instead (with `dry_run`, only say what they would do); the next
    run honours them."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    client: AsyncSPPClient | None = None
    journal: jr.Journal | None = None
    for flag, value in (("--concurrency", concurrency), ("--max-attempts", max_attempts)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{flag} must be a whole number >= 1, got {value!r}")
    try:
        source = Source.open(path, file_format, encoding, delimiter)
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
        # A file in another encoding stops here, before sending (or applying: the
        # decisions are matched to the file's rows by what they say).
        source.check_decodes()
        if apply is not None:
            return _apply(source, state_path, apply, dry_run, out)
        settings = _Settings(
            source,
            concurrency,
            retry_unknown,
            skip_invalid,
            max_attempts,
            ProgressMode(progress),
            out,
            err,
        )
        if default_state and not state_path.exists():
            # A renamed or copied file would get a new journal: all its rows sent again.
            check_not_imported_before(source)
        if dry_run:
            return _dry_run(settings, state_path, report_path)
        # The client checks the configuration before the journal is created.
        from spp_activities.client import AsyncSPPClient

        client = AsyncSPPClient(**dict(client_options or {}), max_retries=0)
        journal = jr.Journal(state_path)
        journal.bind(_api_identity(client.base_url))
        return _run(settings, journal, report_path, client)
    except (
        FileFormatError,
        jr.JournalError,
        ImportedBeforeError,
        errors.ConfigurationError,
        WorksheetError,
    ) as exc:
        print(f"spp-activities: error: {exc}", file=err)
        return ImportOutcome.INVALID
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


def _apply(
    source: Source, state_path: Path, report: Path, dry_run: bool, out: Output
) -> ImportOutcome:
    if not state_path.exists():
        raise WorksheetError(
            f"no journal at {state_path}: a report is applied to the journal of the import "
            "it came from (pass the same --state as that import)"
        )
    journal = jr.Journal(state_path, read_only=dry_run)
    try:
        if not dry_run:
            journal.recover()  # rows a dead run left `sending` are unknown, and can be decided
        apply_worksheet(source, journal, report, out, dry_run=dry_run)
    finally:
        journal.close()
    return ImportOutcome.DONE


# ---------------------------------------------------------------- checks


def _check_against_journal(source: Source, journal: jr.Journal) -> tuple[int, list[str], int]:
    """Count the file's rows and compare them with the journal.

    Returns (rows in the file, the first few conflicts, how many conflicts). A
    conflict is a row that was created, or may have been, and now says something
    else. Only a few are kept: a wholly different file must not fill the memory.
    """
    known = journal.entries(jr.MAY_EXIST) if journal.high_water() else iter(())
    entry = next(known, None)
    conflicts: list[str] = []
    total = count = 0
    for row in source.rows():
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


def _refuse_edited(source: Source, journal: jr.Journal, conflicts: list[str], count: int) -> None:
    shown = "; ".join(conflicts) + (
        f"; and {count - len(conflicts)} more" if count > len(conflicts) else ""
    )
    raise FileFormatError(
        f"{source.path} changed since the journal {journal.path} was written: {shown}. "
        "Rows may only be appended, or edited where nothing was created. Nothing was sent. "
        "To import the edited file as a new import, pass a new --state path "
        "(rows created before would then be created again)."
    )


def _dry_run(settings: _Settings, state_path: Path, report_path: Path) -> ImportOutcome:
    """Validate every row, send nothing; the invalid rows go to the worksheet."""
    err = settings.err
    source = settings.source
    total = invalid = 0
    for row in source.rows():
        total += 1
        if row.error is not None:
            invalid += 1
            if invalid <= PROBLEM_LINES_SHOWN:
                print(problem_line("invalid", row, row.error), file=err)
    if invalid > PROBLEM_LINES_SHOWN:
        print(f"... and {invalid - PROBLEM_LINES_SHOWN} more invalid rows", file=err)
    line = f"Dry run of {source.path}: {total} rows, {total - invalid} valid, {invalid} invalid."
    conflicts = 0
    journal = jr.Journal(state_path, read_only=True) if state_path.exists() else None
    try:
        if journal is not None:
            _, shown, conflicts = _check_against_journal(source, journal)
            counts = journal.counts(up_to=total)
            for text in shown:
                print(f"conflict with the journal: {text}", file=err)
            line += (
                f" Journal {state_path}: {counts[jr.CREATED]} created before, "
                f"{counts[jr.UNKNOWN] + counts[jr.SENDING]} unknown"
                f"{f', {conflicts} CONFLICTS: the file was edited' if conflicts else ''}."
            )
        problems = write_worksheet(
            source, journal, report_path, total, dry_run=True, out=settings.out
        )
    finally:
        if journal is not None:
            journal.close()
    print(line + " Nothing was sent.", file=settings.out)
    if problems:
        print(f"Worksheet of the {problems} invalid row(s): {report_path}", file=settings.out)
    if conflicts:
        return ImportOutcome.INVALID  # the real run would refuse the file
    return ImportOutcome.DONE if invalid == 0 else ImportOutcome.INCOMPLETE


# ---------------------------------------------------------------- the run


def _run(
    settings: _Settings,
    journal: jr.Journal,
    report_path: Path,
    client: AsyncSPPClient,
) -> ImportOutcome:
    source = settings.source
    recovered = journal.recover()
    if recovered:
        print(
            f"{recovered} row(s) were in flight when an earlier run stopped: their outcome is "
            "unknown (decide them in the report's worksheet, see --apply)",
            file=settings.err,
        )
    total: int | None = None
    if journal.high_water() or settings.progress is not ProgressMode.NONE:
        # Compare with the journal, and count the rows for the progress display.
        total, conflicts, count = _check_against_journal(source, journal)
        if count:
            _refuse_edited(source, journal, conflicts, count)

    tally = Tally(total=total or 0)
    if total is not None:
        tally.to_send = total - journal.settled(up_to=total, retry_unknown=settings.retry_unknown)
    state = _State()
    runner = _Runner(settings, journal, client, tally, state)
    started = time.monotonic()
    try:
        asyncio.run(runner.main())
    except KeyboardInterrupt:
        state.stop = StopReason.INTERRUPTED
    finally:
        # Only rows a hard stop (a second Ctrl-C) left in flight remain `sending`.
        tally.unknown += journal.recover()
    elapsed = time.monotonic() - started
    if total is None:
        # A first run without a progress display: the file's total, also when it stopped early.
        tally.total = runner.rows_read if runner.exhausted else source.count_rows()

    problems = write_worksheet(source, journal, report_path, tally.total, out=settings.out)
    counts = journal.counts(up_to=tally.total)
    print_summary(
        settings.out,
        source.path,
        tally,
        counts,
        (state.stop, state.stop_message),
        elapsed,
        problems,
        report_path,
        journal.path,
    )
    if state.stop is StopReason.AUTHENTICATION:
        return ImportOutcome.REFUSED
    if state.stop is StopReason.INTERRUPTED:
        return ImportOutcome.INTERRUPTED
    settled = counts[jr.CREATED] + counts[jr.SKIPPED]
    return ImportOutcome.DONE if settled == tally.total else ImportOutcome.INCOMPLETE


@dataclass
class _Decided:
    """How the feeder decided one batch of rows."""

    sending: list[Row] = field(default_factory=list)
    problems: list[jr.Outcome] = field(default_factory=list)  # invalid, or skipped now
    done_before: int = 0  # created or skipped by an earlier run (or decision)
    unknown: int = 0  # unknown before, not re-sent


class _JournalWriter:
    """Writes to the journal from the event loop, in its own thread, one transaction at a
    time: each `sending` mark goes with every outcome and mark waiting (group commit)."""

    def __init__(self, journal: jr.Journal) -> None:
        self.journal = journal
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spp-journal")
        self.outcomes: list[jr.Outcome] = []
        self._marks: list[tuple[Row, asyncio.Future[None]]] = []
        self._committing = False

    async def call(self, fn: Any, *args: Any) -> Any:
        """Run `fn` in the journal's thread, after the writes queued before it."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def record(self, outcome: jr.Outcome) -> None:
        """Queue an outcome for the next commit."""
        self.outcomes.append(outcome)

    async def mark_sending(self, row: Row) -> None:
        """Return once the row's `sending` mark (and the outcomes before it) are committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._marks.append((row, done))
        if not self._committing:
            self._committing = True
            asyncio.get_running_loop().create_task(self._commit_marks())
        await done

    async def _commit_marks(self) -> None:
        try:
            while self._marks:
                marks, self._marks = self._marks, []
                outcomes, self.outcomes = self.outcomes, []
                try:
                    await self.call(self.journal.commit, outcomes, [row for row, _ in marks])
                except Exception as exc:  # the journal failed (a full disk): no row may leave
                    for _, done in [*marks, *self._marks]:
                        if not done.done():
                            done.set_exception(exc)
                    self._marks = []
                    self.outcomes = outcomes + self.outcomes  # for the final flush to retry
                    return
                for _, done in marks:
                    if not done.done():
                        done.set_result(None)
        finally:
            self._committing = False

    async def flush(self, extra: list[jr.Outcome] | None = None) -> None:
        """Commit the outcomes waiting (and `extra`)."""
        outcomes, self.outcomes = self.outcomes, []
        outcomes += extra or []
        if outcomes:
            await self.call(self.journal.commit, outcomes, [])

    def close(self) -> None:
        self.executor.shutdown(wait=True)


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
        self.retry = IMPORT_RETRY_POLICY
        # A Retry-After the policy does not wait out does not pause the run longer either.
        self.pacer = AsyncPacer(Pacer(max_pause=self.retry.retry_after_max))
        self.high_water = journal.high_water()
        self.ready: asyncio.Queue[Row | None] = asyncio.Queue()
        self.capacity = 2 * settings.concurrency
        self.wake = asyncio.Event()
        self.writer = _JournalWriter(journal)
        self.progress = Progress(settings.err, settings.progress, tally)
        self.workers: list[asyncio.Task[None]] = []
        self.stopping = asyncio.Event()
        self.rows_read = 0
        self.exhausted = False

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
                    await self.writer.flush()  # the tail: record outcomes as the last end
        finally:
            # The tasks end on their own too, not only by cancellation: a failed run
            # (a full disk, say) must end even if a cancellation is lost.
            self._wake_all()
            for task in (*workers, feeder):
                task.cancel()
            await asyncio.gather(*workers, feeder, return_exceptions=True)
            try:
                # Also after a hard stop or a failure: each outcome known is kept.
                await self.writer.flush()
            finally:  # even if the journal failed (a full disk, say)
                with contextlib.suppress(Exception):
                    await self.client.aclose()
                for sig in installed:
                    loop.remove_signal_handler(sig)
                self.writer.close()
                self.progress.close()

    def _on_signal(self) -> None:
        if self.state.stop is None:
            self.state.stop = StopReason.INTERRUPTED
            self.progress.note(
                "stopping: finishing the requests in flight (Ctrl-C again to stop at once; "
                "those rows would then be unknown)"
            )
            self._wake_all()
        else:
            # A second Ctrl-C: stop at once; rows in flight stay `sending` -> unknown.
            self.progress.note("stopping now: rows in flight will be reported unknown")
            for task in self.workers:
                task.cancel()

    def _going_on(self) -> bool:
        """False once the run stops: asked to (state.stop), or ending (a task failed)."""
        return self.state.stop is None and not self.stopping.is_set()

    def _wake_all(self) -> None:
        self.wake.set()
        self.stopping.set()
        self.pacer.wake()

    # ------------------------------------------------------------ feeder

    async def _feed(self) -> None:
        """Reads rows, decides each from the journal, and queues those to send."""
        rows = self.s.source.rows()
        try:
            while self._going_on():
                room = self.capacity - self.ready.qsize()
                if room < max(1, self.s.concurrency // 2):
                    self.wake.clear()
                    await wait_set(self.wake, 0.05)
                    continue
                batch = []
                for row in rows:
                    self.rows_read += 1
                    batch.append(row)
                    if len(batch) >= room:
                        break
                else:
                    self.exhausted = True
                decided: _Decided = await self.writer.call(self._decide, batch)
                if decided.problems:
                    await self.writer.flush(decided.problems)
                for row in decided.sending:
                    self.ready.put_nowait(row)
                self.tally.done_before += decided.done_before
                self.tally.unknown_before += decided.unknown
                for outcome in decided.problems:
                    self._count(outcome)
                self.progress.update()
                if self.exhausted:
                    break
        finally:
            rows.close()
        for _ in range(self.s.concurrency):
            self.ready.put_nowait(None)

    def _decide(self, batch: list[Row]) -> _Decided:
        """In the journal thread: what to do with each row of a batch."""
        decided = _Decided()
        for row in batch:
            entry = self.journal.get(row.number) if row.number <= self.high_water else None
            state = None if entry is None else entry.state
            if state is jr.CREATED or (
                state is jr.SKIPPED and entry is not None and entry.digest == row.digest
            ):
                decided.done_before += 1
            elif state is jr.UNKNOWN and not self.s.retry_unknown:
                decided.unknown += 1
            elif row.error is not None:
                decided.problems.append(self._invalid(row, row.error))
            elif self.s.skip_invalid and entry is not None and _rejected(entry):
                reason = f"skipped (--skip-invalid): {entry.reason or entry.http_status}"
                skipped = jr.Outcome(row, jr.SKIPPED, entry.http_status, None, reason)
                decided.problems.append(skipped)
            else:
                decided.sending.append(row)
        return decided

    def _invalid(self, row: Row, reason: str) -> jr.Outcome:
        if self.s.skip_invalid:
            return jr.Outcome(row, jr.SKIPPED, reason=f"skipped (--skip-invalid): {reason}")
        return jr.Outcome(row, jr.INVALID, reason=reason)

    # ------------------------------------------------------------ workers

    async def _worker(self) -> None:
        while True:
            row = await self.ready.get()
            if row is None:
                return
            if self.ready.qsize() < self.s.concurrency:
                self.wake.set()  # let the feeder top the queue up in time
            if not self._going_on():
                continue  # queued rows are not marked: nothing to undo
            try:
                outcome = await self._send(row)
            except ImportStopped:
                continue
            self.tally.sent += 1
            self._count(outcome)
            self.writer.record(outcome)
            self.progress.update()

    def _count(self, outcome: jr.Outcome) -> None:
        tally = self.tally
        if outcome.state is jr.CREATED:
            tally.created += 1
        elif outcome.state is jr.SKIPPED:
            tally.skipped += 1
        elif outcome.state is jr.UNKNOWN:
            tally.unknown += 1
            self._problem(outcome.row, "unknown", outcome.reason or "")
        elif outcome.state is jr.INVALID:
            tally.invalid += 1
            self._problem(outcome.row, "invalid", outcome.reason or "")
        else:
            tally.failed += 1
            if outcome.http_status not in (401, 403):  # the token, not the row: said once
                self._problem(outcome.row, "failed", outcome.reason or "")

    def _problem(self, row: Row, what: str, reason: str) -> None:
        self.state.problems_shown += 1
        if self.state.problems_shown <= PROBLEM_LINES_SHOWN:
            self.progress.note(problem_line(what, row, reason))
        elif self.state.problems_shown == PROBLEM_LINES_SHOWN + 1:
            self.progress.note("more problems: see the report at the end")

    async def _send(self, row: Row) -> jr.Outcome:
        """Send one row until it has an outcome, re-sending only what the policy allows."""
        assert row.client_id is not None
        marked = False
        attempt = 0
        while True:
            attempt += 1
            sent_at = await self._wait_turn(row, marked)
            if not marked:
                await self.writer.mark_sending(row)
                marked = True
                sent_at = self.pacer.now()  # it leaves now, once the mark is committed
            self.tally.requests += 1
            try:
                response = await self.client.activities.with_raw_response.create(
                    row.client_id, row.content
                )
                activity_id = response.parse().id
            except errors.SPPError as exc:
                self._tell_pacer(sent_at, exc)
                retry = self.retry.decide(exc, attempt - 1, self.s.max_attempts - 1)
                if retry is None:
                    return self._outcome_of(row, exc)
                await self._pause(retry.delay, row)
                continue
            limit, remaining = parse_rate_headers(response.headers)
            self.pacer.on_reply(Reply(sent_at, False, None, limit, remaining))
            return jr.Outcome(row, jr.CREATED, 201, activity_id)

    async def _wait_turn(self, row: Row, marked: bool) -> float:
        """Wait for the pacer; a stop before the row leaves puts it back. The send time."""
        if self._going_on():
            sent_at = await self.pacer.acquire()
            if self._going_on():
                return sent_at
            self.pacer.on_failure()
        # Every earlier attempt created nothing, so the row can go back as it was.
        if marked:
            await self.writer.call(self.journal.forget, [row])
        raise ImportStopped

    def _tell_pacer(self, sent_at: float, exc: errors.SPPError) -> None:
        """What the pacer needs from a failed request: throttled, and the budget headers."""
        if not isinstance(exc, errors.APIStatusError):
            self.pacer.on_failure()
            return
        limit, remaining = parse_rate_headers(exc.response.headers)
        throttled = isinstance(exc, errors.RateLimitError)
        if throttled:
            self.tally.throttled += 1
        self.pacer.on_reply(
            Reply(sent_at, throttled, exc.retry_after if throttled else None, limit, remaining)
        )

    def _outcome_of(self, row: Row, exc: errors.SPPError) -> jr.Outcome:
        """The journal's outcome of a row whose last attempt failed (and is not retried)."""
        status = getattr(exc, "status_code", None)
        if isinstance(exc, errors.AuthenticationError | errors.PermissionDeniedError):
            self._stop(StopReason.AUTHENTICATION, exc)
            return jr.Outcome(row, jr.FAILED, status, reason=_reason(exc))
        if exc.may_have_been_created:
            return jr.Outcome(row, jr.UNKNOWN, status, reason=_reason(exc))
        if isinstance(exc, errors.InvalidInputError):
            return self._invalid(row, _reason(exc))
        if self.retry.reason(exc) is not None:
            # Retryable, but out of attempts though nothing was created: the rest would
            # fare no better (an exhausted quota, an outage); going on would take hours.
            self._stop(StopReason.UNAVAILABLE, exc)
            return jr.Outcome(row, jr.FAILED, status, reason=_reason(exc))
        if self.s.skip_invalid and status is not None and _rejected_status(status):
            reason = f"skipped (--skip-invalid): {_reason(exc)}"
            return jr.Outcome(row, jr.SKIPPED, status, reason=reason)
        return jr.Outcome(row, jr.FAILED, status, reason=_reason(exc))

    async def _pause(self, delay: float, row: Row) -> None:
        """The row's wait before it is sent again; a stop puts it back instead."""
        await wait_set(self.stopping, delay)
        if not self._going_on():
            await self.writer.call(self.journal.forget, [row])
            raise ImportStopped

    def _stop(self, why: StopReason, exc: Exception) -> None:
        if self.state.stop is None:
            self.state.stop = why
            self.state.stop_message = _reason(exc)
            self._wake_all()


def _rejected_status(status: int) -> bool:
    """The API refused the row itself (404 unknown client, 422...): nothing was created,
    and sending it again would be refused again."""
    return 400 <= status < 500 and status not in (401, 403, 408, 409, 425, 429)


def _rejected(entry: jr.Entry) -> bool:
    return entry.state is jr.INVALID or (
        entry.state is jr.FAILED
        and entry.http_status is not None
        and _rejected_status(entry.http_status)
    )


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
