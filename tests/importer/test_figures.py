"""True figures: rate and ETA of this run's rows, totals that say which run, the file's total."""

from __future__ import annotations

import io
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from import_helpers import Run, numbered_rows, write_csv
from spp_activities.importer.output import Progress, ProgressMode, Tally
from spp_activities.sandbox import Sandbox
from test_reliability import start_import, wait_for_created


def test_rate_and_eta_count_only_the_rows_this_run_sends() -> None:
    """A resumed run passes over 2,000 rows done before in an instant; counting them
    made the ETA three times too hopeful."""
    tally = Tally(total=3000, to_send=1000, created=100, done_before=2000)
    progress = Progress(io.StringIO(), ProgressMode.LINES, tally)
    line = progress.line(progress.started + 10.0)
    assert line.startswith("2100/3000 rows (70%), 10 rows/s, ETA 0:01:30;")
    assert "this run: created 100, failed 0, invalid 0, unknown 0; done before 2000" in line


def test_the_summary_says_which_run_each_figure_is_about(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    rows: list[tuple[object, str]] = [*numbered_rows(3), ("x", "bad")]
    path = write_csv(tmp_path / "notes.csv", rows, ["client_id", "content"])
    env = {"workspace": sandbox.workspace_url, "token": sandbox.token}
    run_cli(["import", path], **env)
    write_csv(path, [*rows, *numbered_rows(5, 3)], ["client_id", "content"])
    second = run_cli(["import", path, "--progress", "none"], **env)
    assert f"{path}: 6 rows. This run: created 2, failed 0, invalid 1, unknown 0, " in second.out
    assert "done before 3 " in second.out
    assert "All runs: created 5, skipped 0, failed 0, invalid 1, unknown 0." in second.out


def test_a_stopped_first_run_without_progress_reports_the_files_total(
    tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    path = write_csv(tmp_path / "notes.csv", numbered_rows(300), ["client_id", "content"])
    result = run_cli(
        ["import", path, "--progress", "none", "--max-attempts", "1", "--concurrency", "2"],
        workspace="http://127.0.0.1:9",
        token="t",
    )
    assert result.code == 8
    assert f"{path}: 300 rows. This run:" in result.out
    assert "not processed" in result.out


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_an_interrupted_first_run_without_progress_reports_the_files_total(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sandbox = sandbox_factory(rate_limit=100)
    path = write_csv(tmp_path / "notes.csv", numbered_rows(600), ["client_id", "content"])
    proc = start_import(path, sandbox, "--progress", "none")
    wait_for_created(sandbox, proc, 50)
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"{path}: 600 rows. This run:" in out
    assert "not processed" in out


@pytest.mark.parametrize("settings", [{"concurrency": 0}, {"max_attempts": 0}])
def test_run_import_refuses_settings_that_would_never_send(
    tmp_path: Path, settings: dict[str, int]
) -> None:
    from spp_activities.importer import run_import

    path = write_csv(tmp_path / "notes.csv", numbered_rows(3), ["client_id", "content"])
    flag = "--" + next(iter(settings)).replace("_", "-")
    with pytest.raises(ValueError, match=f"{flag} must be a whole number >= 1"):
        run_import(path, **settings)  # type: ignore[arg-type]
