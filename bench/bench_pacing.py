"""Issues 6 (item 5) and 12 (item 6): does the importer pace itself close to the throttle?

The sandbox runs in its own process with `--rate-limit 50`: a Laravel-style
fixed window of 50 requests a second per token, with `X-RateLimit-Limit` and
`X-RateLimit-Remaining` on every reply. `spp-activities import` sends a CSV of
enough rows to last about 15-20 seconds at that rate, at its default
concurrency. Three figures:

    steady rate / limit  rows created between the first and the last accepted
                         request (the sandbox's `created_at` of each activity),
                         per second, divided by the limit; target >= 0.97
    rows/s / limit       rows created over the import's whole wall time (start-up
                         and the last reply included), divided by the limit
    429 share            requests answered 429 over all create requests the
                         sandbox received (its /_sandbox/stats); target <= 1%
"""

from __future__ import annotations

import csv
import datetime
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from harness import CLI, ROOT, SANDBOX_TOKEN, clean_env, sandbox_server


def write_rows(path: Path, rows: int, clients: int = 100) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["client_id", "content"])
        for i in range(rows):
            writer.writerow([i % clients + 1, f"Migrated note {i}: called about the invoice."])


def status_counts(stats: dict[str, Any]) -> dict[int, int]:
    """Requests by HTTP status from the sandbox's /_sandbox/stats reply.

    Accepts {"by_status": {"201": n, ...}} or {"statuses": {...}} or {"status": {...}}.
    """
    for key in ("by_status", "statuses", "status", "responses"):
        table = stats.get(key)
        if isinstance(table, dict):
            return {int(k): int(v) for k, v in table.items() if str(k).isdigit()}
    raise RuntimeError(f"cannot find request counts by status in /_sandbox/stats: {stats!r}")


def measure(
    *, rate_limit: float = 50.0, seconds: float = 17.0, timeout: float = 120.0
) -> dict[str, Any]:
    rows = max(10, round(rate_limit * seconds))
    with tempfile.TemporaryDirectory(prefix="spp-bench-pacing-") as tmp:
        folder = Path(tmp)
        data = folder / "rows.csv"
        write_rows(data, rows)
        token_file = folder / "token"
        token_file.write_text(SANDBOX_TOKEN + "\n", encoding="utf-8")
        with sandbox_server(rate_limit=rate_limit) as server:
            argv = [
                CLI,
                "import",
                str(data),
                "--workspace-url",
                server.url,
                "--token-file",
                str(token_file),
                "--progress",
                "none",
                "--state",
                str(folder / "journal.sqlite"),
                "--report",
                str(folder / "report.csv"),
            ]
            start = time.perf_counter()
            proc = subprocess.run(
                argv,
                cwd=ROOT,
                env=clean_env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            elapsed = time.perf_counter() - start
            stats = httpx.get(server.url + "/_sandbox/stats", timeout=10).json()
            stored = httpx.get(server.url + "/_sandbox/activities", timeout=30).json()
    counts = status_counts(stats)
    created = len(stored["activities"])
    stamps = sorted(
        datetime.datetime.fromisoformat(a["created_at"].replace("Z", "+00:00")).timestamp()
        for a in stored["activities"]
    )
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else float("nan")
    total = sum(counts.values())
    throttled = counts.get(429, 0)
    return {
        "rows": rows,
        "rate_limit": rate_limit,
        "exit_code": proc.returncode,
        "summary": (proc.stdout.strip().splitlines() or [""])[-5:],
        "stderr_tail": proc.stderr.strip().splitlines()[-5:],
        "seconds": elapsed,
        "created": created,
        "rows_per_second": created / elapsed,
        "rate_ratio": created / elapsed / rate_limit,
        "steady_rows_per_second": (created - 1) / span,
        "steady_ratio": (created - 1) / span / rate_limit,
        "requests": total,
        "status_counts": {str(k): v for k, v in sorted(counts.items())},
        "share_429": throttled / total if total else float("nan"),
    }
