"""The import journal: a SQLite file that records every row's outcome.

One table row per file row, keyed by the row's number (its position among the
file's data rows), with a digest of what the row said, so that a re-run can
tell "the same row" from "an edited row". States:

    sending   committed to disk before the request leaves; if a run dies, the
              next run turns it into `unknown`
    created   201 received; never sent again
    unknown   the request may have reached the server (timeout or connection
              lost after sending, 500/502/504, a run that died mid-request);
              sent again only with --retry-unknown
    failed    the API refused it or it could not be sent, nothing was created;
              sent again by the next run
    invalid   the row failed validation; checked again by the next run

Writes come in batches: one transaction carries the outcomes that arrived
since the last one and the `sending` marks of the next rows to go (group
commit). WAL with synchronous=FULL makes each commit durable before the rows
it marks are released, also across a power cut. The journal stores no
content and no token: only positions, digests, keys, client IDs, statuses,
and the API root its rows were sent to.

One run at a time: a run holds an exclusive lock on the journal until it
ends (the operating system drops it if the process dies), so a second import
on the same journal, which would send the same rows again, is refused.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from spp_activities.rows import Row

SENDING: Final = "sending"
CREATED: Final = "created"
UNKNOWN: Final = "unknown"
FAILED: Final = "failed"
INVALID: Final = "invalid"
STATES = (SENDING, CREATED, UNKNOWN, FAILED, INVALID)
# States whose row may exist in SPP: editing such a row in the file is refused.
MAY_EXIST = (CREATED, UNKNOWN, SENDING)

SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows (
    number      INTEGER PRIMARY KEY,
    line        INTEGER NOT NULL,
    digest      BLOB NOT NULL,
    key         TEXT,
    client_id   TEXT NOT NULL,
    state       TEXT NOT NULL,
    http_status INTEGER,
    activity_id INTEGER,
    reason      TEXT,
    sends       INTEGER NOT NULL DEFAULT 0,
    updated_at  REAL NOT NULL,
    prev_state  TEXT,
    prev_status INTEGER,
    prev_reason TEXT
);
"""

_MARK_SENDING = """
INSERT INTO rows (number, line, digest, key, client_id, state, sends, updated_at)
VALUES (?, ?, ?, ?, ?, 'sending', 1, ?)
ON CONFLICT (number) DO UPDATE SET
    line = excluded.line, digest = excluded.digest, key = excluded.key,
    client_id = excluded.client_id, state = 'sending', http_status = NULL,
    activity_id = NULL, reason = NULL, sends = rows.sends + 1,
    updated_at = excluded.updated_at, prev_state = rows.state,
    prev_status = rows.http_status, prev_reason = rows.reason
"""

_RECORD = """
INSERT INTO rows (number, line, digest, key, client_id, state, http_status, activity_id,
                  reason, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (number) DO UPDATE SET
    line = excluded.line, digest = excluded.digest, key = excluded.key,
    client_id = excluded.client_id, state = excluded.state,
    http_status = excluded.http_status, activity_id = excluded.activity_id,
    reason = excluded.reason, updated_at = excluded.updated_at
"""


class JournalError(Exception):
    """The journal cannot be used with this file (unreadable, or the file was edited)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one row."""

    row: Row
    state: str
    http_status: int | None = None
    activity_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """A row as the journal knows it."""

    number: int
    line: int
    digest: bytes
    key: str | None
    client_id: str
    state: str
    http_status: int | None
    activity_id: int | None
    reason: str | None


#: How a default journal's name ends: FILE + this, next to FILE.
DEFAULT_SUFFIX: Final = ".spp-import.sqlite"


def default_state_path(source: Path) -> Path:
    return source.with_name(source.name + DEFAULT_SUFFIX)


@dataclass(frozen=True, slots=True)
class Glance:
    """Another import's journal as `glance` read it."""

    path: Path
    counts: dict[str, int]
    digests: dict[int, bytes]  # row number -> digest, of the first rows it holds


def glance(path: Path, up_to: int) -> Glance | None:
    """Read the counts, and the digests of rows 1..`up_to`, of a journal this run does not own.

    Nothing is written and no lock is waited for, so a run using the journal is
    neither held up nor refused. A journal with no `-wal` file beside it was
    closed cleanly and everything is in the main file: it is read as immutable,
    taking no lock at all (a run that opens it meanwhile writes only to a new
    `-wal`) and leaving no `-shm` behind. A `-wal` file means a run holds the
    journal (its lock refuses this reader at once) or died (its last commits
    are in the `-wal`, read through a plain read-only connection). None when
    it is in use or cannot be read as a journal.
    """
    wal = path.with_name(path.name + "-wal")
    query = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?{query}", uri=True, timeout=0)
    except sqlite3.Error:
        return None
    try:
        version = db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        if version is None or version[0] != SCHEMA_VERSION:
            return None
        counts = dict.fromkeys(STATES, 0)
        for state, count in db.execute("SELECT state, COUNT(*) FROM rows GROUP BY state"):
            counts[state] = count
        digests = {
            int(number): bytes(digest)
            for number, digest in db.execute(
                "SELECT number, digest FROM rows WHERE number <= ?", (up_to,)
            )
        }
    except sqlite3.Error:
        return None
    finally:
        db.close()
    return Glance(path, counts, digests)


