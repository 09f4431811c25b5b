"""Issue 6, items 3 and 4: the importer's throughput and its memory.

Throughput. One sandbox (`spp-activities sandbox`, in memory) runs in a child
process. In this process, rounds alternate between

    raw      httpx.AsyncClient, N workers sending the same POSTs (one per row)
    import   spp_activities.importer.run_import on a CSV of those rows, at the
             same concurrency, with a fresh journal each round (journal, pacing,
             file reading and reporting included)

and each side's throughput is its rows over its total time. Target: import /
raw >= 0.90.

Memory. Peak RSS of `spp-activities import FILE --dry-run` on two file sizes,
each in its own child process (os.wait4 reports that child's ru_maxrss).
Target: the larger within 10% of the smaller, both under 80 MB.

    .venv/bin/python bench/bench_import.py                 # 10,000 rows; 100k and 1M
    .venv/bin/python bench/bench_import.py --rows 2000 --sizes 20000 200000
    .venv/bin/python bench/bench_import.py --quick --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from harness import API_VERSION, CLI, SANDBOX_TOKEN, clean_env, sandbox_server

DEFAULT_CONCURRENCY = 8  # the importer's default
THROUGHPUT_TARGET = 0.90
MEMORY_GROWTH_TARGET = 0.10
MEMORY_CEILING_MB = 80.0


def write_rows(path: Path, rows: int, tag: str) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["client_id", "content", "key"])
        for i in range(rows):
            writer.writerow(
                [i % 100 + 1, f'{tag} note {i}: called about the invoice, "urgent".', f"k{i}"]
            )


def read_rows(path: Path) -> list[tuple[int, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [(int(r[0]), r[1]) for r in reader]


async def raw_round(url: str, rows: list[tuple[int, str]], concurrency: int) -> float:
    async with httpx.AsyncClient(
        base_url=url + "/api",
        headers={"Authorization": f"Bearer {SANDBOX_TOKEN}", "X-Api-Version": API_VERSION},
    ) as client:
        work = iter(rows)

        async def worker() -> None:
            for client_id, content in work:
                response = await client.post(
                    f"/clients/{client_id}/activities", json={"content": content}
                )
                if response.status_code != 201:
                    raise RuntimeError(f"raw httpx: status {response.status_code}")
                json.loads(response.content)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


def import_round(url: str, path: Path, folder: Path, concurrency: int, n: int) -> float:
    from spp_activities.importer import run_import

    out = io.StringIO()
    start = time.perf_counter()
    outcome = run_import(
        path,
        concurrency=concurrency,
        state_path=folder / f"journal-{n}.sqlite",
        report_path=folder / f"report-{n}.csv",
        progress="none",
        client_options={"workspace_url": url, "token": SANDBOX_TOKEN},
        out=out,
        err=out,
    )
    elapsed = time.perf_counter() - start
    if outcome != "done":
        raise RuntimeError(f"import ended {outcome}: {out.getvalue()}")
    return elapsed


def throughput(rows: int, concurrency: int, rounds: int, folder: Path) -> dict[str, Any]:
    files = []
    for n in range(rounds + 1):  # round 0 warms both up
        path = folder / f"rows-{n}.csv"
        write_rows(path, rows, f"round-{n}")
        files.append(path)
    raw_time = import_time = 0.0
    with sandbox_server() as server:
        for n, path in enumerate(files):
            payload = read_rows(path)
            order = ("raw", "import") if n % 2 == 0 else ("import", "raw")
            times: dict[str, float] = {}
            for side in order:
                if side == "raw":
                    times[side] = asyncio.run(raw_round(server.url, payload, concurrency))
                else:
                    times[side] = import_round(server.url, path, folder, concurrency, n)
            print(
                f"  round {n}{' (warm-up)' if n == 0 else ''}: raw {rows / times['raw']:.0f} "
                f"rows/s, import {rows / times['import']:.0f} rows/s",
                file=sys.stderr,
            )
            if n > 0:
                raw_time += times["raw"]
                import_time += times["import"]
    raw_rate = rows * rounds / raw_time
    import_rate = rows * rounds / import_time
    return {
        "rows": rows,
        "rounds": rounds,
        "concurrency": concurrency,
        "raw_rows_per_s": raw_rate,
        "import_rows_per_s": import_rate,
        "ratio": import_rate / raw_rate,
        "target": THROUGHPUT_TARGET,
        "passed": import_rate / raw_rate >= THROUGHPUT_TARGET,
    }


def dry_run_peak_rss_mb(path: Path) -> float:
    proc = subprocess.Popen(
        [CLI, "import", str(path), "--dry-run", "--progress", "none"],
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"dry run exited {proc.returncode}")
    return usage.ru_maxrss / 1024  # Linux reports KiB


def memory(sizes: list[int], folder: Path) -> dict[str, Any]:
    peaks = {}
    for size in sizes:
        path = folder / f"dry-{size}.csv"
        write_rows(path, size, "dry")
        peaks[size] = dry_run_peak_rss_mb(path)
        path.unlink()
        print(f"  dry run of {size} rows: peak RSS {peaks[size]:.1f} MB", file=sys.stderr)
    small, large = min(sizes), max(sizes)
    growth = peaks[large] / peaks[small] - 1
    return {
        "sizes": sizes,
        "peak_rss_mb": {str(k): v for k, v in peaks.items()},
        "growth": growth,
        "growth_target": MEMORY_GROWTH_TARGET,
        "ceiling_mb": MEMORY_CEILING_MB,
        "passed": growth <= MEMORY_GROWTH_TARGET and max(peaks.values()) < MEMORY_CEILING_MB,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows per throughput round")
    parser.add_argument("--rounds", type=int, default=2, help="measured rounds (plus a warm-up)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument(
        "--sizes", type=int, nargs=2, default=[100_000, 1_000_000], metavar=("SMALL", "LARGE")
    )
    parser.add_argument("--quick", action="store_true", help="2,000 rows; 20k and 200k")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.sizes, args.rounds = 2_000, [20_000, 200_000], 1

    with tempfile.TemporaryDirectory(prefix="spp-bench-import-") as tmp:
        folder = Path(tmp)
        print(f"import throughput, {args.rows} rows x {args.rounds} rounds:", file=sys.stderr)
        speed = throughput(args.rows, args.concurrency, args.rounds, folder)
        print("dry-run memory:", file=sys.stderr)
        mem = memory(sorted(args.sizes), folder)

    small, large = (str(s) for s in mem["sizes"])
    print(
        f"import throughput at concurrency {speed['concurrency']}: "
        f"{speed['import_rows_per_s']:.0f} rows/s vs raw httpx {speed['raw_rows_per_s']:.0f}: "
        f"ratio {speed['ratio']:.3f} (target >= {THROUGHPUT_TARGET}) "
        f"{'PASS' if speed['passed'] else 'MISS'}"
    )
    print(
        f"dry-run peak RSS: {mem['peak_rss_mb'][small]:.1f} MB at {small} rows, "
        f"{mem['peak_rss_mb'][large]:.1f} MB at {large} rows: ratio {1 + mem['growth']:.3f} "
        f"(target <= {1 + MEMORY_GROWTH_TARGET:.2f}, both < {MEMORY_CEILING_MB:.0f} MB) "
        f"{'PASS' if mem['passed'] else 'MISS'}"
    )
    if args.json is not None:
        args.json.write_text(
            json.dumps({"throughput": speed, "memory": mem}, indent=2) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
