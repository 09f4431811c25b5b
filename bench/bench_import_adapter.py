"""Issue 6, items 3 and 4: runs bench/bench_import.py and turns its numbers into rows.

bench/bench_import.py belongs to the importer's owner (it knows the journal and
the dry-run path); this module only calls it in a child process, with a bounded
wait, and reads the JSON it writes.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import BENCH_DIR, PYTHON, ROOT, Result, clean_env

SCRIPT = BENCH_DIR / "bench_import.py"
TIMEOUT = 240.0


def run(extra_args: Sequence[str]) -> tuple[list[Result], dict[str, Any]]:
    if not SCRIPT.exists():
        raise RuntimeError("bench/bench_import.py is not there yet")
    with tempfile.TemporaryDirectory(prefix="spp-bench-import-") as tmp:
        out = Path(tmp) / "import.json"
        proc = subprocess.run(
            [PYTHON, str(SCRIPT), *extra_args, "--json", str(out)],
            cwd=ROOT,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        if proc.returncode != 0 or not out.exists():
            tail = " | ".join(proc.stderr.strip().splitlines()[-5:])
            raise RuntimeError(f"bench/bench_import.py exited {proc.returncode}: {tail}")
        data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return rows_from(data), data


def rows_from(data: dict[str, Any]) -> list[Result]:
    """The table rows from bench_import.py's JSON ({"throughput": ..., "memory": ...})."""
    speed = data["throughput"]
    mem = data["memory"]
    peaks = {int(size): float(mb) for size, mb in mem["peak_rss_mb"].items()}
    small, large = min(peaks), max(peaks)
    return [
        Result(
            "import_vs_raw",
            f"3. import {speed['rows'] * speed['rounds']:,} rows / raw httpx "
            f"(concurrency {speed['concurrency']})",
            float(speed["import_rows_per_s"]) / float(speed["raw_rows_per_s"]),
            0.9,
            ">=",
            detail={
                "import_rows_per_s": speed["import_rows_per_s"],
                "raw_rows_per_s": speed["raw_rows_per_s"],
                "rounds": speed["rounds"],
            },
        ),
        Result(
            "memory_growth",
            f"4. dry-run peak RSS, {large:,} rows / {small:,} rows",
            peaks[large] / peaks[small],
            1.10,
            detail={"peak_rss_mb": mem["peak_rss_mb"]},
        ),
        Result(
            "memory_peak",
            f"4. dry-run peak RSS, {large:,} rows (MB)",
            max(peaks.values()),
            80.0,
            unit="MB",
            detail={"peak_rss_mb": mem["peak_rss_mb"]},
        ),
    ]
