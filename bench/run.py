"""Run every benchmark of issue 6, print the table, write results.json and results.png.

    python bench/run.py            # the full run behind `make bench` (< 5 minutes on 2 cores)
    python bench/run.py --quick    # a few calls each: checks that the scripts still work
    python bench/run.py --only overhead,startup

Every figure is a ratio measured side by side in one run against the same local
server, because these machines are shared and noisy. Servers run in child
processes on free loopback ports. Nothing here asserts anything: a miss is
reported, not raised (the exit status is 1 only when a benchmark could not run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_async
import bench_overhead
import bench_pacing
import bench_startup
import harness
from harness import BENCH_DIR, SEED, Result


@dataclass(frozen=True)
class Settings:
    """How much work each benchmark does; `full` is sized for < 5 minutes on 2 cores."""

    overhead_calls: int
    overhead_sandbox_calls: int
    overhead_sandbox_seconds: float
    overhead_batch: int
    overhead_warmup: int
    profile_calls: int
    async_levels: tuple[int, ...]
    async_seconds: float
    async_batch_seconds: float
    pacing_seconds: float
    startup_runs: int
    startup_warmup: int
    rps_seconds: float
    rps_warmup: float
    import_args: tuple[str, ...]


FULL = Settings(
    overhead_calls=3000,
    overhead_sandbox_calls=2000,
    overhead_sandbox_seconds=20.0,
    overhead_batch=10,
    overhead_warmup=200,
    profile_calls=1000,
    async_levels=(1, 8, 32, 64),
    async_seconds=12.0,
    async_batch_seconds=0.1,
    pacing_seconds=17.0,
    startup_runs=20,
    startup_warmup=2,
    rps_seconds=5.0,
    rps_warmup=1.0,
    # 10,000 rows measured as eight rounds of 1,250 (import first in odd rounds, raw
    # first in even ones, so a busy moment on the machine hits both alike), after a
    # 1,250-row warm-up: ~70 s against the sandbox. One 10,000-row round would need
    # a 10,000-row warm-up too (40,000 requests, ~2.5 minutes) and is at the mercy
    # of whatever else the machine does during it.
    import_args=("--rows", "1250", "--rounds", "8"),
)
QUICK = Settings(
    overhead_calls=40,
    overhead_sandbox_calls=20,
    overhead_sandbox_seconds=2.0,
    overhead_batch=10,
    overhead_warmup=5,
    profile_calls=20,
    async_levels=(1, 8),
    async_seconds=0.1,
    async_batch_seconds=0.02,
    pacing_seconds=0.5,
    startup_runs=2,
    startup_warmup=0,
    rps_seconds=0.3,
    rps_warmup=0.1,
    import_args=("--rows", "30", "--rounds", "1", "--sizes", "200", "1000"),
)

SECTIONS = ("overhead", "async", "import", "pacing", "startup", "sandbox")


class Runner:
    def __init__(self, settings: Settings, sections: tuple[str, ...]) -> None:
        self.settings = settings
        self.sections = sections
        self.results: list[Result] = []
        self.details: dict[str, Any] = {}
        self.timings: dict[str, float] = {}

    def section(self, name: str, keys: list[tuple[str, str]], body: Callable[[], None]) -> None:
        """Run one benchmark; if it fails, its rows say so and the others still run."""
        if name not in self.sections:
            return
        print(f"-- {name} ...", flush=True)
        start = time.perf_counter()
        try:
            body()
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
            have = {r.key for r in self.results}
            for key, metric in keys:
                if key not in have:
                    self.results.append(Result(key, metric, None, error=message))
        self.timings[name] = time.perf_counter() - start
        print(f"   {name}: {self.timings[name]:.1f}s", flush=True)

    # ------------------------------------------------------------ the benchmarks

    def run(self) -> None:
        s = self.settings
        random.seed(SEED)
        fast = harness.fast_server()
        sandbox = harness.sandbox_server()
        need_fast = {"overhead", "async", "sandbox"} & set(self.sections)
        need_sandbox = {"overhead", "sandbox"} & set(self.sections)
        try:
            if need_fast:
                fast.start()
            if need_sandbox:
                sandbox.start()
            self.section("sandbox", SANDBOX_KEYS, lambda: self.sandbox_rps(fast.url, sandbox.url))
            self.section("overhead", OVERHEAD_KEYS, lambda: self.overhead(fast.url, sandbox.url))
            self.section("async", async_keys(s), lambda: self.async_throughput(fast.url))
        finally:
            fast.stop()
            sandbox.stop()
        self.section("import", IMPORT_KEYS, self.import_bench)
        self.section("pacing", PACING_KEYS, self.pacing)
        self.section("startup", STARTUP_KEYS, self.startup)

    def overhead(self, fast_url: str, sandbox_url: str) -> None:
        s = self.settings
        for server, url, calls, warmup, budget in (
            ("fast", fast_url, s.overhead_calls, s.overhead_warmup, None),
            (
                "sandbox",
                sandbox_url,
                s.overhead_sandbox_calls,
                min(s.overhead_warmup, 30),
                s.overhead_sandbox_seconds,
            ),
        ):
            data = bench_overhead.measure(
                url,
                calls=calls,
                batch=s.overhead_batch,
                warmup=warmup,
                budget_seconds=budget,
            )
            self.details[f"overhead_{server}"] = data
            if data["skipped"]:
                raise RuntimeError(f"variants missing: {data['skipped']}")
            self.results.append(
                Result(
                    f"overhead_raw_{server}",
                    f"1. per-call overlay / raw httpx ({server} server)",
                    data["overlay_vs_raw"],
                    1.05,
                    detail={"median_us": data["median_us"]},
                )
            )
            self.results.append(
                Result(
                    f"overhead_generated_{server}",
                    f"1. per-call overlay / generated ({server} server)",
                    data["overlay_vs_generated"],
                    1.02,
                    detail={"median_us": data["median_us"]},
                )
            )
        self.details["overhead_profile"] = bench_overhead.profile_overlay(
            fast_url, calls=s.profile_calls
        )
        memory = bench_overhead.measure_in_memory(
            calls=s.overhead_calls, warmup=s.overhead_warmup, batch=s.overhead_batch
        )
        self.details["overhead_in_memory"] = memory
        self.results.append(
            Result(
                "cpu_raw_in_memory",
                "1. client CPU per call, overlay / raw (no network)",
                memory["overlay_vs_raw"],
                None,
                detail={"median_us": memory["median_us"]},
            )
        )

    def async_throughput(self, url: str) -> None:
        s = self.settings
        levels = bench_async.measure(
            url, levels=s.async_levels, seconds=s.async_seconds, batch_seconds=s.async_batch_seconds
        )
        self.details["async_fast"] = levels
        for level in levels:
            self.results.append(
                Result(
                    f"async_c{level['concurrency']}",
                    f"2. async overlay / raw httpx, concurrency {level['concurrency']}",
                    level["overlay_vs_raw"],
                    0.95,
                    ">=",
                    detail={"rps": level["rps"]},
                )
            )

    def import_bench(self) -> None:
        import bench_import_adapter

        rows, detail = bench_import_adapter.run(self.settings.import_args)
        self.details["import"] = detail
        self.results.extend(rows)

    def pacing(self) -> None:
        data = bench_pacing.measure(seconds=self.settings.pacing_seconds)
        self.details["pacing"] = data
        if data["exit_code"] != 0:
            raise RuntimeError(
                f"import exited {data['exit_code']}: {' | '.join(data['stderr_tail'])}"
            )
        self.results.append(
            Result(
                "pacing_steady",
                "5. steady rate (first to last accepted) under a fixed window of 50/s, / 50",
                data["steady_ratio"],
                0.97,
                ">=",
                detail={"rows_per_second": data["steady_rows_per_second"]},
            )
        )
        self.results.append(
            Result(
                "pacing_rate",
                "5. rows/s under --rate-limit 50, / 50",
                data["rate_ratio"],
                0.9,
                ">=",
                detail={"rows_per_second": data["rows_per_second"], "rows": data["rows"]},
            )
        )
        self.results.append(
            Result(
                "pacing_429",
                "5. share of requests answered 429",
                data["share_429"],
                0.01,
                "<=",
                unit="share",
                detail={"status_counts": data["status_counts"]},
            )
        )

    def startup(self) -> None:
        s = self.settings
        data = bench_startup.measure(runs=s.startup_runs, warmup=s.startup_warmup)
        self.details["startup"] = data
        med = data["median_ms"]
        self.results.append(
            Result(
                "startup_help",
                "6. start-up: --help / import httpx",
                data["help_vs_httpx"],
                1.3,
                detail={"median_ms": med},
            )
        )
        self.results.append(
            Result(
                "startup_create",
                "6. start-up: create (bad input) / import httpx",
                data["create_vs_httpx"],
                1.3,
                detail={"median_ms": med},
            )
        )

    def sandbox_rps(self, fast_url: str, sandbox_url: str) -> None:
        s = self.settings
        on_sandbox = asyncio.run(
            bench_async.sandbox_rps(sandbox_url, seconds=s.rps_seconds, warmup=s.rps_warmup)
        )
        on_fast = asyncio.run(
            bench_async.sandbox_rps(fast_url, seconds=s.rps_seconds, warmup=s.rps_warmup)
        )
        self.details["sandbox_rps"] = {"sandbox": on_sandbox, "fast_server": on_fast}
        self.results.append(
            Result(
                "sandbox_rps",
                "7. sandbox requests/s (default settings, 4 clients)",
                on_sandbox["rps"],
                None,
                unit="req/s",
                detail={"statuses": on_sandbox["statuses"]},
            )
        )
        self.results.append(
            Result(
                "sandbox_vs_fast",
                "7. sandbox / fast server, requests/s",
                on_sandbox["rps"] / on_fast["rps"],
                None,
                detail={"fast_server_rps": on_fast["rps"]},
            )
        )


OVERHEAD_KEYS = [
    ("overhead_raw_fast", "1. per-call overlay / raw httpx (fast server)"),
    ("overhead_generated_fast", "1. per-call overlay / generated (fast server)"),
    ("overhead_raw_sandbox", "1. per-call overlay / raw httpx (sandbox server)"),
    ("overhead_generated_sandbox", "1. per-call overlay / generated (sandbox server)"),
    ("cpu_raw_in_memory", "1. client CPU per call, overlay / raw (no network)"),
]
IMPORT_KEYS = [
    ("import_vs_raw", "3. import / raw httpx"),
    ("memory_growth", "4. dry-run peak RSS, larger file / smaller file"),
    ("memory_peak", "4. dry-run peak RSS, larger file (MB)"),
]
PACING_KEYS = [
    ("pacing_steady", "5. steady rate (first to last accepted) under a fixed window of 50/s, / 50"),
    ("pacing_rate", "5. rows/s under --rate-limit 50, / 50"),
    ("pacing_429", "5. share of requests answered 429"),
]
STARTUP_KEYS = [
    ("startup_help", "6. start-up: --help / import httpx"),
    ("startup_create", "6. start-up: create (bad input) / import httpx"),
]
SANDBOX_KEYS = [
    ("sandbox_rps", "7. sandbox requests/s (default settings, 4 clients)"),
    ("sandbox_vs_fast", "7. sandbox / fast server, requests/s"),
]


def async_keys(s: Settings) -> list[tuple[str, str]]:
    return [
        (f"async_c{level}", f"2. async overlay / raw httpx, concurrency {level}")
        for level in s.async_levels
    ]


ORDER = [
    *[k for k, _ in OVERHEAD_KEYS],
    *[f"async_c{level}" for level in (1, 8, 32, 64)],
    *[k for k, _ in IMPORT_KEYS],
    *[k for k, _ in PACING_KEYS],
    *[k for k, _ in STARTUP_KEYS],
    *[k for k, _ in SANDBOX_KEYS],
]


def _sorted(results: list[Result]) -> list[Result]:
    rank = {key: i for i, key in enumerate(ORDER)}
    return sorted(results, key=lambda r: rank.get(r.key, len(rank)))


def _fmt_value(r: Result) -> str:
    if r.ratio is None:
        return "-"
    if r.unit == "share":
        return f"{r.ratio * 100:.2f}%"
    if r.unit == "req/s":
        return f"{r.ratio:,.0f} req/s"
    if r.unit == "MB":
        return f"{r.ratio:.1f} MB"
    return f"{r.ratio:.3f}"


def _fmt_target(r: Result) -> str:
    if r.target is None:
        return "-"
    if r.unit == "share":
        return f"{r.op} {r.target * 100:g}%"
    if r.unit == "MB":
        return f"{r.op} {r.target:g} MB"
    return f"{r.op} {r.target:g}"


def table(results: list[Result]) -> str:
    rows = [("metric", "measured", "target", "result")]
    rows += [(r.metric, _fmt_value(r), _fmt_target(r), r.verdict) for r in _sorted(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    errors = [r for r in _sorted(results) if r.error]
    for r in errors:
        lines.append(f"  ! {r.key}: {r.error}")
    return "\n".join(lines)


def _result_from_json(row: dict[str, Any]) -> Result:
    return Result(
        row["key"],
        row["metric"],
        row["ratio"],
        row["target"],
        row["op"],
        row["unit"],
        row["detail"],
        row["error"],
    )


def markdown_table(results: list[Result]) -> str:
    lines = ["| metric | measured | target | result |", "|---|---|---|---|"]
    for r in _sorted(results):
        lines.append(f"| {r.metric} | {_fmt_value(r)} | {_fmt_target(r)} | {r.verdict} |")
    return "\n".join(lines)


def chart(results: list[Result], path: Path, title: str) -> None:
    """Left: each ratio as a bar, its target as a black tick across it. Right: the
    figures with a ceiling (429 share, peak RSS) as the fraction of that ceiling used.
    Green pass, red miss, grey information only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in _sorted(results) if r.ratio is not None and r.unit != "req/s"]
    ratios = [r for r in rows if r.unit == "x"]
    ceilings = [r for r in rows if r.unit in ("share", "MB") and r.target]
    fig, axes = plt.subplots(
        1,
        2,
        figsize=(13, 0.42 * max(len(ratios), 4) + 1.6),
        gridspec_kw={"width_ratios": [3, 1.4]},
    )
    colour = {"pass": "#3a923a", "MISS": "#c83c3c", "info": "#8a8aa8", "error": "#999999"}

    def bars(
        ax: Any, items: list[Result], value: Callable[[Result], float], ticks: list[float | None]
    ) -> None:
        ys = list(range(len(items)))[::-1]
        values = [value(r) for r in items]
        ax.barh(ys, values, color=[colour[r.verdict] for r in items], height=0.6)
        for y, r, v, tick in zip(ys, items, values, ticks, strict=True):
            if tick is not None:
                ax.plot([tick, tick], [y - 0.42, y + 0.42], color="black", linewidth=2)
            ax.text(max(v, tick or 0.0), y, f"  {_fmt_value(r)}", va="center", fontsize=8)
        ax.set_yticks(ys)
        ax.set_yticklabels([r.metric for r in items], fontsize=8)
        ax.set_ylim(-0.7, max(len(items), 4) - 0.3)
        ax.set_xlim(0, max([*values, *(t for t in ticks if t), 1.0]) * 1.3)

    bars(axes[0], ratios, lambda r: float(r.ratio or 0.0), [r.target for r in ratios])
    axes[0].axvline(1.0, color="#444444", linewidth=0.8, linestyle=":")
    axes[0].set_xlabel("ratio, measured side by side (black tick: target)", fontsize=9)
    if ceilings:
        bars(
            axes[1],
            ceilings,
            lambda r: float(r.ratio or 0.0) / float(r.target or 1.0),
            [1.0 for _ in ceilings],
        )
        axes[1].set_xlim(0, 1.8)  # room for the labels right of the ceiling tick
        axes[1].set_xlabel("measured / ceiling (tick: the ceiling)", fontsize=9)
    else:
        axes[1].axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few calls each; no real numbers")
    parser.add_argument(
        "--only", help=f"comma-separated sections to run (default: all of {', '.join(SECTIONS)})"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for results.json and results.png (default: bench/, or bench/out/ "
        "with --quick so that a quick run never overwrites the committed results)",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="let the OS place client and servers (default: servers on the last CPU, "
        "everything else on the others)",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        metavar="RESULTS_JSON",
        help="run nothing; print the table of an earlier run's results.json as Markdown",
    )
    args = parser.parse_args(argv)
    if args.markdown is not None:
        saved = json.loads(args.markdown.read_text(encoding="utf-8"))
        print(markdown_table([_result_from_json(row) for row in saved["results"]]))
        return 0
    sections = tuple(args.only.split(",")) if args.only else SECTIONS
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    out = args.out or (BENCH_DIR / "out" if args.quick else BENCH_DIR)
    out.mkdir(parents=True, exist_ok=True)

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    split = None if args.no_pin else harness.pin_clients()
    runner = Runner(QUICK if args.quick else FULL, sections)
    started = time.perf_counter()
    runner.run()
    elapsed = time.perf_counter() - started

    results = _sorted(runner.results)
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mode": "quick" if args.quick else "full",
        "sections": list(sections),
        "seed": SEED,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": cpus,
        "pinning": None
        if split is None
        else {"client_cpus": sorted(split[0]), "server_cpus": sorted(split[1])},
        "duration_s": round(elapsed, 1),
        "section_seconds": {k: round(v, 1) for k, v in runner.timings.items()},
    }
    payload = {
        "meta": meta,
        "results": [r.to_json() for r in results],
        "details": runner.details,
    }
    (out / "results.json").write_text(
        json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8"
    )
    title = (
        f"spp-activities benchmarks ({meta['mode']} run, {meta['date']}, "
        f"Python {meta['python']}, {cpus} CPUs)"
    )
    rps = next((r for r in results if r.key == "sandbox_rps" and r.ratio), None)
    if rps is not None:
        title += f"; the sandbox serves {rps.ratio:,.0f} requests/s"
    chart(results, out / "results.png", title)

    print()
    print(table(results))
    profile = runner.details.get("overhead_profile")
    if profile:
        shares = ", ".join(f"{k} {v:.1%}" for k, v in profile["layer_share"].items())
        top = "; ".join(
            f"{f['function']} {f['own_share']:.2%}" for f in profile["overlay_functions"][:4]
        )
        print(f"\nwhere a create's time goes (cProfile, own time): {shares}")
        print(f"overlay's biggest own costs: {top}")
    print(
        f"\n{len(results)} rows in {elapsed:.0f}s; wrote {out / 'results.json'} and "
        f"{out / 'results.png'}"
    )
    # A miss is a finding, not a failure; a benchmark that could not run is.
    broken = [r.key for r in results if r.error]
    if broken:
        print(f"these could not be measured: {', '.join(broken)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
