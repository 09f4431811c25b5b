"""Where the sandbox keeps activities: SQLite, one connection guarded by a lock."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spp_activities.sandbox.options import SandboxOptionError
from spp_activities.vendor import vendor_timestamp

_SCHEMA = """
CREATE TABLE IF NOT EXISTS activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id INTEGER NOT NULL,
    content TEXT NOT NULL,
    author_id INTEGER NOT NULL,
    author_name TEXT NOT NULL,
    author_email TEXT NOT NULL,
    api_version TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS activities_client_id ON activities (client_id);
"""
_SQLITE_MIN, _SQLITE_MAX = -(2**63), 2**63 - 1
_COLUMNS = (
    "id, client_id, content, author_id, author_name, author_email, api_version, "
    "created_at, updated_at"
)


@dataclass(frozen=True, slots=True)
class Author:
    """The user a token belongs to; the author of what that token creates."""

    id: int
    name: str
    email: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "email": self.email}


class ActivityStore:
    """Activities in SQLite. `path=None` keeps them in memory for the life of the store.

    A file database uses WAL with synchronous=NORMAL, so writes are quick and what was
    stored survives a restart of the sandbox.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = None if path is None else Path(path)
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(
                ":memory:" if self.path is None else str(self.path),
                check_same_thread=False,
                isolation_level=None,
            )
        except sqlite3.Error as exc:
            raise SandboxOptionError(f"db: cannot open the file: {exc}") from None
        try:
            if self.path is not None:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            self._conn.close()
            raise SandboxOptionError(
                f"db: the file cannot hold the sandbox's activities: {exc}"
            ) from None

    def add(
        self, *, client_id: int, content: str, author: Author, api_version: str
    ) -> dict[str, Any]:
        """Store an activity and return it as the inspection routes show it."""
        stamp = vendor_timestamp(datetime.now(UTC))
        with self._lock:
            cursor = self._conn.execute(
                "INSERT INTO activities (client_id, content, author_id, author_name, author_email,"
                " api_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    client_id,
                    content,
                    author.id,
                    author.name,
                    author.email,
                    api_version,
                    stamp,
                    stamp,
                ),
            )
            activity_id = cursor.lastrowid
        assert activity_id is not None
        return {
            "id": activity_id,
            "client_id": client_id,
            "content": content,
            "created_at": stamp,
            "updated_at": stamp,
            "author": author.to_json(),
            "api_version": api_version,
        }

    def activities(self, client_id: int | None = None) -> list[dict[str, Any]]:
        """Every stored activity in creation order, optionally for one client only."""
        query = f"SELECT {_COLUMNS} FROM activities"  # noqa: S608 - constant column list
        params: tuple[int, ...] = ()
        if client_id is not None and not _SQLITE_MIN <= client_id <= _SQLITE_MAX:
            return []  # nothing can be stored under an ID beyond SQLite's INTEGER
        if client_id is not None:
            query += " WHERE client_id = ?"
            params = (client_id,)
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY id", params).fetchall()
        return [_row_to_json(row) for row in rows]

    def count(self) -> int:
        with self._lock:
            (total,) = self._conn.execute("SELECT COUNT(*) FROM activities").fetchone()
        return int(total)

    def clear(self) -> None:
        """Forget every activity; IDs start again at 1."""
        with self._lock:
            self._conn.execute("DELETE FROM activities")
            self._conn.execute("DELETE FROM sqlite_sequence WHERE name = 'activities'")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _row_to_json(row: tuple[Any, ...]) -> dict[str, Any]:
    activity_id, client_id, content, author_id, name, email, api_version, created, updated = row
    return {
        "id": activity_id,
        "client_id": client_id,
        "content": content,
        "created_at": created,
        "updated_at": updated,
        "author": {"id": author_id, "name": name, "email": email},
        "api_version": api_version,
    }
