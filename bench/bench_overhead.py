"""Issue 6, item 1: per-call overhead of SPPClient.activities.create.

Three ways to create one activity, all keep-alive, all against the same server,
measured in one run, round-robin in batches so that drift in the machine hits
each of them alike:

    overlay    SPPClient(...).activities.create(client_id, content)
    raw        httpx.Client.post(...) + json.loads(response.content)
    generated  spp_api...create_client_activity.sync_detailed(...) with
               spp_api.AuthenticatedClient

Each call is timed on its own (perf_counter_ns); the figure is the median.
"""

from __future__ import annotations

import cProfile
import gc
import json
import pstats
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from harness import API_VERSION, SANDBOX_TOKEN, SEED, median, quantile

Call = Callable[[int, str], None]


@dataclass
class Variant:
    name: str
    call: Call
    close: Callable[[], None]


def raw_variant(url: str, token: str) -> Variant:
    client = httpx.Client(
        base_url=url + "/api",
        headers={"Authorization": f"Bearer {token}", "X-Api-Version": API_VERSION},
    )

    def call(client_id: int, content: str) -> None:
        response = client.post(f"/clients/{client_id}/activities", json={"content": content})
        if response.status_code != 201:
            raise RuntimeError(f"raw httpx: unexpected status {response.status_code}")
        json.loads(response.content)

    return Variant("raw", call, client.close)


def generated_variant(url: str, token: str) -> Variant:
    from spp_api import AuthenticatedClient
    from spp_api.api.client_activities import create_client_activity
    from spp_api.models import ActivityCreate

    client = AuthenticatedClient(base_url=url + "/api", token=token)
    sync_detailed = create_client_activity.sync_detailed

    def call(client_id: int, content: str) -> None:
        response = sync_detailed(
            client_id,
            client=client,
            body=ActivityCreate(content=content),
            x_api_version=API_VERSION,
        )
        if response.status_code != 201:
            raise RuntimeError(f"generated: unexpected status {response.status_code}")

    return Variant("generated", call, client.get_httpx_client().close)


def overlay_variant(url: str, token: str) -> Variant:
    from spp_activities import SPPClient

    client = SPPClient(workspace_url=url, token=token)
    create = client.activities.create

    def call(client_id: int, content: str) -> None:
        create(client_id, content)

    return Variant("overlay", call, client.close)


FACTORIES: dict[str, Callable[[str, str], Variant]] = {
    "overlay": overlay_variant,
    "raw": raw_variant,
    "generated": generated_variant,
}


def _inputs(count: int, clients: int) -> list[tuple[int, str]]:
    rng = random.Random(SEED)
    return [
        (rng.randint(1, clients), f"Bench call {i}: discussed the project plan.")
        for i in range(count)
    ]


