"""`spp-activities import` against the sandbox over real HTTP.

Rows are matched to stored activities by their (unique) content, read back
from the sandbox's store.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from import_helpers import (
    Run,
    append_csv,
    copies,
    numbered_rows,
    read_report,
    write_csv,
    write_jsonl,
)
from spp_activities.client import RawResponse
from spp_activities.importer.journal import Journal
from spp_activities.importer.pacing import Pacer, Reply
from spp_activities.sandbox import Sandbox

AWKWARD = [
    'He said "call me back", then hung up',
    "commas, everywhere, ,,",
    "first line\nsecond line\r\nthird line",
    "emoji 🎉👍🏽 and ünïcödé, 日本語",
    "long note: " + "x" * 10_240,
    "longer note, 200 kB in UTF-8, beyond the csv module's default field limit: " + "ü" * 100_000,
    "  spaces kept  ",
    "'single' and `back` quotes; semicolons;",
]


def test_csv_with_awkward_content_arrives_exactly(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    rows = [(i + 1, content, f"key-{i}") for i, content in enumerate(AWKWARD)]
    rows.append((8, AWKWARD[0], "dup"))  # identical content twice: two activities
    path = write_csv(tmp_path / "notes.csv", rows, ["client_id", "content", "key"])
    result = run_cli(["import", path], workspace=sandbox.workspace_url, token=sandbox.token)
    assert result.code == 0, result.err
    stored = sandbox.activities()
    assert sorted(a["content"] for a in stored) == sorted(r[1] for r in rows)
    assert copies(stored)[AWKWARD[0]] == 2
    for i, content in enumerate(AWKWARD):
        (match,) = [a for a in sandbox.activities(client_id=i + 1) if a["content"] == content]
        assert match["content"] == content
    assert f"created {len(rows)}," in result.out
    assert not (tmp_path / "notes.csv.spp-import-report.csv").exists()


def test_jsonl_with_awkward_content_arrives_exactly(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    rows = [{"client_id": i + 1, "content": c} for i, c in enumerate(AWKWARD)]
    path = write_jsonl(tmp_path / "notes.jsonl", rows)
    result = run_cli(["import", path], workspace=sandbox.workspace_url, token=sandbox.token)
    assert result.code == 0, result.err
    assert sorted(a["content"] for a in sandbox.activities()) == sorted(AWKWARD)


def test_bad_rows_are_reported_and_the_run_goes_on(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    rows = [
        (1, "fine one", "a"),
        ("abc", "bad id", "b"),
        (2, "   ", "c"),
        (999_999, "no such client", "d"),
        (3, "fine two", "e"),
    ]
    path = write_csv(tmp_path / "notes.csv", rows, ["client_id", "content", "key"])
    report = tmp_path / "report.csv"
    result = run_cli(
        ["import", path, "--report", report],
        workspace=sandbox.workspace_url,
        token=sandbox.token,
    )
    assert result.code == 8
    assert sorted(a["content"] for a in sandbox.activities()) == ["fine one", "fine two"]
    problems = {r["key"]: r for r in read_report(report)}
    assert set(problems) == {"b", "c", "d"}
    assert problems["b"]["line"] == "3"
    assert "client_id" in problems["b"]["reason"]
    assert problems["c"]["outcome"] == "invalid"
    assert "blank" in problems["c"]["reason"]
    assert problems["d"]["outcome"] == "failed"
    assert problems["d"]["http_status"] == "404"
    assert "Client not found" in problems["d"]["reason"]  # the server's own message
    assert "This run: created 2, failed 1, invalid 2, unknown 0" in result.out
    assert "All runs: created 2, skipped 0, failed 1, invalid 2, unknown 0." in result.out
    # Each problem is named once, in one format, with its row, line and key.
    assert "invalid: row 2 (line 3, key b): client_id must be" in result.err
    assert "invalid: row 3 (line 4, key c): content is blank" in result.err
    assert "failed: row 4 (line 5, key d): 404 Not Found" in result.err

    # Fix the bad rows in place (nothing was created for them) and run again.
    fixed = [(1, "fine one", "a"), (4, "bad id", "b"), (2, "now filled", "c")]
    fixed += [(5, "no such client", "d"), (3, "fine two", "e")]
    write_csv(path, fixed, ["client_id", "content", "key"])
    again = run_cli(
        ["import", path, "--report", report],
        workspace=sandbox.workspace_url,
        token=sandbox.token,
    )
    assert again.code == 0, again.err
    assert "This run: created 3, failed 0, invalid 0, unknown 0, done before 2 " in again.out
    assert sorted(copies(sandbox.activities()).values()) == [1] * 5
    assert not report.exists()  # no stale report


def test_rerun_skips_done_rows_and_picks_up_appended_ones(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    path = write_csv(tmp_path / "notes.csv", numbered_rows(30), ["client_id", "content"])
    args = ["import", path, "--concurrency", "4"]
    first = run_cli(args, workspace=sandbox.workspace_url, token=sandbox.token)
    assert first.code == 0, first.err
    append_csv(path, numbered_rows(45, start=30))
    second = run_cli(args, workspace=sandbox.workspace_url, token=sandbox.token)
    assert second.code == 0, second.err
    assert "This run: created 15, failed 0, invalid 0, unknown 0, done before 30 " in second.out
    assert "All runs: created 45, " in second.out
    third = run_cli(args, workspace=sandbox.workspace_url, token=sandbox.token)
    assert "This run: created 0, failed 0, invalid 0, unknown 0, done before 45 " in third.out
    stored = copies(sandbox.activities())
    assert len(stored) == 45
    assert set(stored.values()) == {1}
    assert sandbox.stats()["requests"] == 45


def test_an_edited_row_that_was_created_stops_the_run_before_sending(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    path = write_csv(tmp_path / "notes.csv", numbered_rows(10), ["client_id", "content"])
    assert run_cli(["import", path], workspace=sandbox.workspace_url, token=sandbox.token).code == 0
    rows = numbered_rows(12)
    rows.insert(3, (7, "a row inserted in the middle"))  # shifts every row after it
    write_csv(path, rows, ["client_id", "content"])
    result = run_cli(["import", path], workspace=sandbox.workspace_url, token=sandbox.token)
    assert result.code == 2
    assert "changed since the journal" in result.err
    assert "row 4 (line 5)" in result.err
    assert sandbox.stats()["requests"] == 10  # nothing more was sent


def test_dry_run_validates_everything_and_sends_nothing(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    rows = [*numbered_rows(5), ("x", "bad"), (1, "")]
    path = write_csv(tmp_path / "notes.csv", rows, ["client_id", "content"])
    result = run_cli(["import", path, "--dry-run"])  # no workspace, no token
    assert result.code == 8
    assert "7 rows, 5 valid, 2 invalid" in result.out
    # The same format as the run's problem lines.
    assert "invalid: row 6 (line 7): client_id must be a whole number" in result.err
    assert "invalid: row 7 (line 8): content is blank" in result.err
    assert sandbox.stats()["requests"] == 0
    assert not (tmp_path / "notes.csv.spp-import.sqlite").exists()
    good = write_csv(tmp_path / "good.csv", numbered_rows(5), ["client_id", "content"])
    assert run_cli(["import", good, "--dry-run"]).code == 0


def test_unreadable_files_exit_2(tmp_path: Path, run_cli: Callable[..., Run]) -> None:
    missing = run_cli(["import", tmp_path / "missing.csv", "--dry-run"])
    assert missing.code == 2
    assert "not found" in missing.err
    (tmp_path / "no-header.csv").write_text("1,hello\n", encoding="utf-8")
    assert run_cli(["import", tmp_path / "no-header.csv", "--dry-run"]).code == 2
    (tmp_path / "rows.txt").write_text("client_id,content\n1,x\n", encoding="utf-8")
    unknown_format = run_cli(["import", tmp_path / "rows.txt", "--dry-run"])
    assert unknown_format.code == 2
    assert "--format" in unknown_format.err


@pytest.mark.parametrize(
    ("value", "says"), [("0", "whole number >= 1"), ("101", "at most 100"), ("8x", "whole number")]
)
def test_concurrency_beyond_the_connection_pool_is_refused(
    tmp_path: Path, run_cli: Callable[..., Run], value: str, says: str
) -> None:
    path = write_csv(tmp_path / "notes.csv", [(1, "x", "a")], ["client_id", "content", "key"])
    result = run_cli(["import", path, "--dry-run", "--concurrency", value])
    assert result.code == 2
    assert says in result.err


def test_a_refused_token_stops_the_run_early_with_exit_3(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    path = write_csv(tmp_path / "notes.csv", numbered_rows(500), ["client_id", "content"])
    token = "wrong-token-a8f3c1"
    result = run_cli(
        ["import", path, "--concurrency", "2"], workspace=sandbox.workspace_url, token=token
    )
    assert result.code == 3
    assert "refused the token" in result.out
    # One line says it, not one per row in flight: the rows are not at fault.
    assert (result.out + result.err).count("401 Unauthorized") == 1
    assert sandbox.stats()["by_status"].get("401", 0) <= 10  # stopped, not 500 x 401
    assert sandbox.activities() == []
    for text in (
        result.out,
        result.err,
        (tmp_path / "notes.csv.spp-import-report.csv").read_text(),
    ):
        assert token not in text
    # The journal's bytes on disk (and any -wal/-shm beside it), not only its rows.
    journal_files = list(tmp_path.glob("notes.csv.spp-import.sqlite*"))
    assert journal_files
    assert all(token.encode() not in f.read_bytes() for f in journal_files)
    # The rows the 401s hit are failed (nothing created): the next run sends them.
    retry = run_cli(["import", path], workspace=sandbox.workspace_url, token=sandbox.token)
    assert retry.code == 0, retry.err
    assert set(copies(sandbox.activities()).values()) == {1}
    assert len(sandbox.activities()) == 500


def test_missing_configuration_exits_2_before_any_journal_exists(
    tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    path = write_csv(tmp_path / "notes.csv", numbered_rows(3), ["client_id", "content"])
    result = run_cli(["import", path], token="t")  # no workspace
    assert result.code == 2
    assert "SPP_WORKSPACE_URL" in result.err
    assert not (tmp_path / "notes.csv.spp-import.sqlite").exists()
    missing = run_cli(["import", tmp_path / "missing.csv"], workspace="127.0.0.1:9", token="t")
    assert missing.code == 2
    assert not (tmp_path / "missing.csv.spp-import.sqlite").exists()


def test_progress_bar_and_plain_lines(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    bar_file = write_csv(tmp_path / "bar.csv", numbered_rows(20), ["client_id", "content"])
    bar = run_cli(
        ["import", bar_file, "--progress", "bar"],
        workspace=sandbox.workspace_url,
        token=sandbox.token,
    )
    assert bar.code == 0, bar.err
    assert "20/20" in bar.err
    assert "row/s" in bar.err
    lines_file = write_csv(tmp_path / "lines.csv", numbered_rows(40, 20), ["client_id", "content"])
    lines = run_cli(
        ["import", lines_file, "--progress", "lines"],
        workspace=sandbox.workspace_url,
        token=sandbox.token,
    )
    assert lines.code == 0, lines.err
    last = lines.err.strip().splitlines()[-1]
    assert last.startswith("20/20 rows (100%)")
    assert "rows/s" in last
    assert "created 20" in last


def test_an_unreachable_api_stops_the_run_and_nothing_is_unknown(
    tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = write_csv(tmp_path / "notes.csv", numbered_rows(200), ["client_id", "content"])
    result = run_cli(
        ["import", path, "--max-attempts", "3", "--concurrency", "4"],
        workspace=f"http://127.0.0.1:{port}",
        token="t",
    )
    assert result.code == 8
    assert "Stopped early: the API did not take requests (Could not connect" in result.out
    assert "not processed" in result.out
    journal = sqlite3.connect(tmp_path / "notes.csv.spp-import.sqlite")
    states = dict(journal.execute("SELECT state, COUNT(*) FROM rows GROUP BY state").fetchall())
    journal.close()
    assert set(states) == {"failed"}  # nothing created, nothing unknown, nothing left sending
    assert states["failed"] <= 4


def test_a_second_import_on_the_same_journal_is_refused(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    path = write_csv(tmp_path / "notes.csv", numbered_rows(5), ["client_id", "content"])
    running = Journal(tmp_path / "notes.csv.spp-import.sqlite")  # an import in progress
    try:
        result = run_cli(["import", path], workspace=sandbox.workspace_url, token=sandbox.token)
    finally:
        running.close()
    assert result.code == 2
    assert "in use by another import" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert sandbox.stats()["requests"] == 0


def test_a_journal_is_not_reused_for_another_workspace(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    """A trial against the sandbox, then the real run with the same (default) journal:
    the rows created in the sandbox must not be skipped as done in the other workspace."""
    trial = sandbox_factory()
    other = sandbox_factory()
    path = write_csv(tmp_path / "notes.csv", numbered_rows(5), ["client_id", "content"])
    first = run_cli(["import", path], workspace=trial.workspace_url, token=trial.token)
    assert first.code == 0, first.err
    again = run_cli(["import", path], workspace=other.workspace_url, token=other.token)
    assert again.code == 2
    assert f"through {trial.workspace_url}/api, but this run goes to" in again.err
    assert "--state" in again.err
    assert other.stats()["requests"] == 0
    # The same workspace spelled differently is the same workspace.
    same = run_cli(["import", path], workspace=trial.workspace_url.upper() + "/", token=trial.token)
    assert same.code == 0, same.err
    assert "done before 5" in same.out
    fresh = run_cli(
        ["import", path, "--state", tmp_path / "other.sqlite"],
        workspace=other.workspace_url,
        token=other.token,
    )
    assert fresh.code == 0, fresh.err
    assert len(other.activities()) == 5


def test_dry_run_of_an_edited_file_exits_2_like_the_run_would(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    path = write_csv(tmp_path / "notes.csv", numbered_rows(4), ["client_id", "content"])
    assert run_cli(["import", path], workspace=sandbox.workspace_url, token=sandbox.token).code == 0
    write_csv(path, numbered_rows(4)[1:], ["client_id", "content"])  # the first row deleted
    dry = run_cli(["import", path, "--dry-run"])
    assert dry.code == 2
    assert "CONFLICTS" in dry.out
    assert "row 1 (line 2) is not the row that was created" in dry.err
    real = run_cli(["import", path], workspace=sandbox.workspace_url, token=sandbox.token)
    assert real.code == 2
    assert "changed since the journal" in real.err
    assert sandbox.stats()["requests"] == 4


def test_the_report_or_journal_never_overwrites_the_input(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    path = write_csv(tmp_path / "notes.csv", numbered_rows(3), ["client_id", "content"])
    before = path.read_bytes()
    same = tmp_path / "j"
    for args in (["--report", path], ["--state", path], ["--report", same, "--state", same]):
        result = run_cli(
            ["import", path, *args], workspace=sandbox.workspace_url, token=sandbox.token
        )
        assert result.code == 2
        assert "must be three different files" in result.err
    assert path.read_bytes() == before  # a run with no problems removes a stale report
    assert sandbox.stats()["requests"] == 0


@pytest.mark.timeout(60)  # without the fix this run never ended
def test_a_bug_in_a_worker_ends_the_run_with_exit_1_instead_of_hanging(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(RawResponse, "parse", broken)
    path = write_csv(tmp_path / "notes.csv", numbered_rows(50), ["client_id", "content"])
    args = ["import", path, "--concurrency", "2"]
    result = run_cli(args, workspace=sandbox.workspace_url, token=sandbox.token)
    assert result.code == 1
    assert "unexpected RuntimeError: a bug" in result.err
    sent = len(sandbox.activities())
    assert 1 <= sent <= 2  # each worker died on its first reply
    monkeypatch.undo()
    # The rows whose reply was lost to the bug are unknown, never silently re-sent.
    again = run_cli(args, workspace=sandbox.workspace_url, token=sandbox.token)
    assert again.code == 8
    # The rows marked `sending` when the run died are unknown: those sent, and perhaps
    # one whose request was cancelled before it left (at most one per worker).
    match = re.search(r"unknown before (\d+) ", again.out)
    assert match is not None, again.out
    unknown = int(match.group(1))
    assert sent <= unknown <= 2
    assert f"This run: created {50 - unknown}, failed 0, invalid 0, unknown 0, " in again.out
    assert f"All runs: created {50 - unknown}, skipped 0, failed 0, invalid 0, " in again.out
    assert set(copies(sandbox.activities()).values()) == {1}


def test_a_row_throttled_out_of_attempts_stops_the_run(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    """An exhausted quota: each row would wait out every attempt, for hours. Stop instead."""
    sandbox = sandbox_factory(faults={"429": 1.0})  # every reply 429, Retry-After: 1
    path = write_csv(tmp_path / "notes.csv", numbered_rows(40), ["client_id", "content"])
    result = run_cli(
        ["import", path, "--max-attempts", "2", "--concurrency", "2"],
        workspace=sandbox.workspace_url,
        token=sandbox.token,
    )
    assert result.code == 8
    assert "Stopped early: the API did not take requests (429" in result.out
    assert "not processed" in result.out
    assert sandbox.stats()["requests"] <= 2 * 2
    assert sandbox.activities() == []
    (rerun_hint,) = [line for line in result.out.splitlines() if "Stopped early" in line]
    assert rerun_hint.endswith("run the same command again later.")


def test_rows_deleted_from_the_end_of_the_file_leave_the_report(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    rows: list[tuple[object, str]] = [*numbered_rows(3), ("x", "a bad id")]
    path = write_csv(tmp_path / "notes.csv", rows, ["client_id", "content"])
    report = tmp_path / "notes.csv.spp-import-report.csv"
    first = run_cli(["import", path], workspace=sandbox.workspace_url, token=sandbox.token)
    assert first.code == 8
    assert [r["row"] for r in read_report(report)] == ["4"]
    write_csv(path, rows[:3], ["client_id", "content"])  # the bad row deleted, not fixed
    again = run_cli(["import", path], workspace=sandbox.workspace_url, token=sandbox.token)
    assert again.code == 0, again.out
    assert not report.exists()
    assert "Report of" not in again.out


def test_a_report_path_in_a_missing_directory_is_refused_before_sending(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    path = write_csv(tmp_path / "notes.csv", numbered_rows(3), ["client_id", "content"])
    result = run_cli(
        ["import", path, "--report", tmp_path / "no-such-dir" / "report.csv"],
        workspace=sandbox.workspace_url,
        token=sandbox.token,
    )
    assert result.code == 2
    assert "--report: no such directory" in result.err
    assert sandbox.stats()["requests"] == 0


def test_the_journal_of_another_file_is_refused(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    first = write_csv(tmp_path / "a.csv", numbered_rows(5), ["client_id", "content"])
    other = write_csv(tmp_path / "b.csv", numbered_rows(8, start=100), ["client_id", "content"])
    journal = tmp_path / "a.csv.spp-import.sqlite"
    assert (
        run_cli(["import", first], workspace=sandbox.workspace_url, token=sandbox.token).code == 0
    )
    result = run_cli(
        ["import", other, "--state", journal], workspace=sandbox.workspace_url, token=sandbox.token
    )
    assert result.code == 2
    assert "changed since the journal" in result.err
    assert "and 2 more" in result.err  # five conflicts: three named, the rest counted
    assert sandbox.stats()["requests"] == 5


@pytest.mark.timeout(30)  # without the fix some of these never ended
@pytest.mark.parametrize("concurrency", [1, 2])
@pytest.mark.parametrize("failing_call", range(1, 13))
def test_a_run_whose_worker_fails_ends_wherever_the_failure_lands(
    sandbox: Sandbox,
    tmp_path: Path,
    run_cli: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
    failing_call: int,
    concurrency: int,
) -> None:
    # A worker failing (a bug, a full disk) ends the run. It fails here in the pacer,
    # just after it woke the feeder: the feeder, cancelled in that same loop turn, once
    # lost the cancellation and went on waiting for workers that were gone.
    reserve = Pacer.reserve
    calls = 0

    def failing_reserve(self: Pacer) -> float:
        nonlocal calls
        calls += 1
        if calls == failing_call:
            raise RuntimeError("the pacer broke")
        return reserve(self)

    monkeypatch.setattr(Pacer, "reserve", failing_reserve)
    rows = numbered_rows(40)
    path = write_csv(tmp_path / "notes.csv", rows, ["client_id", "content"])
    args = ["import", path, "--concurrency", concurrency, "--progress", "none"]
    result = run_cli(args, workspace=sandbox.workspace_url, token=sandbox.token)
    assert result.code == 1
    assert "unexpected RuntimeError: the pacer broke" in result.err
    assert len(copies(sandbox.activities())) < len(rows)
    assert set(copies(sandbox.activities()).values()) <= {1}


def test_the_pacer_learns_when_a_row_left_not_when_it_was_allowed_to(
    sandbox: Sandbox,
    tmp_path: Path,
    run_cli: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A row leaves only once its `sending` mark is committed; the time the pacer is
    told it was sent (from which it learns the throttle's window) is after that wait,
    not when the pacer let it go (here each commit takes 50 ms)."""
    commit, on_reply = Journal.commit, Pacer.on_reply
    committed: list[float] = []  # when each mark's commit ended
    told: list[float] = []  # the send times the pacer was told

    def slow_commit(self: Journal, outcomes: Any, sending: Any) -> None:
        if sending:
            time.sleep(0.05)
        commit(self, outcomes, sending)
        if sending:
            committed.append(time.monotonic())

    def recording_on_reply(self: Pacer, reply: Reply) -> None:
        told.append(reply.sent_at)
        on_reply(self, reply)

    monkeypatch.setattr(Journal, "commit", slow_commit)
    monkeypatch.setattr(Pacer, "on_reply", recording_on_reply)
    path = write_csv(tmp_path / "notes.csv", numbered_rows(8), ["client_id", "content"])
    args = ["import", path, "--concurrency", 1, "--progress", "none"]
    result = run_cli(args, workspace=sandbox.workspace_url, token=sandbox.token)
    assert result.code == 0, result.err
    assert len(told) == len(committed) == 8  # one row at a time: mark, send, reply
    assert all(sent >= done for sent, done in zip(told, committed, strict=True))


@pytest.mark.timeout(60)
def test_a_journal_that_fails_mid_run_ends_it_and_the_rerun_duplicates_nothing(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    commit = Journal.commit
    calls = 0

    def failing_commit(self: Journal, *args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls > 5:  # a full disk, a few batches in
            raise sqlite3.OperationalError("database or disk is full")
        commit(self, *args)

    monkeypatch.setattr(Journal, "commit", failing_commit)
    rows = numbered_rows(200)
    path = write_csv(tmp_path / "notes.csv", rows, ["client_id", "content"])
    result = run_cli(["import", path], workspace=sandbox.workspace_url, token=sandbox.token)
    assert result.code == 1
    assert "unexpected OperationalError: database or disk is full" in result.err
    first = copies(sandbox.activities())
    assert 0 < len(first) < len(rows)
    monkeypatch.undo()

    again = run_cli(["import", path], workspace=sandbox.workspace_url, token=sandbox.token)
    assert again.code in (0, 8), again.err
    report = read_report(tmp_path / "notes.csv.spp-import-report.csv")
    unknown = {rows[int(r["row"]) - 1][1] for r in report if r["outcome"] == "unknown"}
    assert {r["outcome"] for r in report} <= {"unknown"}
    stored = copies(sandbox.activities())
    assert set(stored.values()) == {1}  # nothing sent twice
    assert {content for _, content in rows} - set(stored) <= unknown  # missing only if unknown
