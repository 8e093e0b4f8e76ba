"""Simulator benchmark: simulated calls per second of wall time.

``run(results)`` adds ``results["simulator"]``; ``python -m bench.sim`` runs it alone.

* **PBX alone**: the "1 + 7" platform (1,000 seats in 8 queues: the city centre and 7
  districts, whose seats overflow for the centre), a 30,000-call working day by the traffic
  model, on a discrete-event clock with no sockets: how fast the embedded PBX's core runs.
* **Whole path**: ``hotline simulate`` (PBX, FastAGI IVR, AMI over TCP, controller, SQLite
  tickets) with 150 seats and 3,000 calls in an hour at a speed the machine can follow.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

__all__ = ["run"]

EPOCH = 1_795_996_800.0  # a Monday, 00:00 UTC+8


async def _pbx_alone(calls: int, seats: int) -> dict[str, Any]:
    from config.traffic import load_traffic
    from pbx.simulator import Simulator, SimulatorConfig, TrafficSpec, city_centre
    from pbx.simulator.desclock import DesClock

    queues, members = city_centre(seats)
    clock = DesClock(EPOCH)
    sim = Simulator(
        SimulatorConfig(seats=0, queues=queues, members=members, epoch=EPOCH, seed=1),
        clock=clock,
    )
    events = 0

    def count(_headers: dict[str, str]) -> None:
        nonlocal events
        events += 1

    sim.subscribe(count)
    plan = load_traffic().plan(EPOCH, 24.0, profile="workday", calls_per_day=calls)
    started = time.perf_counter()
    done = sim.run_traffic(TrafficSpec(plan=plan, queue="hotline"))
    clock.run_until_idle()
    wall = time.perf_counter() - started
    summary = done.result()
    return {
        "seats": seats,
        "queues": len(queues),
        "calls": summary["arrived"],
        "answered": summary["answered"],
        "abandoned": summary["abandoned"],
        "events": events,
        "wall_s": round(wall, 2),
        "calls_per_s": round(summary["arrived"] / wall),
        "events_per_s": round(events / wall),
    }


async def _whole_path(calls: int, seats: int, speed: float) -> dict[str, Any]:
    from config.settings import Settings
    from hotline.simulation import run_simulation

    r = await run_simulation(
        Settings(_env_file=None),
        seats=seats,
        calls=calls,
        hours=1.0,
        speed=speed,
        seed=1,
        talk_mean=None,
        patience_mean=None,
        wrapup=None,
        ring=2.0,
        database_url=None,
        progress=False,
    )
    return {
        "seats": seats,
        "calls": r["calls"],
        "speed": speed,
        "wall_s": r["elapsed_s"],
        "calls_per_s": round(r["calls"] / r["elapsed_s"]),
        "answer_rate": r["answer_rate"],
    }


def run(results: dict[str, Any], *, calls: int = 30_000, seats: int = 1000) -> dict[str, Any]:
    import logging

    logging.disable(logging.WARNING)
    alone = asyncio.run(_pbx_alone(calls, seats))
    whole = asyncio.run(_whole_path(3000, 150, 1000.0))
    out = {"pbx_alone": alone, "whole_path": whole}
    results["simulator"] = out
    print(
        f"simulator alone: {alone['calls_per_s']} calls/s ({alone['events_per_s']} events/s), "
        f"{alone['calls']} calls on {alone['seats']} seats in {alone['queues']} queues "
        f"in {alone['wall_s']} s"
    )
    print(
        f"whole path (PBX, IVR, AMI, controller, tickets): {whole['calls_per_s']} calls/s, "
        f"{whole['calls']} calls at speed {whole['speed']:g} in {whole['wall_s']} s"
    )
    return out


if __name__ == "__main__":
    print(json.dumps(run({}), indent=2))
