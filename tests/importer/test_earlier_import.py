"""A renamed or copied import file is not imported a second time by accident.

Over real HTTP against the sandbox: the journal takes the file's name, so a
renamed file run without --state would otherwise start a new, empty journal and
send every row again.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from import_helpers import Run, append_csv, copies, numbered_rows, write_csv
from spp_activities.importer.journal import Journal
from spp_activities.importer.rows import read_rows
from spp_activities.sandbox import Sandbox

HEADER = ["client_id", "content"]


def test_a_renamed_file_is_refused_until_the_journal_is_chosen(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    path = write_csv(tmp_path / "notes.csv", numbered_rows(20), HEADER)
    env = {"workspace": sandbox.workspace_url, "token": sandbox.token}
    assert run_cli(["import", path], **env).code == 0
    renamed = path.rename(tmp_path / "notes-final.csv")
    append_csv(renamed, numbered_rows(25, start=20))  # and rows added since: still that import
    old = tmp_path / "notes.csv.spp-import.sqlite"

    refused = run_cli(["import", renamed], **env)
    assert refused.code == 2
    assert len(refused.err.strip().splitlines()) == 1
    assert (
        f"notes-final.csv looks like notes.csv, which was imported with journal {old} "
        f"(20 rows created): pass --state {old} to continue that import" in refused.err
    )
    assert sandbox.stats()["requests"] == 20  # nothing more was sent
    # No new journal or report, and nothing left beside the journal that was read.
    assert list(tmp_path.glob("notes-final.csv*")) == [renamed]
    assert list(tmp_path.glob("notes.csv*")) == [old]

    dry = run_cli(["import", renamed, "--dry-run"])  # predicts the real run
    assert dry.code == 2
    assert f"pass --state {old}" in dry.err

    resumed = run_cli(["import", renamed, "--state", old], **env)
    assert resumed.code == 0, resumed.err
    assert "This run: created 5, failed 0, invalid 0, unknown 0, done before 20 " in resumed.out
    stored = copies(sandbox.activities())
    assert len(stored) == 25
    assert set(stored.values()) == {1}

    # A new --state is an explicit new import: everything is sent again (the message said so).
    again = run_cli(["import", renamed, "--state", tmp_path / "second.sqlite"], **env)
    assert again.code == 0, again.err
    assert set(copies(sandbox.activities()).values()) == {2}


def test_unrelated_files_and_journals_that_created_nothing_do_not_block(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    env = {"workspace": sandbox.workspace_url, "token": sandbox.token}
    first = write_csv(tmp_path / "october.csv", numbered_rows(5), HEADER)
    assert run_cli(["import", first], **env).code == 0
    # Another file in the same directory: its first rows are its own.
    other = write_csv(tmp_path / "november.csv", numbered_rows(108, start=100), HEADER)
    result = run_cli(["import", other], **env)
    assert result.code == 0, result.err
    assert "created 8" in result.out

    # A run whose token was refused created nothing: renaming its file is harmless.
    refused = write_csv(tmp_path / "december.csv", numbered_rows(206, start=200), HEADER)
    denied = run_cli(["import", refused], workspace=sandbox.workspace_url, token="wrong-token")
    assert denied.code == 3
    assert len(sandbox.activities()) == 13
    renamed = refused.rename(tmp_path / "december-fixed.csv")
    retry = run_cli(["import", renamed], **env)
    assert retry.code == 0, retry.err
    stored = copies(sandbox.activities())
    assert len(stored) == 19
    assert set(stored.values()) == {1}


KILLED_MID_RUN = """
import os, signal, sys
from pathlib import Path
from spp_activities.importer import journal as jr
from spp_activities.importer.rows import read_rows
rows = list(read_rows(Path(sys.argv[1]), "csv"))
jr.Journal(Path(sys.argv[2])).commit([], rows)  # all marked `sending`, only in the -wal
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_the_journal_of_a_run_that_died_is_read_from_its_wal(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    path = write_csv(tmp_path / "notes.csv", numbered_rows(4), HEADER)
    journal = tmp_path / "notes.csv.spp-import.sqlite"
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_MID_RUN, str(path), str(journal)],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert (tmp_path / "notes.csv.spp-import.sqlite-wal").exists()
    renamed = path.rename(tmp_path / "notes-2.csv")
    result = run_cli(["import", renamed], workspace=sandbox.workspace_url, token=sandbox.token)
    assert result.code == 2
    assert "(0 rows created, 4 unknown)" in result.err
    assert sandbox.stats()["requests"] == 0


def test_a_journal_held_by_a_running_import_is_skipped_without_disturbing_it(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    """A run holds its journal locked: the check neither waits for it nor gets in its way,
    and skips it (the documented limit: a copy run next to a running import is not caught)."""
    path = write_csv(tmp_path / "notes.csv", numbered_rows(3), HEADER)
    copy = write_csv(tmp_path / "copy.csv", numbered_rows(3), HEADER)
    running = Journal(tmp_path / "notes.csv.spp-import.sqlite")
    try:
        running.commit([], list(read_rows(path, "csv")))  # three rows in flight
        result = run_cli(["import", copy], workspace=sandbox.workspace_url, token=sandbox.token)
        assert result.code == 0, result.err
        assert "created 3" in result.out
        assert running.recover() == 3  # the running import's journal still works
    finally:
        running.close()
