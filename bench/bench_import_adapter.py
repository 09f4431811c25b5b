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
    raise RuntimeError(f"unknown bench_import.py output: {sorted(data)}")
