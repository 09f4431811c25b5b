"""The journal's state transitions, its durability contract and what it never stores."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from spp_activities import journal as jr
from spp_activities.rows import Row, digest_of


def row(number: int, content: str = "hello", client_id: int = 1) -> Row:
    return Row(
        number=number,
        line=number + 1,
        offset=0,
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


def test_sending_mark_is_visible_to_another_connection_once_committed(
    journal: jr.Journal, tmp_path: Path
) -> None:
    journal.commit([], [row(1), row(2)])
    other = sqlite3.connect(tmp_path / "j.sqlite")
    found = other.execute("SELECT number, state FROM rows ORDER BY number").fetchall()
    other.close()
    assert found == [(1, "sending"), (2, "sending")]


def test_journal_uses_wal_with_full_sync(journal: jr.Journal) -> None:
    assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


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
