"""``/metrics`` scrape time at the size of a big centre: 1,000 seats logged in across 8 queues.

The backend's own registry (``hotline.runtime.Runtime``, not started: no PBX, no database) is
brought to a busy moment through the controller's event path, as a live link would bring it:
each seat a member of its district's queue and the city centre's; 600 on a call, 100 in
wrap-up, 150 paused (the configured pause codes, a pause with no reason, one not configured),
50 ringing, the rest ready; 240 callers waiting with their IVR priorities; a morning of
calls already answered, completed and abandoned behind the counters; the ticket series of 33
departments. Then one scrape is timed, many times:

* ``generate_latest`` of the registry with the centre label (what the ``/metrics`` route
  does), and
* the whole ``GET /metrics`` through the app (FastAPI in process over ASGI, no socket).

p50 and p99 of each, in milliseconds (goal: under 10 ms), and the size of the text.
``run(results)`` adds ``results["metrics_scrape"]``; ``python -m bench.metrics_scrape`` runs it
alone and prints JSON (``--scrapes N``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from types import SimpleNamespace
from typing import Any

__all__ = ["run"]

QUEUES = ("hotline", "urgent", "xiaoshan", "yuhang", "fuyang", "tonglu", "chunan", "jiande")
SEATS = 1000
T0 = 1_800_000_000.0


def _busy_runtime() -> Any:
    from config.settings import Settings
    from hotline.runtime import Runtime
    from metrics.ticket_series import TicketSeries
    from pbx import events as ev
    from tickets.supervision import Level

    rt = Runtime(Settings(_env_file=None), warm_knowledge=False)  # type: ignore[call-arg]
    c = rt.controller
    rng = random.Random(13)
    at = T0
    codes = [*rt.seat_lifecycle.pause_codes.codes, "", "家里有事"]
    seats = [f"Local/{8000 + i}@agents/n" for i in range(SEATS)]
    for i, iface in enumerate(seats):
        for q in {QUEUES[i % len(QUEUES)], "hotline"}:
            m = ev.MemberStatus(at, q, iface, f"Agent {8000 + i}", 1, False, "", False)
            c.handle(ev.MemberAdded(at, m))
    uid = 0
    # a morning behind the counters: 20,000 calls over 4 hours, 8% abandoned
    for _ in range(20_000):
        uid += 1
        at += 0.72
        q = rng.choice(QUEUES)
        u = f"{T0:.0f}.{uid}"
        c.calls.note_priority(u, rng.choice((0, 0, 0, 1, 5, 8)))
        c.handle(ev.CallerJoined(at, q, u, u, f"Local/x-{uid};2", "13800000000", "", 1, 1))
        wait = rng.expovariate(1 / 15.0)
        if rng.random() < 0.08:
            if rng.random() < 0.8:
                c.handle(ev.HangupRequested(at + wait, u))
            c.handle(ev.CallerAbandoned(at + wait, q, u, 1, 1, int(wait)))
            continue
        iface = seats[uid % SEATS]
        c.handle(ev.AgentConnected(at + wait, q, u, u, iface, "", int(wait), 1))
        talk = rng.expovariate(1 / 150.0)
        c.handle(ev.AgentCompleted(at + wait + talk, q, u, iface, "", None, int(talk), "agent"))
    at += 600.0
    # now: 600 seats on a call, 100 in wrap-up, 150 paused, 50 ringing, the rest ready
    for i, iface in enumerate(seats):
        q = QUEUES[i % len(QUEUES)]
        uid += 1
        u = f"{T0:.0f}.{uid}"
        if i < 700:
            c.handle(ev.CallerJoined(at - 60, q, u, u, f"Local/x-{uid};2", "138", "", 1, 1))
            c.handle(ev.AgentConnected(at - 50, q, u, u, iface, "", 10, 1))
            if i >= 600:
                c.handle(ev.AgentCompleted(at - 5, q, u, iface, "", None, 45, "agent"))
        elif i < 850:
            reason = codes[i % len(codes)]
            for qq in {q, "hotline"}:
                m = ev.MemberStatus(at, qq, iface, "", 1, True, reason, False)
                c.handle(ev.MemberPaused(at, m))
        elif i < 900:
            c.handle(ev.CallerJoined(at - 3, q, u, u, f"Local/x-{uid};2", "138", "", 1, 1))
            c.handle(ev.AgentCalled(at - 1, q, u, iface, ""))
    for n in range(240):  # callers waiting, each queue
        uid += 1
        u = f"{T0:.0f}.{uid}"
        c.calls.note_priority(u, rng.choice((0, 0, 1, 5, 8)))
        q = QUEUES[n % len(QUEUES)]
        c.handle(ev.CallerJoined(at - n % 90, q, u, u, f"Local/x-{uid};2", "138", "", 1, 1))
    rt.now = lambda: at + 1.0
    departments = [f"D{i:02d}" for i in range(33)]
    latest = [
        SimpleNamespace(department=rng.choice(departments), level=rng.choice(list(Level)))
        for _ in range(2_000)
    ]
    job = SimpleNamespace(
        by_state={"dispatched": 900, "accepted": 1200, "replied": 300, "closed": 80_000},
        latest=latest,
        sent=40,
        failed_attempts=2,
    )
    rt.registry.register(TicketSeries(job))
    rt.ivr_metrics.finished("main", "queue")
    return rt


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


async def _over_the_app(rt: Any, scrapes: int) -> list[float]:
    import httpx

    from hotline.app import create_app

    transport = httpx.ASGITransport(app=create_app(rt))
    times: list[float] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(scrapes):
            t = time.perf_counter()
            r = await client.get("/metrics")
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200
    return times


def measure(scrapes: int = 500) -> dict[str, Any]:
    from prometheus_client import generate_latest

    from metrics.centre_label import CentreLabelled

    rt = _busy_runtime()
    census = rt.controller.seats.counts(rt.now())
    exposed = CentreLabelled(rt.registry, rt.settings.centre)  # as the /metrics route
    text = generate_latest(exposed)
    for _ in range(20):  # warm up
        generate_latest(exposed)
    direct: list[float] = []
    for _ in range(scrapes):
        t = time.perf_counter()
        generate_latest(exposed)
        direct.append((time.perf_counter() - t) * 1000)
    http = asyncio.run(_over_the_app(rt, scrapes))
    return {
        "seats": len(rt.controller.seats.seats),
        "seat_states": census,
        "waiting": sum(rt.controller.calls.waiting_count(q) for q in QUEUES),
        "queues": len(QUEUES),
        "bytes": len(text),
        "series": sum(1 for line in text.splitlines() if line and not line.startswith(b"#")),
        "generate_latest_p50_ms": round(_pct(direct, 50), 3),
        "generate_latest_p99_ms": round(_pct(direct, 99), 3),
        "http_p50_ms": round(_pct(http, 50), 3),
        "http_p99_ms": round(_pct(http, 99), 3),
        "scrapes": scrapes,
    }


def run(results: dict[str, Any]) -> None:
    r = results["metrics_scrape"] = measure()
    print(
        f"/metrics scrape, {r['seats']} seats in {r['queues']} queues, {r['waiting']} waiting "
        f"({r['series']} series, {r['bytes']} bytes): generate_latest p50 "
        f"{r['generate_latest_p50_ms']} ms, p99 {r['generate_latest_p99_ms']} ms; "
        f"GET /metrics p50 {r['http_p50_ms']} ms, p99 {r['http_p99_ms']} ms (goal < 10 ms)"
    )


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="python -m bench.metrics_scrape", description=__doc__)
    p.add_argument("--scrapes", type=int, default=500)
    print(json.dumps(measure(p.parse_args().scrapes), indent=2))
