"""Simulator benchmark: simulated calls per second of wall time.

``run(results)`` adds ``results["simulator"]``; ``python -m bench.sim`` runs it alone
(``--day-only``: the simulated day alone).

* **PBX alone**: the "1 + 7" platform (1,000 seats in 8 queues: the city centre and 7
  districts, whose seats overflow for the centre), a 30,000-call working day by the traffic
  model, on a discrete-event clock with no sockets: how fast the embedded PBX's core runs.
* **The simulated day, whole path**: ``hotline simulate --seats 150 --calls 14000 --hours 14
  --speed 5000 --seed 1 --start 2026-11-30T08:00:00`` (PBX, FastAGI IVR and survey, AMI over
  TCP, controller, SQLite tickets), a 14,000-call working day: wall time, CPU time of the
  process (all threads: on a shared machine the wall time is noisy, the CPU time much less),
  calls per second, and the result, which the same seed must repeat exactly. A figure, not a test.
  Without the simulated operators (``--no-operators``): the path of the PBX and the controller.
* **The simulated operators**: the busy hour (``--seats 150 --calls 3000 --hours 1 --speed
  500 --seed 1``) with and without them (a robot per seat working through the HTTP API and
  the live stream, hotline.desk_robots): the CPU time each answered call costs them, and the
  same result either way.
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


#: The simulated working day (``hotline simulate`` options).
DAY = {"seats": 150, "calls": 14_000, "hours": 14.0, "speed": 5000.0, "seed": 1}
DAY_START = "2026-11-30T08:00:00"


#: The busy hour the simulated operators' cost is measured on.
HOUR = {"seats": 150, "calls": 3000, "hours": 1.0, "speed": 500.0, "seed": 1}


async def _whole_path(
    seats: int, calls: int, hours: float, speed: float, seed: int, operators: bool = False
) -> dict:
    import resource
    from datetime import datetime

    from config.settings import Settings
    from hotline.simulation import run_simulation

    def cpu() -> float:
        u = resource.getrusage(resource.RUSAGE_SELF)
        return u.ru_utime + u.ru_stime

    cpu0 = cpu()
    r = await run_simulation(
        Settings(_env_file=None),
        seats=seats,
        calls=calls,
        hours=hours,
        speed=speed,
        seed=seed,
        talk_mean=None,
        patience_mean=None,
        wrapup=None,
        ring=2.0,
        database_url=None,
        progress=False,
        start=datetime.fromisoformat(DAY_START),
        operators=operators,
    )
    cpu_s = cpu() - cpu0
    result = {k: v for k, v in r.items() if k != "elapsed_s"}
    return {
        "seats": seats,
        "calls": r["calls"],
        "hours": hours,
        "speed": speed,
        "wall_s": r["elapsed_s"],
        "cpu_s": round(cpu_s, 1),
        "calls_per_s": round(r["calls"] / r["elapsed_s"]),
        "calls_per_cpu_s": round(r["calls"] / cpu_s),
        "result": result,
    }


def _operators_cost() -> dict[str, Any]:
    without = asyncio.run(_whole_path(**HOUR))
    robots = asyncio.run(_whole_path(**HOUR, operators=True))
    answered = max(1, robots["result"]["answered"])
    same = all(
        robots["result"][k] == without["result"][k]
        for k in ("answered", "abandoned", "tickets", "instant_resolution_rate")
    )
    cost = {
        "cpu_s_without": without["cpu_s"],
        "cpu_s_with": robots["cpu_s"],
        "wall_s_without": without["wall_s"],
        "wall_s_with": robots["wall_s"],
        "cpu_ms_per_answered_call": round(
            1000 * (robots["cpu_s"] - without["cpu_s"]) / answered, 1
        ),
        "submitted_by_operators": robots["result"]["submitted_by_operators"],
        "answered": robots["result"]["answered"],
        "same_result": same,
    }
    print(
        f"simulated operators, the busy hour ({HOUR['calls']} calls, {HOUR['seats']} seats, "
        f"{HOUR['speed']:g}x): {cost['cpu_s_with']} s CPU with them, {cost['cpu_s_without']} s "
        f"without: {cost['cpu_ms_per_answered_call']} ms of CPU per answered call; "
        f"{cost['submitted_by_operators']} of {cost['answered']} submitted over the API; "
        f"same result: {same}"
    )
    return cost


def _print_day(day: dict) -> None:
    print(
        f"simulated day, whole path (PBX, IVR, AMI, controller, tickets): {day['calls']} calls on "
        f"{day['seats']} seats over {day['hours']:g} h at speed {day['speed']:g}: "
        f"{day['wall_s']} s wall, {day['cpu_s']} s CPU, {day['calls_per_s']} calls/s"
    )
    print(f"  result: {json.dumps(day['result'])}")


def run(
    results: dict[str, Any], *, calls: int = 30_000, seats: int = 1000, day_only: bool = False
) -> dict[str, Any]:
    import logging

    logging.disable(logging.WARNING)
    out: dict[str, Any] = {}
    if not day_only:
        alone = asyncio.run(_pbx_alone(calls, seats))
        out["pbx_alone"] = alone
        print(
            f"simulator alone: {alone['calls_per_s']} calls/s ({alone['events_per_s']} events/s), "
            f"{alone['calls']} calls on {alone['seats']} seats in {alone['queues']} queues "
            f"in {alone['wall_s']} s"
        )
    day = asyncio.run(_whole_path(**DAY))
    out["simulated_day"] = day
    _print_day(day)
    if not day_only:
        out["operators"] = _operators_cost()
    results["simulator"] = out
    return out


if __name__ == "__main__":
    import sys

    print(json.dumps(run({}, day_only="--day-only" in sys.argv[1:]), indent=2))
