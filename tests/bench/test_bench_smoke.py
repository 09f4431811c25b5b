"""The benchmark scripts still run end to end (tiny mode; no figure is checked).

`make bench` is never part of `make test`, and nothing here is timed: this only
keeps bench/ from rotting when the client, the importer or the sandbox change.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs `make` (or the bench): minutes

ROOT = Path(__file__).resolve().parents[2]


def test_quick_bench_runs_every_section_and_writes_results(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    payload = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert payload["meta"]["mode"] == "quick"
    rows = {row["key"]: row for row in payload["results"]}
    errors = {key: row["error"] for key, row in rows.items() if row["error"]}
    assert errors == {}, proc.stdout[-3000:]
    expected = {
        "overhead_raw_fast",
        "overhead_generated_fast",
        "overhead_raw_sandbox",
        "overhead_generated_sandbox",
        "async_c1",
        "async_c8",
        "import_vs_raw",
        "memory_growth",
        "memory_peak",
        "pacing_rate",
        "pacing_429",
        "startup_help",
        "startup_create",
        "sandbox_rps",
        "sandbox_vs_fast",
    }
    assert expected <= set(rows)
    for row in rows.values():
        assert isinstance(row["ratio"], float)
        assert row["ratio"] > 0 or row["key"] == "pacing_429"
        assert row["verdict"] in {"pass", "MISS", "info"}
        assert row["metric"] in proc.stdout  # the printed table has every row
    # The chart is a real PNG.
    assert (tmp_path / "results.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
