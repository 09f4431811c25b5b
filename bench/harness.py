"""Shared pieces of the benchmarks: servers in child processes, timing, results.

Every server a benchmark talks to runs in its own process on a free loopback
port, so it never shares the GIL with the client being measured; with two or
more CPUs it is also pinned to the last one, away from the client (see
pin_clients). Each one is started and stopped here, and every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
BIN = Path(sys.executable).parent
PYTHON = sys.executable
CLI = str(BIN / "spp-activities")

SEED = 20240305
SANDBOX_TOKEN = "sandbox-token"  # the sandbox's documented default, a throwaway value
API_VERSION = "2024-03-05"
READY_TIMEOUT = 30.0


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for child processes: no SPP_* settings leak in from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPP_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # start-up numbers assume cached bytecode
    env.update(extra)
    return env


# Set by pin_clients() for the child processes (bench_import.py) that start servers too.
SERVER_CPUS_ENV = "BENCH_SERVER_CPUS"


def cpu_split() -> tuple[set[int], set[int]] | None:
    """(client CPUs, server CPUs): the server gets the last CPU, the client the rest.

    None with a single CPU. Keeping them apart means that the server's work and
    the client's never compete for one core, so a client that costs more CPU
    shows as such instead of as a slower server.
    """
    if not hasattr(os, "sched_getaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return set(cpus[:-1]), {cpus[-1]}


def server_cpus() -> set[int] | None:
    text = os.environ.get(SERVER_CPUS_ENV)
    if text:
        return {int(cpu) for cpu in text.split(",")}
    split = cpu_split()
    return None if split is None else split[1]


def pin_clients() -> tuple[set[int], set[int]] | None:
    """Pin this process, and every child it starts from now on, to the client CPUs;
    servers started through ServerProcess (here or in a child) go to the server CPU."""
    split = cpu_split()
    if split is None:
        return None
    os.environ[SERVER_CPUS_ENV] = ",".join(str(cpu) for cpu in sorted(split[1]))
    os.sched_setaffinity(0, split[0])
    return split


class ServerProcess:
    """A server in a child process on a free loopback port; a context manager.

    `ready_path` is fetched with GET until it answers (any status), within
    READY_TIMEOUT seconds; if the process exits first, its stderr is shown.
    """

    def __init__(self, argv: Sequence[str], port: int, ready_path: str) -> None:
        self.argv = list(argv)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ready_path = ready_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())

    def start(self) -> ServerProcess:
        self._proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )
        cpus = server_cpus()
        if cpus is not None:
            with contextlib.suppress(OSError):  # it may already have exited; seen below
                os.sched_setaffinity(self._proc.pid, cpus)
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"server {self.argv!r} exited with {self._proc.returncode}:\n{self.log()}"
                )
            try:
                httpx.get(self.url + self.ready_path, timeout=1.0)
                return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server {self.argv!r} not ready in {READY_TIMEOUT}s")
            time.sleep(0.05)

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def fast_server() -> ServerProcess:
    """bench/fast_server.py: a fixed 201, so the client's own cost shows."""
    port = free_port()
    argv = [PYTHON, str(BENCH_DIR / "fast_server.py"), "--port", str(port)]
    return ServerProcess(argv, port, "/_bench/health")


def sandbox_server(*, rate_limit: float | None = None) -> ServerProcess:
    """`spp-activities sandbox` with its default settings (in memory, clients 1..100)."""
    port = free_port()
    argv = [CLI, "sandbox", "--port", str(port)]
    if rate_limit is not None:
        argv += ["--rate-limit", str(rate_limit)]
    return ServerProcess(argv, port, "/_sandbox/stats")


@contextlib.contextmanager
def timer() -> Iterator[list[float]]:
    """`with timer() as t: ...`, then t[0] is the elapsed wall time in seconds."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return float(ordered[index])


@dataclass
class Result:
    """One row of the results table.

    `ratio` is the measured figure compared with `target` using `op` ("<=" or
    ">="). `target` None means the row is information only (no pass/miss).
    """

    key: str
    metric: str
    ratio: float | None
    target: float | None = None
    op: str = "<="
    unit: str = "x"
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def passed(self) -> bool | None:
        if self.target is None or self.ratio is None:
            return None
        if self.op == "<=":
            return self.ratio <= self.target
        return self.ratio >= self.target

    @property
    def verdict(self) -> str:
        if self.error is not None:
            return "error"
        passed = self.passed
        if passed is None:
            return "info"
        return "pass" if passed else "MISS"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        data["verdict"] = self.verdict
        return data