def measure(
    url: str,
    *,
    calls: int,
    batch: int = 10,
    warmup: int = 200,
    token: str = SANDBOX_TOKEN,
    clients: int = 100,
    names: tuple[str, ...] = ("overlay", "raw", "generated"),
    budget_seconds: float | None = None,
) -> dict[str, Any]:
    """Median per-call latency of each variant; round-robin batches, rotating order.

    With `budget_seconds`, fewer than `calls` are made when the warm-up shows
    that the server is too slow to do them all in that time (a slow server
    hides the client's cost anyway).

    Returns {"median_us": {name: ...}, "p10_us", "p90_us", "calls": n} and the
    overlay ratios when the overlay is among the variants.
    """
    variants: list[Variant] = []
    skipped: dict[str, str] = {}
    for name in names:
        try:
            variants.append(FACTORIES[name](url, token))
        except ImportError as exc:
            skipped[name] = f"not importable yet: {exc}"
    inputs = _inputs(max(calls, warmup), clients)
    try:
        warm_start = time.perf_counter()
        for variant in variants:  # warm-up: connections open, caches filled
            for client_id, content in inputs[:warmup]:
                variant.call(client_id, content)
        per_call = (time.perf_counter() - warm_start) / max(1, warmup * len(variants))
        if budget_seconds is not None and variants:
            affordable = int(budget_seconds / (per_call * len(variants)))
            calls = max(batch, min(calls, affordable // batch * batch))
        samples: dict[str, list[int]] = {v.name: [] for v in variants}
        rounds = max(1, calls // batch)
        gc.collect()
        for r in range(rounds):
            order = variants[r % len(variants) :] + variants[: r % len(variants)]
            chunk = inputs[(r * batch) % len(inputs) :][:batch] or inputs[:batch]
            for variant in order:
                out = samples[variant.name]
                call = variant.call
                for client_id, content in chunk:
                    start = time.perf_counter_ns()
                    call(client_id, content)
                    out.append(time.perf_counter_ns() - start)
    finally:
        for variant in variants:
            variant.close()

    result: dict[str, Any] = {
        "calls_each": {k: len(v) for k, v in samples.items()},
        "median_us": {k: median(v) / 1000 for k, v in samples.items()},
        "p10_us": {k: quantile(v, 0.10) / 1000 for k, v in samples.items()},
        "p90_us": {k: quantile(v, 0.90) / 1000 for k, v in samples.items()},
        "skipped": skipped,
    }
    med = result["median_us"]
    if "overlay" in med:
        if "raw" in med:
            result["overlay_vs_raw"] = med["overlay"] / med["raw"]
        if "generated" in med:
            result["overlay_vs_generated"] = med["overlay"] / med["generated"]
    if "generated" in med and "raw" in med:
        result["generated_vs_raw"] = med["generated"] / med["raw"]
    return result


def profile_overlay(
    url: str, *, calls: int, token: str = SANDBOX_TOKEN, top: int = 12
) -> dict[str, Any]:
    """cProfile `calls` overlay creates; where does the time go, by layer and function.

    Layers are decided by the file a function lives in: the overlay
    (spp_activities), the generated layer (spp_api), httpx/httpcore/h11, and the
    rest (stdlib, attrs, ...). Times are each function's own time (tottime), so
    the layers add up to the total.
    """
    variant = overlay_variant(url, token)
    inputs = _inputs(calls, 100)
    try:
        for client_id, content in inputs[:50]:
            variant.call(client_id, content)
        profiler = cProfile.Profile()
        profiler.enable()
        for client_id, content in inputs:
            variant.call(client_id, content)
        profiler.disable()
    finally:
        variant.close()

    stats = pstats.Stats(profiler)
    raw_stats: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw_stats.values()) or 1e-12
    layers: dict[str, float] = {}
    rows: list[tuple[float, float, str, int]] = []
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in raw_stats.items():
        layer = _layer(filename)
        layers[layer] = layers.get(layer, 0.0) + tottime
        if layer == "overlay":
            rows.append((tottime, cumtime, f"{_short(filename)}:{line}({func})", ncalls))
    rows.sort(reverse=True)
    return {
        "calls": calls,
        "total_s": total,
        "per_call_us": total / calls * 1e6,
        "layer_share": {k: v / total for k, v in sorted(layers.items(), key=lambda kv: -kv[1])},
        "overlay_functions": [
            {
                "function": name,
                "own_share": tottime / total,
                "cumulative_share": cumtime / total,
                "calls_per_create": ncalls / calls,
            }
            for tottime, cumtime, name, ncalls in rows[:top]
        ],
    }


def _layer(filename: str) -> str:
    if "spp_activities" in filename:
        return "overlay"
    if "spp_api" in filename:
        return "generated"
    if any(part in filename for part in ("httpx", "httpcore", "h11")):
        return "httpx"
    return "other"


def _short(filename: str) -> str:
    for marker in ("spp_activities/", "spp_api/"):
        if marker in filename:
            return marker + filename.split(marker, 1)[1]
    return filename


def _canned_transport() -> httpx.MockTransport:
    body = (
        b'{"id":1,"content":"Client called to discuss project requirements.",'
        b'"created_at":"2025-12-19T10:00:00.000000Z","updated_at":"2025-12-19T10:00:00.000000Z",'
        b'"author":{"id":456,"name":"John Doe","email":"john@example.com"}}'
    )
    headers = {"Content-Type": "application/json", "X-Api-Version": API_VERSION}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, content=body, headers=headers)

    return httpx.MockTransport(handler)


def measure_in_memory(
    *, calls: int, batch: int = 100, warmup: int = 200, token: str = SANDBOX_TOKEN
) -> dict[str, Any]:
    """The same three variants over an in-memory transport: no socket, no server.

    What is left is each one's own CPU work per call (httpx's request/response
    handling included, the same for all), without the network's noise. The
    overlay gets its own httpx.Client with the transport, so it adds its
    headers per request as it does for any user-supplied client.
    """
    from spp_activities import SPPClient
    from spp_api import AuthenticatedClient
    from spp_api.api.client_activities import create_client_activity
    from spp_api.models import ActivityCreate

    url = "http://127.0.0.1:9"
    raw_client = httpx.Client(
        base_url=url + "/api",
        headers={"Authorization": f"Bearer {token}", "X-Api-Version": API_VERSION},
        transport=_canned_transport(),
    )
    generated_client = AuthenticatedClient(
        base_url=url + "/api", token=token, httpx_args={"transport": _canned_transport()}
    )
    overlay = SPPClient(workspace_url=url, token=token)
    overlay._http._transport = _canned_transport()  # its own client, no socket
    overlay_http = httpx.Client(transport=_canned_transport())
    overlay_own = SPPClient(workspace_url=url, token=token, http_client=overlay_http)
    sync_detailed = create_client_activity.sync_detailed

    def raw(client_id: int, content: str) -> None:
        response = raw_client.post(f"/clients/{client_id}/activities", json={"content": content})
        json.loads(response.content)

    def generated(client_id: int, content: str) -> None:
        sync_detailed(
            client_id,
            client=generated_client,
            body=ActivityCreate(content=content),
            x_api_version=API_VERSION,
        )

    variants = [
        Variant("overlay", overlay.activities.create, overlay.close),
        Variant("overlay_own_http_client", overlay_own.activities.create, overlay_http.close),
        Variant("raw", raw, raw_client.close),
        Variant("generated", generated, generated_client.get_httpx_client().close),
    ]
    inputs = _inputs(max(calls, warmup, batch), 100)
    samples: dict[str, list[int]] = {v.name: [] for v in variants}
    try:
        for variant in variants:
            for client_id, content in inputs[:warmup]:
                variant.call(client_id, content)
        for r in range(max(1, calls // batch)):
            order = variants[r % len(variants) :] + variants[: r % len(variants)]
            chunk = inputs[(r * batch) % len(inputs) :][:batch] or inputs[:batch]
            for variant in order:
                out = samples[variant.name]
                for client_id, content in chunk:
                    start = time.perf_counter_ns()
                    variant.call(client_id, content)
                    out.append(time.perf_counter_ns() - start)
    finally:
        for variant in variants:
            variant.close()
    med = {k: median(v) / 1000 for k, v in samples.items()}
    return {
        "calls_each": {k: len(v) for k, v in samples.items()},
        "median_us": med,
        "overlay_vs_raw": med["overlay"] / med["raw"],
        "overlay_vs_generated": med["overlay"] / med["generated"],
        "overlay_minus_raw_us": med["overlay"] - med["raw"],
        "overlay_minus_generated_us": med["overlay"] - med["generated"],
        "own_http_client_minus_overlay_us": med["overlay_own_http_client"] - med["overlay"],
    }