class Journal:
    """The journal of one import file. Use from one thread at a time."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        try:
            if read_only:
                uri = path.resolve().as_uri() + "?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=0)
            else:
                # timeout=0: a journal locked by another run is refused at once, not waited for.
                self._db = sqlite3.connect(
                    path, check_same_thread=False, isolation_level=None, timeout=0
                )
                # Set before WAL is entered: the lock is then kept until close().
                self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.executescript(_SCHEMA)
                self._db.execute("BEGIN EXCLUSIVE")
                self._db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,)
                )
                self._db.execute("COMMIT")
            version = self._db.execute("SELECT value FROM meta WHERE name='schema'").fetchone()
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorname", None) == "SQLITE_BUSY":
                raise JournalError(
                    f"the journal {str(path)!r} is in use by another import; "
                    "run one import per journal at a time (nothing was sent)"
                ) from None
            raise JournalError(
                f"cannot use journal {str(path)!r}: {exc} (--state chooses another path)"
            ) from None
        if version is None or version[0] != SCHEMA_VERSION:
            raise JournalError(f"{str(path)!r} is not an spp-activities import journal")

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------ reading

    def high_water(self) -> int:
        """The highest row number recorded (0 for a new journal)."""
        (value,) = self._db.execute("SELECT COALESCE(MAX(number), 0) FROM rows").fetchone()
        return int(value)

    def get(self, number: int) -> Entry | None:
        found = self._db.execute(
            "SELECT number, line, digest, key, client_id, state, http_status, activity_id, "
            "reason FROM rows WHERE number = ?",
            (number,),
        ).fetchone()
        return None if found is None else Entry(*found)

    def entries(self, states: Sequence[str] = STATES, up_to: int | None = None) -> Iterator[Entry]:
        """Rows in the given states (numbered up to `up_to`), in file order, streamed."""
        wanted = frozenset(states)
        cursor = self._db.execute(
            "SELECT number, line, digest, key, client_id, state, http_status, activity_id, "
            "reason FROM rows WHERE ?1 IS NULL OR number <= ?1 ORDER BY number",
            (up_to,),
        )
        for found in cursor:
            if found[5] in wanted:
                yield Entry(*found)

    def counts(self) -> dict[str, int]:
        result = dict.fromkeys(STATES, 0)
        for state, count in self._db.execute("SELECT state, COUNT(*) FROM rows GROUP BY state"):
            result[state] = count
        return result

    # ------------------------------------------------------------ writing

    def bind(self, api_root: str) -> None:
        """Record the API root this journal's rows are sent to.

        Rows created (or maybe created) through one API root would be skipped as
        "done before" through another, where they do not exist: say, a trial run
        against the sandbox followed by the real one with the same default journal.
        That is refused while any such row exists; a journal whose rows created
        nothing anywhere may move.
        """
        found = self._db.execute("SELECT value FROM meta WHERE name = 'api_root'").fetchone()
        recorded = None if found is None else str(found[0])
        if recorded == api_root:
            return
        if recorded is not None:
            counts = self.counts()
            may_exist = sum(counts[state] for state in MAY_EXIST)
            if may_exist:
                raise JournalError(
                    f"the journal {str(self.path)!r} records {may_exist} row(s) created (or "
                    f"maybe created) through {recorded}, but this run goes to {api_root}; "
                    "nothing was sent. If it is the same workspace, use the address used "
                    "before; to import the file into another workspace, pass a new --state path"
                )
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('api_root', ?)", (api_root,))

    def recover(self) -> int:
        """Turn rows left `sending` by a run that died into `unknown`; returns how many."""
        cursor = self._db.execute(
            "UPDATE rows SET state = 'unknown', reason = ?, updated_at = ? WHERE state = 'sending'",
            (
                "the run stopped while the request was in flight; the activity may exist",
                time.time(),
            ),
        )
        return cursor.rowcount

    def commit(self, outcomes: Sequence[Outcome], sending: Sequence[Row]) -> None:
        """One durable transaction: record `outcomes`, then mark `sending` rows."""
        if not outcomes and not sending:
            return
        now = time.time()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if outcomes:
                db.executemany(
                    _RECORD,
                    [
                        (
                            o.row.number,
                            o.row.line,
                            o.row.digest,
                            o.row.key,
                            o.row.raw_client_id,
                            o.state,
                            o.http_status,
                            o.activity_id,
                            o.reason,
                            now,
                        )
                        for o in outcomes
                    ],
                )
            if sending:
                db.executemany(
                    _MARK_SENDING,
                    [(r.number, r.line, r.digest, r.key, r.raw_client_id, now) for r in sending],
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def forget(self, rows: Sequence[Row]) -> None:
        """Undo the `sending` marks of rows that were never sent (a clean stop)."""
        if not rows:
            return
        numbers = [(r.number,) for r in rows]
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "DELETE FROM rows WHERE number = ? AND state = 'sending' AND prev_state IS NULL",
                numbers,
            )
            db.executemany(
                "UPDATE rows SET state = prev_state, http_status = prev_status, "
                "reason = prev_reason, sends = sends - 1 WHERE number = ? AND state = 'sending'",
                numbers,
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
