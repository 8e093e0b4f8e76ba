"""FastAGI benchmark: IVR sessions per second and the per-command latency.

``run(results)`` adds ``results["agi"]``; ``python -m bench.agi`` runs it alone and prints
JSON. N simulated callers (``pbx.simulator.agi.run_ivr``, Asterisk's side over real TCP
on loopback) go through the shipped menus at once, in a mix of behaviours: choose a queue,
wrong keys, silence, hang up mid-menu, and a ticket lookup. The callers answer at once, so
this measures the backend (protocol, engine, asyncio), not a caller's thinking time.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from typing import Any

__all__ = ["run"]

BEHAVIOURS: dict[str, dict[str, list[str | None]]] = {
    "queue": {"hotline/welcome-language": ["1"], "hotline/main-menu": ["2"]},
    "wrong": {"hotline/welcome-language": ["1"], "hotline/main-menu": ["7", "7", "7"]},
    "silent": {},
    "hangup": {"hotline/welcome-language": ["2"], "hotline/main-menu": ["hangup"]},
    "status": {
        "hotline/welcome-language": ["1"],
        "hotline/main-menu": ["5"],
        "hotline/enter-ticket": ["#"],  # the number is filled in below
        "hotline/ticket-done": ["9"],
    },
}


async def _bench(sessions: int, concurrency: int, seed: int) -> dict[str, Any]:
    from datetime import UTC, datetime

    from config.settings import CONFIG_DIR
    from ivr.menus import load_menus
    from ivr.metrics import IvrMetrics
    from ivr.server import StaticDeps, start_agi_server, stop_agi_server
    from pbx.simulator.agi import run_ivr
    from tickets.numbers import make_number

    number = make_number(11)
    deps = StaticDeps(
        tickets={number: ("13900000011", "awaiting_routing")},
        now=datetime(2026, 11, 30, 2, tzinfo=UTC).timestamp,  # a working Monday, 10:00 +08
    )
    metrics = IvrMetrics()
    server = await start_agi_server(
        "127.0.0.1", 0, deps, menus=load_menus(CONFIG_DIR), metrics=metrics
    )
    port = server.sockets[0].getsockname()[1]
    rng = random.Random(seed)
    kinds = [rng.choice(list(BEHAVIOURS)) for _ in range(sessions)]
    gate = asyncio.Semaphore(concurrency)
    durations: list[float] = []

    async def one(i: int, kind: str) -> str:
        left = {k: list(v) for k, v in BEHAVIOURS[kind].items()}
        if kind == "status":
            left["hotline/enter-ticket"] = [number + "#"]

        def press(prompt: str) -> str | None:
            q = left.get(prompt)
            return q.pop(0) if q else None

        caller = "13900000011" if kind == "status" else f"138{i:08d}"
        async with gate:
            t0 = time.perf_counter()
            out = await run_ivr(
                "127.0.0.1", port, {"num": caller, "uniqueid": f"1795966595.{i}"}, press, 60
            )
            durations.append(time.perf_counter() - t0)
        return out.get("IVR_RESULT", out["AGISTATUS"])

    t0 = time.perf_counter()
    exits = await asyncio.gather(*(one(i, k) for i, k in enumerate(kinds)))
    elapsed = time.perf_counter() - t0
    await stop_agi_server(server)

    hist = next(m for m in metrics.registry.collect() if m.name == "hotline_ivr_command_seconds")
    count = next(s.value for s in hist.samples if s.name.endswith("_count"))
    total = next(s.value for s in hist.samples if s.name.endswith("_sum"))
    buckets = [(float(s.labels["le"]), s.value) for s in hist.samples if s.name.endswith("_bucket")]

    def quantile(q: float) -> float:
        for le, c in buckets:
            if c >= q * count:
                return le
        return float("inf")

    durations.sort()
    return {
        "sessions": sessions,
        "concurrency": concurrency,
        "elapsed_s": round(elapsed, 3),
        "sessions_per_s": round(sessions / elapsed, 1),
        "commands": int(count),
        "commands_per_s": round(count / elapsed, 1),
        "command_latency_mean_ms": round(1000 * total / count, 3) if count else None,
        "command_latency_p50_le_ms": round(1000 * quantile(0.5), 3),
        "command_latency_p99_le_ms": round(1000 * quantile(0.99), 3),
        "session_p50_ms": round(1000 * statistics.median(durations), 2),
        "session_p99_ms": round(1000 * durations[int(0.99 * (len(durations) - 1))], 2),
        "self_service_ratio": round(metrics.self_service_ratio, 4),
        "exits": {e: exits.count(e) for e in sorted(set(exits))},
    }


async def _both(sessions: int, concurrency: int, seed: int) -> dict[str, Any]:
    loaded = await _bench(sessions, concurrency, seed)
    # One caller at a time: the per-command latency without 500 sessions queueing on the loop.
    alone = await _bench(200, 1, seed)
    keys = ("sessions_per_s", "command_latency_mean_ms", "command_latency_p99_le_ms")
    loaded["one_at_a_time"] = {k: alone[k] for k in (*keys, "session_p50_ms")}
    return loaded


def run(
    results: dict[str, Any], *, sessions: int = 2000, concurrency: int = 500, seed: int = 1
) -> None:
    """Add the FastAGI figures to ``results["agi"]``. Synchronous: call it outside an event
    loop (it runs its own)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        r = results["agi"] = asyncio.run(_both(sessions, concurrency, seed))
        alone = r["one_at_a_time"]
        print(
            f"IVR over FastAGI: {r['sessions_per_s']} sessions/s with {concurrency} at once "
            f"(command latency mean {r['command_latency_mean_ms']} ms); one at a time "
            f"{alone['sessions_per_s']} sessions/s, {alone['command_latency_mean_ms']} ms "
            "per command"
        )
        return
    raise RuntimeError("bench.agi.run is synchronous: call it outside the event loop")


if __name__ == "__main__":
    out: dict[str, Any] = {}
    run(out)
    print(json.dumps(out, indent=2, ensure_ascii=False))
