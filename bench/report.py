"""Monthly report benchmark: the time to compute and to render the report of a month of
400,000 calls on PostgreSQL.

The month (November 2026) is seeded with bulk inserts (PostgreSQL's ``COPY``), shaped like the
seed's city: 400,000 calls offered, 95% answered (ENTERQUEUE, CONNECT and COMPLETEAGENT rows
of the queue_log; ABANDON for the rest), a ticket per answered call, 57% resolved on the call,
the rest dispatched to one of the catalogue's departments and followed through the trail: a
return and a second dispatch for 2%, an extension asked and granted for 3%, never accepted for
0.5%, then accepted, replied (some late) and called back with a rating. Then, separately:

* **compute**: :func:`metrics.kpi_queries.report_of_month` (the database's fold of the trail
  into one row per dispatch, the queue_log's month, the verdicts on the working clock);
* **render**: the HTML with its plots, the PDF and the CSV (:mod:`metrics.report_render`).

Each is timed twice; the second (warm) run and the first are both given. ``run(results)`` adds
``results["monthly_report"]``; ``python -m bench.report`` runs it alone. Without
``HOTLINE_TEST_DATABASE_URL`` (a PostgreSQL server) it is skipped, saying so. A figure, not a
test.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.databases import on_throwaway_postgres

__all__ = ["run"]

CALLS = 400_000
MONTH = "2026-11"
START = datetime(2026, 11, 1, tzinfo=UTC) - timedelta(hours=8)  # 1 November 00:00, UTC+8
AS_OF = datetime(2026, 12, 10, tzinfo=UTC)


def _seed_rows(calls: int, departments: list[str], rng: random.Random) -> dict[str, list[tuple]]:  # type: ignore[type-arg]
    from tickets.numbers import make_number

    qlog: list[tuple] = []  # type: ignore[type-arg]
    tickets: list[tuple] = []  # type: ignore[type-arg]
    steps: list[tuple] = []  # type: ignore[type-arg]
    month_s = 30 * 86400
    tid = 0
    for i in range(calls):
        at = START + timedelta(seconds=rng.uniform(0, month_s - 86400))
        naive = at.replace(tzinfo=None)
        callid = f"1793000000.{i}"
        qlog.append((naive, callid, "hotline", "NONE", "ENTERQUEUE", "", "13800000000", ""))
        if rng.random() >= 0.95:
            qlog.append((naive + timedelta(seconds=40), callid, "hotline", "NONE", "ABANDON",
                         "1", "1", "40"))  # fmt: skip
            continue
        answered = at + timedelta(seconds=rng.uniform(2, 30))
        ended = answered + timedelta(seconds=rng.uniform(60, 400))
        seat = f"SIP/{8000 + i % 150}"
        qlog.append((answered.replace(tzinfo=None), callid, "hotline", seat, "CONNECT",
                     "12", callid, "3"))  # fmt: skip
        qlog.append((ended.replace(tzinfo=None), callid, "hotline", seat, "COMPLETEAGENT",
                     "12", "200", "1"))  # fmt: skip
        tid += 1
        on_spot = rng.random() < 0.57
        dept = rng.choice(departments)
        status = "resolved" if on_spot else "closed"
        tickets.append(
            (tid, make_number(tid), "phone", "hotline", seat, callid, callid, at, answered,
             ended, "consultation", status, on_spot, 5, "working_days", 0, 0, 0, False)
        )  # fmt: skip
        if on_spot:
            continue
        t = ended + timedelta(minutes=rng.uniform(5, 120))

        def add(step: str, frm: str, to: str, when: datetime, data: Any = None) -> None:
            _step(steps, tid, step, frm, to, when, data)  # noqa: B023 (called at once)

        if rng.random() < 0.02:
            add("dispatch", "awaiting_routing", "dispatched", t, {"department": dept})
            t += timedelta(hours=rng.uniform(1, 20))
            add("return", "dispatched", "awaiting_routing", t, {"department": dept})
            dept = rng.choice(departments)
            t += timedelta(hours=rng.uniform(1, 5))
        add("dispatch", "awaiting_routing", "dispatched", t, {"department": dept})
        if rng.random() < 0.005:
            continue  # never accepted
        t += timedelta(hours=rng.expovariate(1 / 10))
        add("accept", "dispatched", "accepted", t)
        if rng.random() < 0.03:
            t += timedelta(days=1)
            add("ask_extension", "accepted", "extension_asked", t, {"days": 3})
            t += timedelta(hours=rng.uniform(2, 30))
            add("grant_extension", "extension_asked", "accepted", t, {"days": 3})
        t += timedelta(days=rng.expovariate(1 / 3))
        add("reply", "accepted", "replied", t)
        if rng.random() < 0.97:
            t += timedelta(hours=rng.uniform(2, 48))
            rating = rng.choices(["satisfied", "basically_satisfied", "dissatisfied"], [80, 12, 8])[
                0
            ]
            add("call_back", "replied", "reopened" if rating == "dissatisfied" else "called_back",
                t, {"rating": rating})  # fmt: skip
    return {"queue_log": qlog, "tickets": tickets, "ticket_steps": steps}


_PARTY = {
    "accept": "department",
    "return": "department",
    "reply": "department",
    "ask_extension": "department",
    "dispatch": "dispatcher",
    "grant_extension": "dispatcher",
    "call_back": "operator",
}


def _step(steps: list[tuple], tid: int, step: str, frm: str, to: str, when: datetime,  # type: ignore[type-arg]
          data: Any) -> None:  # fmt: skip
    steps.append((tid, when, "bench", _PARTY[step], step, frm, to, "",
                  json.dumps(data) if data else None))  # fmt: skip


_COLUMNS = {
    "queue_log": ["time", "callid", "queuename", "agent", "event", "data1", "data2", "data3"],
    "tickets": [
        "id", "number", "channel", "queue", "seat", "linkedid", "call_uniqueid", "joined_at",
        "answered_at", "ended_at", "kind", "status", "resolved_on_call", "limit_amount",
        "limit_unit", "extension_days", "escalated", "callback_attempts", "leader_instructed",
    ],
    "ticket_steps": [
        "ticket_id", "at", "actor", "party", "step", "from_state", "to_state", "note", "data",
    ],
}  # fmt: skip


async def _one(url: str, calls: int) -> dict[str, Any]:
    import asyncpg
    from sqlalchemy.engine import make_url

    from config.catalogue import load_catalogue
    from config.report import load_report_rules
    from config.settings import CONFIG_DIR
    from metrics.kpi_queries import report_of_month
    from metrics.report_render import render_all, to_csv
    from tickets.db import make_engine, session_factory, upgrade

    await upgrade(url)
    catalogue = load_catalogue(CONFIG_DIR)
    names = {c: d.name for c, d in catalogue.departments.items()}
    rules = load_report_rules(CONFIG_DIR)
    started = time.perf_counter()
    rows = _seed_rows(calls, sorted(names)[:40], random.Random(12345))
    made = time.perf_counter() - started
    started = time.perf_counter()
    conn = await asyncpg.connect(make_url(url).render_as_string(hide_password=False))
    try:
        for table in ("queue_log", "tickets", "ticket_steps"):
            await conn.copy_records_to_table(table, records=rows[table], columns=_COLUMNS[table])
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('tickets', 'id'), $1)", len(rows["tickets"])
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    loaded = time.perf_counter() - started
    engine = make_engine(url)
    compute: list[float] = []
    render: list[float] = []
    try:
        for _ in range(2):
            started = time.perf_counter()
            async with session_factory(engine)() as s:
                report = await report_of_month(s, MONTH, rules, AS_OF, names)
            compute.append(time.perf_counter() - started)
            started = time.perf_counter()
            html, pdf = render_all(report)
            csv = to_csv(report)
            render.append(time.perf_counter() - started)
    finally:
        await engine.dispose()
    c = report.centre
    return {
        "calls": calls,
        "queue_log_rows": len(rows["queue_log"]),
        "tickets": len(rows["tickets"]),
        "ticket_steps": len(rows["ticket_steps"]),
        "dispatches": c.dispatched,
        "departments": len(report.departments),
        "seed_generate_s": round(made, 1),
        "seed_copy_s": round(loaded, 1),
        "compute_s": [round(x, 2) for x in compute],
        "render_s": [round(x, 2) for x in render],
        "html_kb": round(len(html) / 1024),
        "pdf_kb": round(len(pdf) / 1024),
        "csv_kb": round(len(csv) / 1024),
        "answer_rate": round(report.centre_calls.answer_rate or 0.0, 4),
        "completion_on_time": round(c.completion_on_time or 0.0, 4),
    }


def run(results: dict[str, Any], calls: int = CALLS) -> None:
    import logging

    logging.disable(logging.WARNING)
    r = asyncio.run(on_throwaway_postgres(lambda url: _one(url, calls)))
    if r is None:
        print("*** monthly report: HOTLINE_TEST_DATABASE_URL not set: its benchmark SKIPPED ***")
        return
    print(
        f"monthly report (PostgreSQL, {r['calls']:,} calls, {r['dispatches']:,} dispatches, "
        f"{r['ticket_steps']:,} steps): computed in {r['compute_s'][1]} s "
        f"(first {r['compute_s'][0]} s), rendered HTML+PDF+CSV in {r['render_s'][1]} s "
        f"(first {r['render_s'][0]} s)"
    )
    results["monthly_report"] = r


if __name__ == "__main__":
    import sys

    out: dict[str, Any] = {}
    run(out, int(sys.argv[1]) if len(sys.argv) > 1 else CALLS)
    print(json.dumps(out.get("monthly_report"), indent=2))
