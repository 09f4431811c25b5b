"""The journal's state transitions, its durability contract and what it never stores."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from spp_activities.importer import journal as jr
from spp_activities.importer.rows import Row, digest_of
from spp_activities.importer.runner import _api_identity


def row(number: int, content: str = "hello", client_id: int = 1) -> Row:
    return Row(
        number=number,
        line=number + 1,
        key=f"k{number}",
        client_id=client_id,
        content=content,
        digest=digest_of(str(client_id), f"k{number}", content),
        raw_client_id=str(client_id),
    )


@pytest.fixture
def journal(tmp_path: Path) -> jr.Journal:
    return jr.Journal(tmp_path / "j.sqlite")


def state(journal: jr.Journal, number: int) -> str | None:
    entry = journal.get(number)
    return None if entry is None else entry.state


KILLED_AFTER_COMMIT = """
import os, signal, sys
from pathlib import Path
from spp_activities.importer import journal as jr
from spp_activities.importer.rows import Row
rows = [Row(n, n + 1, None, 1, "x", bytes(16), raw_client_id="1") for n in (1, 2)]
jr.Journal(Path(sys.argv[1])).commit([], rows)
os.kill(os.getpid(), signal.SIGKILL)  # no close, no checkpoint, no fsync
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sending_marks_survive_a_kill_right_after_commit(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_COMMIT, str(path)], capture_output=True, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    again = jr.Journal(path)
    assert [(e.number, e.state) for e in again.entries()] == [(1, "sending"), (2, "sending")]
    assert again.recover() == 2


def test_one_run_at_a_time_per_journal(journal: jr.Journal, tmp_path: Path) -> None:
    """A second run on the same journal would send the same rows again: refused."""
    with pytest.raises(jr.JournalError, match="in use by another import"):
        jr.Journal(tmp_path / "j.sqlite")
    with pytest.raises(jr.JournalError, match="in use by another import"):
        jr.Journal(tmp_path / "j.sqlite", read_only=True)
    journal.close()
    jr.Journal(tmp_path / "j.sqlite").close()  # free again once the run ends


def test_a_journal_stays_with_its_api_while_rows_may_exist_there(journal: jr.Journal) -> None:
    journal.bind("http://127.0.0.1:8000/api")
    journal.commit([jr.Outcome(row(1), jr.FAILED, 404, reason="404")], [])
    journal.bind("https://example.spp.co/api")  # nothing was created anywhere: it may move
    journal.commit([jr.Outcome(row(2), jr.CREATED, 201, 7)], [])
    journal.bind("https://example.spp.co/api")
    with pytest.raises(jr.JournalError, match=r"1 row\(s\) created .* through https://exa"):
        journal.bind("http://127.0.0.1:8000/api")


def test_journal_uses_wal_with_normal_sync(journal: jr.Journal) -> None:
    """A commit is a write to the WAL without fsync: it survives a killed process (the
    test above), and costs little enough to commit each row's mark before it leaves."""
    assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_outcomes_and_marks_in_one_commit(journal: jr.Journal) -> None:
    journal.commit([], [row(1), row(2), row(3)])
    journal.commit(
        [
            jr.Outcome(row(1), jr.CREATED, 201, 77),
            jr.Outcome(row(2), jr.FAILED, 404, reason="404 Not Found: Client not found."),
            jr.Outcome(row(3), jr.UNKNOWN, 500, reason="500"),
        ],
        [row(4)],
    )
    assert [state(journal, n) for n in (1, 2, 3, 4)] == ["created", "failed", "unknown", "sending"]
    created = journal.get(1)
    assert created is not None
    assert created.activity_id == 77
    assert created.http_status == 201
    assert journal.high_water() == 4
    assert journal.counts()[jr.CREATED] == 1


def test_recover_turns_sending_into_unknown(journal: jr.Journal, tmp_path: Path) -> None:
    journal.commit([jr.Outcome(row(1), jr.CREATED, 201, 1)], [row(2)])
    journal.close()  # the run died here
    again = jr.Journal(tmp_path / "j.sqlite")
    assert again.recover() == 1
    assert state(again, 2) == "unknown"
    assert state(again, 1) == "created"
    entry = again.get(2)
    assert entry is not None
    assert entry.reason is not None
    assert "may exist" in entry.reason


def test_forget_undoes_marks_of_rows_never_sent(journal: jr.Journal) -> None:
    journal.commit([jr.Outcome(row(2), jr.FAILED, 503, reason="503")], [])
    journal.commit([jr.Outcome(row(3), jr.UNKNOWN, 500, reason="was 500")], [])
    journal.commit([], [row(1), row(2), row(3)])  # new, failed before, unknown re-sent
    journal.forget([row(1), row(2), row(3)])
    assert state(journal, 1) is None  # as if never seen
    assert state(journal, 2) == "failed"
    unknown = journal.get(3)
    assert unknown is not None
    assert unknown.state == "unknown"
    assert unknown.reason == "was 500"


def test_entries_stream_in_file_order_by_state(journal: jr.Journal) -> None:
    journal.commit(
        [
            jr.Outcome(row(3), jr.UNKNOWN),
            jr.Outcome(row(1), jr.FAILED),
            jr.Outcome(row(2), jr.CREATED, 201, 5),
            jr.Outcome(row(4), jr.INVALID, reason="line 5: content is blank"),
        ],
        [],
    )
    assert [e.number for e in journal.entries((jr.FAILED, jr.UNKNOWN, jr.INVALID))] == [1, 3, 4]


def test_journal_stores_no_content(journal: jr.Journal, tmp_path: Path) -> None:
    secret = "confidential note about the client"
    journal.commit([jr.Outcome(row(1, secret), jr.CREATED, 201, 1)], [row(2, secret)])
    journal.close()
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert secret.encode() not in data


def test_a_foreign_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('schema', '99')")
    db.commit()
    db.close()
    with pytest.raises(jr.JournalError, match="not an spp-activities import journal"):
        jr.Journal(path)
    (tmp_path / "garbage.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(jr.JournalError, match="cannot use journal"):
        jr.Journal(tmp_path / "garbage.sqlite")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://Example.SPP.co/api", "https://example.spp.co/api"),
        ("https://example.spp.co:443/api", "https://example.spp.co/api"),
        ("http://[::1]:8000/api", "http://[::1]:8000/api"),
    ],
)
def test_the_api_a_journal_records_ignores_spelling(a: str, b: str) -> None:
    assert _api_identity(a) == _api_identity(b)


def test_the_api_a_journal_records_keeps_what_differs() -> None:
    roots = ["https://a.spp.co/api", "https://b.spp.co/api", "https://a.spp.co:8443/api"]
    roots += ["http://127.0.0.1:8000/api", "http://127.0.0.1:8001/api", "http://127.0.0.1:8000"]
    assert len({_api_identity(r) for r in roots}) == len(roots)
