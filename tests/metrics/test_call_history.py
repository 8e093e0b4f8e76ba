"""Durable call history (metrics.call_history) from queue_log rows, on both databases: the
database's sums equal a count by hand of the same rows, per queue and local period."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from metrics.call_history import call_history
from metrics.models import QueueLog
from pbx.queue_log import QueueLogRow, columns

#: 2026-11-30 23:30 in Beijing (UTC+8) is 15:30 UTC: the rows straddle a local midnight.
START = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def seeded_rows(seed: int, n: int) -> list[QueueLogRow]:
    rng = random.Random(seed)
    rows: list[QueueLogRow] = []
    for i in range(n):
        q = rng.choice(["hotline", "xiaoshan"])
        t = START.timestamp() + i * 7.3
        uid = f"1800.{i}"
        rows.append(QueueLogRow(0, t, uid, q, "NONE", "ENTERQUEUE", ("", "139", "1")))
        fate = rng.random()
        if fate < 0.7:
            hold, talk = rng.randint(0, 40), rng.randint(20, 400)
            rows.append(QueueLogRow(0, t + hold, uid, q, "A", "CONNECT", (str(hold), "x", "1")))
            end = rng.choice(["COMPLETEAGENT", "COMPLETECALLER"])
            rows.append(
                QueueLogRow(0, t + hold + talk, uid, q, "A", end, (str(hold), str(talk), "1"))
            )
        elif fate < 0.85:
            rows.append(QueueLogRow(0, t + 9, uid, q, "NONE", "ABANDON", ("1", "1", "9")))
        elif fate < 0.95:
            rows.append(QueueLogRow(0, t + 60, uid, q, "NONE", "EXITWITHTIMEOUT", ("1", "1", "60")))
        else:
            rows.append(QueueLogRow(0, t, uid, q, "NONE", "EXITEMPTY", ("1", "1", "0")))
    rows.append(QueueLogRow(0, START.timestamp(), "MANAGER", "hotline", "A", "ADDMEMBER", ()))
    return rows


def by_hand(rows: list[QueueLogRow], cut: int) -> dict[tuple[str, str], Counter]:
    out: dict[tuple[str, str], Counter] = {}
    names = {"ENTERQUEUE": "offered", "CONNECT": "answered", "ABANDON": "abandoned",
             "EXITWITHTIMEOUT": "timed_out", "EXITEMPTY": "exited_empty",
             "COMPLETEAGENT": "completed", "COMPLETECALLER": "completed"}  # fmt: skip
    for r in rows:
        if r.event not in names:
            continue
        local = (datetime.fromtimestamp(r.at, UTC) + timedelta(hours=8)).strftime("%Y-%m-%dT%H")
        c = out.setdefault((r.queue, local[:cut]), Counter())
        c[names[r.event]] += 1
        if r.event == "CONNECT":
            c["hold_s"] += int(r.data[0])
        elif r.event.startswith("COMPLETE"):
            c["talk_s"] += int(r.data[1])
    return out


@pytest.mark.parametrize(("by", "cut"), [("hour", 13), ("day", 10), ("month", 7)])
async def test_history_equals_a_count_by_hand_per_queue_and_local_period(session, by, cut) -> None:
    rows = seeded_rows(7, 1500)
    await session.execute(insert(QueueLog.__table__), [columns(r) for r in rows])
    # one row in the fallback ``data`` column and one malformed hold: read, and not summed
    base = {"time": datetime(2026, 12, 1, 1, 0), "queuename": "hotline", "agent": "A"}
    await session.execute(
        insert(QueueLog.__table__),
        {**base, "callid": "f.1", "event": "CONNECT", "data": "12|f.2|1"},
    )
    await session.execute(
        insert(QueueLog.__table__),
        {**base, "callid": "f.3", "event": "CONNECT", "data1": "oops", "data2": "f.4"},
    )
    await session.commit()
    got = await call_history(session, start=START, end=START + timedelta(days=2), by=by)
    want = by_hand(rows, cut)
    extra = (datetime(2026, 12, 1, 9, 0).strftime("%Y-%m-%dT%H"))[:cut]
    want.setdefault(("hotline", extra), Counter())["answered"] += 2
    want[("hotline", extra)]["hold_s"] += 12
    assert {(p.queue, p.period) for p in got} == set(want)
    for p in got:
        w = want[(p.queue, p.period)]
        assert (p.offered, p.answered, p.abandoned, p.timed_out, p.exited_empty, p.completed) == (
            w["offered"], w["answered"], w["abandoned"], w["timed_out"], w["exited_empty"],
            w["completed"],
        )  # fmt: skip
        assert (p.hold_s, p.talk_s) == (w["hold_s"], w["talk_s"])
    if by == "day":
        assert {p.period for p in got} == {"2026-11-30", "2026-12-01"}


async def test_the_period_bounds_and_naive_times_are_checked(session) -> None:
    with pytest.raises(ValueError, match="aware"):
        await call_history(session, start=datetime(2026, 11, 1), end=START)
    assert await call_history(session, start=START, end=START + timedelta(hours=1)) == []
