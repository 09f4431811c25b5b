"""Issue 6, item 2: AsyncSPPClient throughput against raw httpx.AsyncClient.

At each concurrency level, N workers share one client and send creates until a
fixed number of requests is done. The overlay and raw httpx alternate in rounds
(ABAB..., the first one flipped each round) against the same server, with the
same connection-pool limits, and each one's throughput is its total requests
over its total time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from harness import API_VERSION, SANDBOX_TOKEN

AsyncCall = Callable[[int, str], Awaitable[None]]


@dataclass
class AsyncVariant:
    name: str
    call: AsyncCall
    aclose: Callable[[], Awaitable[None]]


def pool_limits(concurrency: int) -> httpx.Limits:
    """The same pool for both: one keep-alive connection per worker, none dropped."""
    size = max(concurrency, 1)
    return httpx.Limits(max_connections=size, max_keepalive_connections=size)


def raw_variant(url: str, token: str, concurrency: int) -> AsyncVariant:
    client = httpx.AsyncClient(
        base_url=url + "/api",
        headers={"Authorization": f"Bearer {token}", "X-Api-Version": API_VERSION},
        limits=pool_limits(concurrency),
    )

    async def call(client_id: int, content: str) -> None:
        response = await client.post(f"/clients/{client_id}/activities", json={"content": content})
        if response.status_code != 201:
            raise RuntimeError(f"raw httpx: unexpected status {response.status_code}")
        json.loads(response.content)

    return AsyncVariant("raw", call, client.aclose)


def overlay_variant(url: str, token: str, concurrency: int) -> AsyncVariant:
    from spp_activities import AsyncSPPClient

    http_client = httpx.AsyncClient(limits=pool_limits(concurrency))
    client = AsyncSPPClient(workspace_url=url, token=token, http_client=http_client)
    create = client.activities.create

    async def call(client_id: int, content: str) -> None:
        await create(client_id, content)

    async def aclose() -> None:
        await client.aclose()
        await http_client.aclose()

    return AsyncVariant("overlay", call, aclose)


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
    url: str, token: str, concurrency: int, requests: int, rounds: int
) -> dict[str, Any]:
    variants = [
        overlay_variant(url, token, concurrency),
        raw_variant(url, token, concurrency),
    ]
    elapsed = {v.name: 0.0 for v in variants}
    done = {v.name: 0 for v in variants}
    try:
        for variant in variants:  # warm-up: fill the pool
            await _drive(variant, max(concurrency * 4, 50), concurrency)
        for r in range(rounds):
            order = variants if r % 2 == 0 else variants[::-1]
            for variant in order:
                elapsed[variant.name] += await _drive(variant, requests, concurrency)
                done[variant.name] += requests
    finally:
        for variant in variants:
            await variant.aclose()
    rps = {name: done[name] / elapsed[name] for name in elapsed}
    return {
        "concurrency": concurrency,
        "requests_each": done,
        "rps": rps,
        "overlay_vs_raw": rps["overlay"] / rps["raw"],
    }


def measure(
    url: str,
    *,
    levels: tuple[int, ...] = (1, 8, 32, 64),
    requests: int = 500,
    rounds: int = 4,
    token: str = SANDBOX_TOKEN,
) -> list[dict[str, Any]]:
    """Throughput of overlay and raw at each concurrency level (one event loop each)."""
    return [asyncio.run(_measure_level(url, token, level, requests, rounds)) for level in levels]


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
