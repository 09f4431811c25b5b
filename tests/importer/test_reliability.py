"""Faults, SIGKILL and Ctrl-C: no row lost, no row duplicated except where reported unknown.

Every assertion is made against the sandbox's stored activities; rows map to
activities by their unique content.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from import_helpers import Run, copies, numbered_rows, read_report, write_csv
from spp_activities.sandbox import Sandbox

CLI = [sys.executable, "-m", "spp_activities.cli"]
FAULTS = {"429": 0.003, "503": 0.02, "500": 0.02, "reset": 0.02, "reset-after": 0.02, "slow": 0.02}


def check_outcomes(rows: list[tuple[int, str]], stored: dict[str, int], report: Path) -> set[str]:
    """The import's invariants; returns the contents of the rows reported unknown."""
    problems = read_report(report)
    unknown = {r["row"] for r in problems if r["outcome"] == "unknown"}
    failed = {r["row"] for r in problems if r["outcome"] == "failed"}
    by_number = {str(n + 1): content for n, (_, content) in enumerate(rows)}
    unknown_contents = {by_number[n] for n in unknown}
    for number, content in by_number.items():
        if number in unknown:
            assert stored.get(content, 0) <= 1, f"row {number} (unknown) exists twice"
        elif number in failed:
            assert stored.get(content, 0) == 0, f"row {number} failed but exists"
        else:
            assert stored.get(content, 0) == 1, f"row {number}: {stored.get(content, 0)} copies"
    assert set(stored) <= set(by_number.values())
    return unknown_contents


def test_faults_then_retry_unknown_against_a_healthy_sandbox(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    db = tmp_path / "sandbox.db"
    rows = numbered_rows(1000)
    path = write_csv(tmp_path / "notes.csv", rows, ["client_id", "content"])
    report = tmp_path / "report.csv"
    faulty = sandbox_factory(db=db, faults=FAULTS, seed=7, slow_seconds=0.2)
    result = run_cli(
        ["import", path, "--report", report], workspace=faulty.workspace_url, token=faulty.token
    )
    stats = faulty.stats()
    stored = copies(faulty.activities())
    faulty.stop()
    assert sum(stats["by_fault"].values()) >= 50, stats  # the faults really happened
    assert result.code == 8, result.out + result.err
    unknown = check_outcomes(rows, stored, report)
    assert unknown, "500 and reset-after faults must leave some rows unknown"
    assert f"unknown {len(unknown)}" in result.out

    # The same workspace again (its data and address), now without faults.
    healthy = sandbox_factory(db=db, port=faulty.port)
    again = run_cli(
        ["import", path, "--report", report, "--retry-unknown"],
        workspace=healthy.workspace_url,
        token=healthy.token,
    )
    assert again.code == 0, again.out + again.err
    final = copies(healthy.activities())
    assert {content for _, content in rows} == set(final)  # every row exists
    duplicated = {content for content, count in final.items() if count > 1}
    assert duplicated <= unknown  # duplicates only among rows reported unknown
    assert max(final.values()) <= 2


def journal_count(path: Path, state: str) -> int:
    """Rows in a state, read once the run has ended (a run keeps its journal locked)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (count,) = db.execute("SELECT COUNT(*) FROM rows WHERE state = ?", (state,)).fetchone()
    finally:
        db.close()
    return int(count)


def start_import(path: Path, sandbox: Sandbox, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "SPP_WORKSPACE_URL": sandbox.workspace_url}
    env["SPP_API_TOKEN"] = sandbox.token
    return subprocess.Popen(
        [*CLI, "import", str(path), "--progress", "lines", *extra],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_created(sandbox: Sandbox, proc: subprocess.Popen[str], at_least: int) -> None:
    deadline = time.monotonic() + 60
    while sandbox.stats()["activities"] < at_least:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the import made no progress"
        time.sleep(0.05)


def test_sigkill_then_rerun_then_retry_unknown(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    # A rate limit keeps the run long enough to kill it in the middle.
    sandbox = sandbox_factory(db=tmp_path / "sandbox.db", rate_limit=200)
    rows = numbered_rows(1200)
    path = write_csv(tmp_path / "notes.csv", rows, ["client_id", "content"])
    report = tmp_path / "notes.csv.spp-import-report.csv"

    proc = start_import(path, sandbox)
    wait_for_created(sandbox, proc, 300)
    # A second import of the same file meanwhile would send the same rows: refused.
    second = start_import(path, sandbox)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 2, out + err
    assert "in use by another import" in err
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert len(sandbox.activities()) < len(rows)  # killed halfway

    rerun = start_import(path, sandbox)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode in (0, 8), err
    stored = copies(sandbox.activities())
    assert max(stored.values()) == 1  # zero duplicates
    unknown = check_outcomes(rows, stored, report)
    # Each worker marks its row just before sending it: at most --concurrency (8) rows
    # can be `sending` at the kill, and only those are unknown.
    assert len(unknown) <= 8
    assert "in flight when an earlier run stopped" in err
    assert f"unknown {len(unknown)}" in out

    retry = start_import(path, sandbox, "--retry-unknown")
    out, err = retry.communicate(timeout=120)
    assert retry.returncode == 0, err
    final = copies(sandbox.activities())
    assert {content for _, content in rows} == set(final)
    assert {c for c, n in final.items() if n > 1} <= unknown


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_cleanly_and_the_rerun_finishes(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sandbox = sandbox_factory(db=tmp_path / "sandbox.db", rate_limit=200)
    rows = numbered_rows(1000)
    path = write_csv(tmp_path / "notes.csv", rows, ["client_id", "content"])
    journal = tmp_path / "notes.csv.spp-import.sqlite"

    proc = start_import(path, sandbox)
    wait_for_created(sandbox, proc, 200)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Interrupted" in out
    assert "not processed" in out
    # A clean stop waits for the requests in flight: nothing is left unknown.
    assert journal_count(journal, "sending") == 0
    assert journal_count(journal, "unknown") == 0
    assert journal_count(journal, "created") == len(sandbox.activities())

    rerun = start_import(path, sandbox)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    final = copies(sandbox.activities())
    assert {content for _, content in rows} == set(final)
    assert set(final.values()) == {1}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_second_ctrl_c_stops_at_once_and_the_rows_in_flight_are_counted_unknown(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    # Every request is stored, then its reply held back: three rows stay in flight.
    sandbox = sandbox_factory(faults={"slow": 1.0}, slow_seconds=120)
    rows = numbered_rows(10)
    path = write_csv(tmp_path / "notes.csv", rows, ["client_id", "content"])
    proc = start_import(path, sandbox, "--concurrency", "3")
    wait_for_created(sandbox, proc, 3)
    proc.send_signal(signal.SIGINT)
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until the first Ctrl-C has been taken
        if line.startswith("stopping:"):
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    unknown = read_report(tmp_path / "notes.csv.spp-import-report.csv")
    assert [r["outcome"] for r in unknown] == ["unknown"] * 3
    assert "unknown 3" in out  # the summary agrees with the report
    stored = copies(sandbox.activities())
    assert {rows[int(r["row"]) - 1][1] for r in unknown} == set(stored)
