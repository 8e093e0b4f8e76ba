"""A seeded month (November 2026) for the report's tests: tickets taken through the real
workflow (``tickets.workflow.take_step``) and queue_log rows, with the figures counted by
hand in :data:`EXPECTED`.

November 2026 has no public holiday: working days are Monday to Friday. Every dispatch is at
Monday 2 November 10:00 (UTC+8) unless said: its acceptance limit (1 working day) ends at the
end of Tuesday 3 November, its handling limit (5 working days) at the end of Monday 9.

water (杭州市林业水利局), six dispatches:
  A accepted in an hour, replied Wednesday, called back satisfied;
  B accepted in an hour, replied Tuesday 10 (after the 9th: late), basically satisfied;
  C accepted Wednesday 4 (late acceptance), replied Thursday 5, dissatisfied (reopened);
  D returned in two hours as not water's (erroneous), then dispatched to urban;
  E never accepted (missed; not replied and past due: late);
  F accepted, an extension of 2 days asked Wednesday 4 10:00 and granted Thursday 5 10:00
    (the clock stopped a day), replied Thursday 12 15:00: on time only because the stop and
    the extension are honoured (without them it was due at the end of Wednesday 11).
urban (杭州市城市管理局), two dispatches in November, one in October:
  D accepted, replied the next day, satisfied;
  G dispatched Monday 30 November 10:00: as of 1 December 00:00 its limits have not passed
    (pending on both counts);
  H dispatched in October (not in November's cohort) and accepted in November.
Two calls resolved on the spot; the queue_log: 10 calls offered, 8 answered in November, and
3 offered in October.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from metrics.models import QueueLog
from tests.tickets.calls import answered, ticket_numbers
from tickets import lifecycle as lc
from tickets import workflow
from tickets.service import create_tickets

MONTH = "2026-11"
AS_OF = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 1 December 00:00 at UTC+8
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 2 November 10:00 at UTC+8
DISPATCHER = lc.Actor("disp1", lc.Party.DISPATCHER)
SUPERVISOR = lc.Actor("sup1", lc.Party.SUPERVISOR)
OPERATOR = lc.Actor("op1", lc.Party.OPERATOR)
WATER = lc.Actor("water1", lc.Party.DEPARTMENT, department="water")
URBAN = lc.Actor("urban1", lc.Party.DEPARTMENT, department="urban")
S, D, H = lc.Step, timedelta(days=1), timedelta(hours=1)
R = lc.Rating


def _local(day: int, hour: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour - 8, tzinfo=UTC)


def _steps(t: dict[str, str]) -> list[tuple[str, lc.Step, lc.Actor, datetime, dict]]:  # type: ignore[type-arg]
    wd, ud = {"department": "water"}, {"department": "urban"}
    return [
        (t["A"], S.DISPATCH, DISPATCHER, T0, wd),
        (t["A"], S.ACCEPT, WATER, T0 + H, {}),
        (t["A"], S.REPLY, WATER, T0 + 2 * D, {"note": "已修复"}),
        (t["A"], S.CALL_BACK, OPERATOR, T0 + 3 * D, {"rating": R.SATISFIED}),
        (t["B"], S.DISPATCH, DISPATCHER, T0, wd),
        (t["B"], S.ACCEPT, WATER, T0 + H, {}),
        (t["B"], S.REPLY, WATER, _local(10, 10), {"note": "已处理"}),
        (t["B"], S.CALL_BACK, OPERATOR, _local(11, 10), {"rating": R.BASICALLY_SATISFIED}),
        (t["C"], S.DISPATCH, DISPATCHER, T0, wd),
        (t["C"], S.ACCEPT, WATER, _local(4, 10), {}),
        (t["C"], S.REPLY, WATER, _local(5, 10), {"note": "已答复"}),
        (t["C"], S.CALL_BACK, OPERATOR, _local(6, 10), {"rating": R.DISSATISFIED}),
        (t["D"], S.DISPATCH, DISPATCHER, T0, wd),
        (t["D"], S.RETURN, WATER, T0 + 2 * H, {"note": "不属于本单位职责"}),
        (t["D"], S.DISPATCH, DISPATCHER, T0 + 3 * H, ud),
        (t["D"], S.ACCEPT, URBAN, T0 + 4 * H, {}),
        (t["D"], S.REPLY, URBAN, T0 + D, {"note": "已处理"}),
        (t["D"], S.CALL_BACK, OPERATOR, T0 + 2 * D, {"rating": R.SATISFIED}),
        (t["E"], S.DISPATCH, DISPATCHER, T0, wd),
        (t["F"], S.DISPATCH, DISPATCHER, T0, wd),
        (t["F"], S.ACCEPT, WATER, T0 + H, {}),
        (t["F"], S.ASK_EXTENSION, WATER, _local(4, 10), {"note": "待配件", "days": 2}),
        (t["F"], S.GRANT_EXTENSION, SUPERVISOR, _local(5, 10), {}),
        (t["F"], S.REPLY, WATER, _local(12, 15), {"note": "已更换"}),
        (t["G"], S.DISPATCH, DISPATCHER, _local(30, 10), ud),
        (t["H"], S.DISPATCH, DISPATCHER, _local(30, 10, month=10), ud),
        (t["H"], S.ACCEPT, URBAN, _local(2, 9), {}),
    ]


async def seed(sessions) -> None:  # type: ignore[no-untyped-def]
    """Write the month into the store behind ``sessions``."""
    names = "ABCDEFGH"
    numbers = await ticket_numbers(sessions, answered(_local(28, 10, month=10), n=len(names)))
    t = dict(zip(names, numbers, strict=True))
    for number, what, actor, at, data in _steps(t):
        async with sessions() as s:
            await workflow.take_step(s, number, what, actor, at, workflow.StepData(**data))
    on_spot = [replace(d, resolved_on_call=True) for d in answered(T0, n=2, prefix="17950099")]
    async with sessions() as s:
        await create_tickets(s, on_spot)
        naive = T0.replace(tzinfo=None)
        rows = [("ENTERQUEUE", naive + i * H, f"c{i}") for i in range(10)]
        rows += [("CONNECT", naive + i * H, f"c{i}") for i in range(8)]
        rows += [("ENTERQUEUE", naive - 5 * D, f"o{i}") for i in range(3)]
        s.add_all(
            QueueLog(
                time=at,
                callid=cid,
                queuename="hotline",
                agent="SIP/8001",
                event=ev,
                data1="5",
                data2="",
                data3="",
            )
            for ev, at, cid in rows
        )
        await s.commit()


#: The hand counts (see the module's comment).
EXPECTED = {
    "water": {
        "dispatched": 6,
        "accepted_timely": 4,  # A, B, D (its return is its answer), F
        "accepted_late": 1,  # C
        "missed": 1,  # E
        "returned": 1,  # D
        "on_time": 3,  # A, C, F
        "late": 2,  # B, E
        "pending_completion": 0,
        "replied": 4,  # A, B, C, F
        "called_back": 3,  # A, B, C
        "rated": 3,
        "satisfied": 2,  # A, B
    },
    "urban": {
        "dispatched": 2,  # D, G
        "accepted_timely": 1,
        "accepted_late": 0,
        "missed": 0,
        "pending_acceptance": 1,  # G
        "returned": 0,
        "on_time": 1,
        "late": 0,
        "pending_completion": 1,  # G
        "replied": 1,
        "called_back": 1,
        "rated": 1,
        "satisfied": 1,
    },
}
