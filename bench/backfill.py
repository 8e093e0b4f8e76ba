"""Backfill benchmark: queue_log rows read per second for a day of 14,000 calls.

The embedded PBX runs a 14,000-call working day (150 seats, one queue, the traffic model's
workday profile) on the discrete-event clock and keeps the queue_log rows it writes. Those
rows go into a fresh migrated database, and the backfill reads them all as after a controller
that was away the whole day (cursor 0, nothing seen live): rows per second and tickets
written per second, cold (every answered call needs its ticket) and warm (a second pass over
the same rows, every ticket already stored: the cost of the exactly-once check). The same
day from Asterisk's *file* (``hotline backfill --queue-log``) too.

SQLite always; PostgreSQL as well when ``HOTLINE_TEST_DATABASE_URL`` names a server (a
throw-away database is made and dropped). ``run(results)`` adds ``results["backfill"]``;
``python -m bench.backfill`` runs it alone. A figure, not a test.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.databases import on_throwaway_postgres

__all__ = ["run"]

EPOCH = 1_795_996_800.0  # a Monday, 00:00 UTC+8
CALLS = 14_000


def _day_rows(calls: int) -> list[Any]:
    from config.traffic import load_traffic
    from pbx.queue_log import QueueLogRow
    from pbx.simulator import Simulator, SimulatorConfig, TrafficSpec
    from pbx.simulator.desclock import DesClock

    rows: list[QueueLogRow] = []
    clock = DesClock(EPOCH)
    sim = Simulator(
        SimulatorConfig(seats=150, epoch=EPOCH, seed=1, ivr=False),
        clock=clock,
        queue_log=rows.append,
    )
    plan = load_traffic().plan(EPOCH, 24.0, profile="workday", calls_per_day=calls)
    sim.run_traffic(TrafficSpec(plan=plan))
    clock.run_until_idle()
    return rows


async def _one_database(url: str, rows: list[Any], log_file: Path) -> dict[str, Any]:
    from sqlalchemy import func, insert, select

    from hotline.backfill import Backfill, backfill_file
    from metrics.models import QueueLog, QueueLogCursor
    from pbx.queue_log import columns
    from tickets.db import make_engine, session_factory, upgrade
    from tickets.models import Ticket

    await upgrade(url)
    engine = make_engine(url, durable=False)
    sessions = session_factory(engine)
    try:
        async with sessions() as s:
            values = [columns(r) for r in rows]
            for i in range(0, len(values), 5000):
                await s.execute(insert(QueueLog.__table__), values[i : i + 5000])
            await s.execute(insert(QueueLogCursor.__table__).values(source="bench", settled_id=0))
            await s.commit()
        out: dict[str, Any] = {"rows": len(rows)}
        for name in ("cold", "warm"):
            async with sessions() as s:  # read the whole day again
                await s.execute(QueueLogCursor.__table__.update().values(settled_id=0))
                await s.commit()
            started = time.perf_counter()
            report = await Backfill(sessions, source="bench").run()
            wall = time.perf_counter() - started
            out[name] = {
                "tickets_written": report.written,
                "already_ticketed": report.already_ticketed,
                "wall_s": round(wall, 2),
                "rows_per_s": round(len(rows) / wall),
            }
        async with sessions() as s:
            await s.execute(Ticket.__table__.delete())
            await s.commit()
        started = time.perf_counter()
        report = await backfill_file(sessions, log_file)
        wall = time.perf_counter() - started
        out["file_cold"] = {
            "tickets_written": report.written,
            "wall_s": round(wall, 2),
            "rows_per_s": round(report.rows / wall),
        }
        async with sessions() as s:
            out["tickets"] = await s.scalar(select(func.count()).select_from(Ticket))
        return out
    finally:
        await engine.dispose()


async def _postgres(rows: list[Any], log_file: Path) -> dict[str, Any] | None:
    return await on_throwaway_postgres(lambda url: _one_database(url, rows, log_file))


async def _bench(calls: int) -> dict[str, Any]:
    from pbx.queue_log import format_line

    started = time.perf_counter()
    rows = _day_rows(calls)
    made = time.perf_counter() - started
    tmp = Path(tempfile.mkdtemp(prefix="hotline-bench-backfill-"))
    log_file = tmp / "queue_log"
    log_file.write_text("".join(format_line(r) + "\n" for r in rows), "utf-8")
    result: dict[str, Any] = {
        "calls": calls,
        "rows": len(rows),
        "connects": sum(1 for r in rows if r.event == "CONNECT"),
        "day_simulated_s": round(made, 1),
        "sqlite": await _one_database(f"sqlite:///{tmp / 'bench.db'}", rows, log_file),
    }
    pg = await _postgres(rows, log_file)
    if pg is not None:
        result["postgresql"] = pg
    return result


def _print(r: dict[str, Any]) -> None:
    print(f"backfill: a {r['calls']:,}-call day, {r['rows']:,} queue_log rows, "
          f"{r['connects']:,} answered calls")  # fmt: skip
    for db in ("sqlite", "postgresql"):
        d = r.get(db)
        if d is None:
            continue
        print(
            f"  {db}: cold {d['cold']['rows_per_s']:,} rows/s ({d['cold']['tickets_written']:,} "
            f"tickets in {d['cold']['wall_s']} s), warm {d['warm']['rows_per_s']:,} rows/s, "
            f"from the file {d['file_cold']['rows_per_s']:,} rows/s"
        )


def run(results: dict[str, Any], calls: int = CALLS) -> None:
    import logging

    logging.disable(logging.WARNING)
    r = asyncio.run(_bench(calls))
    _print(r)
    results["backfill"] = r


if __name__ == "__main__":
    import json

    out: dict[str, Any] = {}
    run(out)
    print(json.dumps(out["backfill"], indent=2))
