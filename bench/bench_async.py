"""Issue 6, item 2: AsyncSPPClient throughput against raw httpx.AsyncClient.

At each concurrency level, N workers share one client and send creates until a
batch of requests is done. The overlay and raw httpx run short batches in pairs
(overlay-raw, then raw-overlay, ...) against the same server, with the same
connection pool (httpx's default: 100 connections, 20 kept alive; the overlay
makes that one for itself). The figure is the median over pairs of the two
throughputs' ratio; the totals and the client's CPU time per request are kept
in the details.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from harness import API_VERSION, SANDBOX_TOKEN, median, quantile

AsyncCall = Callable[[int, str], Awaitable[None]]


@dataclass
class AsyncVariant:
    name: str
    call: AsyncCall
    aclose: Callable[[], Awaitable[None]]


def pool_limits(concurrency: int) -> httpx.Limits:
    """One keep-alive connection per worker (for the sandbox load generator)."""
    size = max(concurrency, 1)
    return httpx.Limits(max_connections=size, max_keepalive_connections=size)


def raw_variant(url: str, token: str, concurrency: int) -> AsyncVariant:
    """httpx.AsyncClient with httpx's default pool, the one AsyncSPPClient makes for itself."""
    client = httpx.AsyncClient(
        base_url=url + "/api",
        headers={"Authorization": f"Bearer {token}", "X-Api-Version": API_VERSION},
    )

    async def call(client_id: int, content: str) -> None:
        response = await client.post(f"/clients/{client_id}/activities", json={"content": content})
        if response.status_code != 201:
            raise RuntimeError(f"raw httpx: unexpected status {response.status_code}")
        json.loads(response.content)

    return AsyncVariant("raw", call, client.aclose)


def overlay_variant(url: str, token: str, concurrency: int) -> AsyncVariant:
    """AsyncSPPClient as users get it (its own httpx.AsyncClient, httpx's default pool)."""
    from spp_activities import AsyncSPPClient

    client = AsyncSPPClient(workspace_url=url, token=token)
    create = client.activities.create

    async def call(client_id: int, content: str) -> None:
        await create(client_id, content)

    return AsyncVariant("overlay", call, client.aclose)


async def _drive(variant: AsyncVariant, requests: int, concurrency: int) -> float:
    """Send `requests` creates with `concurrency` workers; the elapsed seconds."""
    jobs = iter(range(requests))

    async def worker() -> None:
        for i in jobs:
            await variant.call(i % 100 + 1, f"Bench async call {i}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


async def _measure_level(
    url: str, token: str, concurrency: int, seconds: float, batch_seconds: float
) -> dict[str, Any]:
    """Pairs of short batches (overlay then raw, or raw then overlay, alternating),
    for about `seconds`.

    The figure is the median over pairs of overlay rps / raw rps: a pair's two
    batches run back to back, so a busy moment on a shared machine hits both
    alike, and the median ignores the pairs where it did not.
    """
    variants = [
        overlay_variant(url, token, concurrency),
        raw_variant(url, token, concurrency),
    ]
    elapsed = {v.name: 0.0 for v in variants}
    cpu = {v.name: 0.0 for v in variants}
    done = {v.name: 0 for v in variants}
    pair_ratios: list[float] = []
    try:
        # Warm-up fills each pool and sizes the batches: about `batch_seconds` each.
        warm = max(concurrency * 4, 50)
        rates = [warm / await _drive(variant, warm, concurrency) for variant in variants]
        batch = max(concurrency * 2, 20, round(max(rates) * batch_seconds))
        deadline = time.perf_counter() + seconds
        while len(pair_ratios) < 3 or (time.perf_counter() < deadline and len(pair_ratios) < 400):
            order = variants if len(pair_ratios) % 2 == 0 else variants[::-1]
            rps: dict[str, float] = {}
            for variant in order:
                cpu_start = time.process_time()
                took = await _drive(variant, batch, concurrency)
                cpu[variant.name] += time.process_time() - cpu_start
                elapsed[variant.name] += took
                done[variant.name] += batch
                rps[variant.name] = batch / took
            pair_ratios.append(rps["overlay"] / rps["raw"])
    finally:
        for variant in variants:
            await variant.aclose()
    rps_total = {name: done[name] / elapsed[name] for name in elapsed}
    cpu_us = {name: cpu[name] / done[name] * 1e6 for name in cpu}
    return {
        "concurrency": concurrency,
        "batch": batch,
        "pairs": len(pair_ratios),
        "requests_each": done,
        "rps": rps_total,
        "overlay_vs_raw": median(pair_ratios),
        "overlay_vs_raw_total": rps_total["overlay"] / rps_total["raw"],
        "pair_ratio_p25_p75": [quantile(pair_ratios, 0.25), quantile(pair_ratios, 0.75)],
        # Client CPU per request: less sensitive to other processes than wall time.
        "client_cpu_us_per_request": cpu_us,
        "cpu_raw_over_overlay": cpu_us["raw"] / cpu_us["overlay"],
    }


def measure(
    url: str,
    *,
    levels: tuple[int, ...] = (1, 8, 32, 64),
    seconds: float = 10.0,
    batch_seconds: float = 0.25,
    token: str = SANDBOX_TOKEN,
) -> list[dict[str, Any]]:
    """Throughput of overlay and raw at each concurrency level, about `seconds` per level."""
    return [
        asyncio.run(_measure_level(url, token, level, seconds, batch_seconds)) for level in levels
    ]


async def sandbox_rps(
    url: str, *, workers: int = 4, seconds: float = 5.0, warmup: float = 1.0
) -> dict[str, Any]:
    """Requests per second a server takes from `workers` raw async clients (item 7).

    Each worker has its own httpx.AsyncClient (its own connection); they send
    creates back to back for `warmup` seconds, then for `seconds` counted.
    """
    clients = [
        httpx.AsyncClient(
            base_url=url + "/api",
            headers={"Authorization": f"Bearer {SANDBOX_TOKEN}", "X-Api-Version": API_VERSION},
            limits=pool_limits(1),
        )
        for _ in range(workers)
    ]
    statuses: dict[int, int] = {}
    counting = False
    count = 0

    async def worker(client: httpx.AsyncClient, index: int, stop_at: float) -> None:
        nonlocal count
        i = 0
        while time.perf_counter() < stop_at:
            response = await client.post(
                f"/clients/{(index + i) % 100 + 1}/activities",
                json={"content": f"Sandbox load {index}-{i}"},
            )
            i += 1
            if counting:
                count += 1
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    try:
        stop = time.perf_counter() + warmup
        await asyncio.gather(*(worker(c, n, stop) for n, c in enumerate(clients)))
        counting = True
        start = time.perf_counter()
        await asyncio.gather(*(worker(c, n, start + seconds) for n, c in enumerate(clients)))
        elapsed = time.perf_counter() - start
    finally:
        for client in clients:
            await client.aclose()
    return {
        "workers": workers,
        "seconds": elapsed,
        "requests": count,
        "rps": count / elapsed,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }
