"""Ticket flow benchmark: tickets created and routed per second, with two writers at once.

Each writer registers tickets (``tickets.intake.register``: a letter or web ticket, its first
step and trail entry, the repeat lookup) and dispatches each to a department
(``tickets.workflow.take_step``: the row locked, the rules checked, the conditional update,
the trail entry), each in its own transaction, as the API does per request; then a
department user takes them all from the work queue (``take_next``). Two writers run at once
on one engine (SQLite: one writer at a time, so the figure is the serialised rate;
PostgreSQL: concurrent). Figures: tickets created per second, dispatched per second, taken
per second, and the wall time.

SQLite always; PostgreSQL as well when ``HOTLINE_TEST_DATABASE_URL`` names a server (a
throw-away database is made and dropped). ``run(results)`` adds ``results["ticket_flow"]``;
``python -m bench.ticket_flow`` runs it alone. A figure, not a test.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.databases import on_throwaway_postgres

__all__ = ["run"]

PER_WRITER = 1000
WRITERS = 2
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def _one_database(url: str, per_writer: int) -> dict[str, Any]:
    from tickets import intake, workflow
    from tickets import lifecycle as lc
    from tickets.db import make_engine, session_factory, upgrade

    await upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    clerk = lc.Actor("clerk", lc.Party.OPERATOR)
    dispatcher = lc.Actor("disp", lc.Party.DISPATCHER)
    numbers: list[list[str]] = [[] for _ in range(WRITERS)]

    async def create(w: int) -> None:
        for i in range(per_writer):
            item = intake.Intake(
                channel="web" if i % 2 else "letter",
                kind="complaint",
                description=f"小区{i % 97}号楼夜间施工噪音扰民",
                caller_num=f"139{w:02d}{i:06d}",
                matter=f"M-{i % 300:03d}",
            )
            async with sessions() as s:
                t, _ = await intake.register(
                    s, item, key=f"w{w}-{i}", actor=clerk, at=T0, repeat_days=30
                )
            numbers[w].append(t.number)

    async def dispatch(w: int) -> None:
        for i, number in enumerate(numbers[w]):
            async with sessions() as s:
                await workflow.take_step(
                    s,
                    number,
                    lc.Step.DISPATCH,
                    dispatcher,
                    T0 + timedelta(minutes=1),
                    workflow.StepData(department=f"dept{i % 8}", matter=f"M-{i % 300:03d}"),
                )

    async def take(dept: str) -> int:
        n = 0
        while True:
            async with sessions() as s:
                if await workflow.take_next(s, dept, f"{dept}-user", T0) is None:
                    return n
            n += 1

    try:
        total = per_writer * WRITERS
        started = time.perf_counter()
        await asyncio.gather(*(create(w) for w in range(WRITERS)))
        created = time.perf_counter() - started
        started = time.perf_counter()
        await asyncio.gather(*(dispatch(w) for w in range(WRITERS)))
        dispatched = time.perf_counter() - started
        started = time.perf_counter()
        taken = sum(await asyncio.gather(*(take(f"dept{d}") for d in range(8))))
        took = time.perf_counter() - started
    finally:
        await engine.dispose()
    assert taken == total, (taken, total)
    return {
        "tickets": total,
        "writers": WRITERS,
        "created_per_s": round(total / created),
        "dispatched_per_s": round(total / dispatched),
        "taken_per_s": round(total / took),
        "wall_s": round(created + dispatched + took, 1),
    }


async def _postgres(per_writer: int) -> dict[str, Any] | None:
    return await on_throwaway_postgres(lambda url: _one_database(url, per_writer))


async def _bench(per_writer: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="hotline-bench-flow-"))
    result: dict[str, Any] = {
        "sqlite": await _one_database(f"sqlite:///{tmp / 'flow.db'}", per_writer)
    }
    pg = await _postgres(per_writer)
    if pg is not None:
        result["postgresql"] = pg
    return result


def run(results: dict[str, Any], per_writer: int = PER_WRITER) -> None:
    import logging

    logging.disable(logging.WARNING)
    r = asyncio.run(_bench(per_writer))
    for db, d in r.items():
        print(
            f"ticket flow ({db}, {d['writers']} writers, {d['tickets']:,} tickets): created "
            f"{d['created_per_s']:,}/s, dispatched {d['dispatched_per_s']:,}/s, taken from "
            f"the work queues {d['taken_per_s']:,}/s"
        )
    results["ticket_flow"] = r


if __name__ == "__main__":
    import json

    out: dict[str, Any] = {}
    run(out)
    print(json.dumps(out["ticket_flow"], indent=2))
