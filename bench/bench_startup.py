"""Issue 6, item 6: start-up time of the CLI against `python -c "import httpx"`.

Three commands, run in turn (A B C A B C ...; the order rotates each round) so
that a busy moment on the machine hits them alike; the figure is each one's
median wall time. `create --client-id 0` is rejected by the argument parser
(exit 2) before anything is imported or sent.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from typing import Any

from harness import CLI, PYTHON, ROOT, clean_env, median

COMMANDS: dict[str, list[str]] = {
    "import httpx": [PYTHON, "-c", "import httpx"],
    "spp-activities --help": [CLI, "--help"],
    "spp-activities create (bad input)": [CLI, "create", "--client-id", "0", "--content", "x"],
}
TIMEOUT = 60.0
EXPECTED_EXIT = {
    "import httpx": 0,
    "spp-activities --help": 0,
    "spp-activities create (bad input)": 2,
}


def _run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, child CPU seconds, exit code) of one run.

    Waits with a blocking os.wait4, not subprocess's timed wait: that one polls
    in steps of up to 50 ms, which would round every figure up. A timer kills a
    child that hangs, so the wait stays bounded.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    watchdog = threading.Timer(TIMEOUT, proc.kill)
    watchdog.start()
    try:
        _pid, status, usage = os.wait4(proc.pid, 0)
    finally:
        watchdog.cancel()
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_utime + usage.ru_stime, proc.returncode


def measure(*, runs: int = 20, warmup: int = 2) -> dict[str, Any]:
    env = clean_env()
    names = list(COMMANDS)
    for _ in range(warmup):  # bytecode caches written, files in the page cache
        for name in names:
            _run_once(COMMANDS[name], env)
    times: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for r in range(runs):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            elapsed, cpu_seconds, code = _run_once(COMMANDS[name], env)
            if code != EXPECTED_EXIT[name]:
                raise RuntimeError(f"{name!r} exited {code}, expected {EXPECTED_EXIT[name]}")
            times[name].append(elapsed)
            cpu[name].append(cpu_seconds)
    med = {name: median(values) * 1000 for name, values in times.items()}
    base = med["import httpx"]
    return {
        "runs": runs,
        "median_ms": med,
        "min_ms": {name: min(values) * 1000 for name, values in times.items()},
        # The children's own CPU time (user + sys): steadier than wall time on a busy machine.
        "cpu_median_ms": {name: median(values) * 1000 for name, values in cpu.items()},
        "help_vs_httpx": med["spp-activities --help"] / base,
        "create_vs_httpx": med["spp-activities create (bad input)"] / base,
    }
