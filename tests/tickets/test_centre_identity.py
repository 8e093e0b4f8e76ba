"""A call's identity across the centres of the platform (one database, a controller and an
Asterisk per centre): two Asterisks that number a call alike (the same Uniqueid, as two
restarted in the same second do) make two tickets, two drafts, two survey answers; each
controller's backfill reads its centre's rows of the shared queue_log with its own cursor;
ticket numbers stay short and unique across the centres, and a citizen's lookup finds a
ticket whatever centre wrote it. On SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select

from agents.audit import add_entry
from agents.models import AuditEntry
from agents.signin_throttle import SigninThrottle
from config.centres import reads_row
from hotline.backfill import Backfill
from ivr.server import DbIvrDeps
from metrics.centre_rows import centre_rows
from metrics.models import QueueLog, QueueLogCursor
from pbx.queue_log import QueueLogRow, columns
from tests.tickets.test_tickets_service import draft
from tickets import drafts as draft_store
from tickets import lifecycle as lc
from tickets import workflow
from tickets.db import session_factory
from tickets.lookup_api import make_router
from tickets.models import OperatorDraft, PendingSatisfaction, Ticket, TicketStep
from tickets.numbers import is_valid, make_number, ticket_id
from tickets.service import get_for_caller, record_satisfaction, store_tickets

T0 = 1_800_000_000.0
OPERATOR = lc.Actor("op1", lc.Party.OPERATOR)


async def _tickets(session) -> list[tuple[str, str, str]]:
    got = await session.execute(
        select(Ticket.centre, Ticket.call_uniqueid, Ticket.number).order_by(Ticket.id)
    )
    return [tuple(r) for r in got]


async def test_two_centres_numbering_a_call_alike_get_two_tickets(session) -> None:
    city, xiaoshan = draft(1), draft(1, centre="xiaoshan")
    assert city.call_uniqueid == xiaoshan.call_uniqueid  # Asterisk's Uniqueid alone: alike
    assert len(await store_tickets(session, [city, xiaoshan])) == 2
    assert await store_tickets(session, [xiaoshan, city]) == []  # resent: nothing new
    got = await _tickets(session)
    assert [(c, uid) for c, uid, _ in got] == [
        ("city", "1700000000.1"),
        ("xiaoshan", "1700000000.1"),
    ]
    assert len({number for _, _, number in got}) == 2


async def test_a_survey_answer_goes_to_its_centres_ticket_only(session) -> None:
    await store_tickets(session, [draft(2, centre="yuhang")])
    # the city's caller answers the survey before the city's ticket is stored
    assert await record_satisfaction(session, "1700000000.2", 3) == "pending"
    assert await record_satisfaction(session, "1700000000.2", 1, "yuhang") == "applied"
    await store_tickets(session, [draft(2)])
    got = await session.execute(select(Ticket.centre, Ticket.satisfaction).order_by(Ticket.id))
    assert [tuple(r) for r in got] == [("yuhang", 1), ("city", 3)]
    assert (await session.scalars(select(PendingSatisfaction))).all() == []


async def test_drafts_are_one_per_centre_and_call(session) -> None:
    at = datetime.fromtimestamp(T0, UTC)

    def opened(centre: str, operator: int) -> draft_store.DraftOpened:
        return draft_store.DraftOpened(
            "1700000000.3", "1700000000.3", operator, "8001", "hotline", at, at, centre
        )

    async with session.begin():
        await draft_store.open_drafts(session, [opened("city", 1), opened("fuyang", 2)])
        await draft_store.open_drafts(session, [opened("fuyang", 2)])  # a resend
        await draft_store.mark_ended(session, [("1700000000.3", at)], "fuyang")
    got = await session.execute(
        select(OperatorDraft.centre, OperatorDraft.operator_id, OperatorDraft.ended_at).order_by(
            OperatorDraft.id
        )
    )
    assert [(c, op, end is not None) for c, op, end in got] == [
        ("city", 1, False),
        ("fuyang", 2, True),
    ]


def _answered(callid: str, at: float) -> list[QueueLogRow]:
    def row(t: float, event: str, *data: str, agent: str = "NONE") -> QueueLogRow:
        return QueueLogRow(0, T0 + t, callid, "hotline", agent, event, data)

    return [
        row(at, "ENTERQUEUE", "", "13900000001", "1"),
        row(at + 5, "CONNECT", "5", callid + "0", "1", agent="Agent 8001"),
        row(at + 35, "COMPLETECALLER", "5", "30", "1", agent="Agent 8001"),
    ]


async def _put(session, rows) -> None:
    await session.execute(insert(QueueLog.__table__), [columns(r) for r in rows])
    await session.commit()


async def test_each_centre_backfills_its_own_rows_with_its_own_cursor(session, engine) -> None:
    sessions = session_factory(engine)
    await _put(session, _answered("city-1.1", -100))  # before anyone ran
    fills = {c: Backfill(sessions, source="asterisk", centre=c) for c in ("city", "tonglu")}
    for bf in fills.values():
        await bf.run()  # first runs: the cursors start at the newest row
    # both Asterisks, restarted in the same second, number their first call alike; a third
    # without a systemname (the city's before it set one) writes bare Uniqueids
    await _put(session, _answered("tonglu-1.1", 0) + _answered("city-1.1", 1))
    await _put(session, _answered("2.7", 2))
    assert (await fills["tonglu"].run()).written == 1
    assert (await fills["city"].run()).written == 2
    assert [(await bf.run()).written for bf in fills.values()] == [0, 0]  # exactly once
    got = await _tickets(session)
    assert sorted((c, uid) for c, uid, _ in got) == [
        ("city", "2.7"),
        ("city", "city-1.1"),
        ("tonglu", "tonglu-1.1"),
    ]
    cursors = await session.execute(
        select(QueueLogCursor.centre, QueueLogCursor.source).order_by(QueueLogCursor.centre)
    )
    assert [tuple(r) for r in cursors] == [("city", "asterisk"), ("tonglu", "asterisk")]


async def test_the_backfill_checks_its_own_centres_tickets_only(session, engine) -> None:
    """Rule 2 (a stored ticket of the same call) looks at the centre's own tickets: another
    centre's ticket of the same Uniqueid is another call."""
    sessions = session_factory(engine)
    bf = Backfill(sessions, source="asterisk", centre="city")
    await bf.run()
    rows = _answered("1.5", 0)
    live = draft(
        0,
        centre="jiande",  # jiande's Asterisk, no systemname: numbered as the city's
        call_uniqueid="1.5",
        linkedid="1.5",
        joined_at=datetime.fromtimestamp(T0, UTC),
        answered_at=datetime.fromtimestamp(T0 + 5, UTC),
        ended_at=datetime.fromtimestamp(T0 + 35, UTC),
    )
    await store_tickets(session, [live])
    await _put(session, rows)
    assert (await bf.run()).written == 1
    assert sorted(c for c, _, _ in await _tickets(session)) == ["city", "jiande"]


@pytest.mark.parametrize(
    "callid",
    ["city-1.1", "1795966595.12", "NONE", "", "xiaoshan-1.1", "cityx-1.1", "yu-1.1", "lin-1"],
)
async def test_the_sql_rule_is_the_python_rule(session, callid: str) -> None:
    await _put(session, [QueueLogRow(0, T0, callid, "hotline", "NONE", "ENTERQUEUE", ())])
    for centre in ("city", "xiaoshan", "yu", "linan"):
        got = await session.scalar(select(QueueLog.id).where(centre_rows(QueueLog.callid, centre)))
        assert (got is not None) == reads_row(centre, callid), (centre, callid)


async def test_numbers_are_short_and_unique_across_centres_and_a_lookup_finds_any(
    session, engine
) -> None:
    centres = ("city", "xiaoshan", "yuhang", "fuyang", "tonglu", "chunan", "jiande", "linan")
    ids = await store_tickets(session, [draft(i, centre=c) for i, c in enumerate(centres)])
    got = await _tickets(session)
    numbers = [n for _, _, n in got]
    # The number is the database's id with a check digit: one sequence for every centre.
    assert numbers == [make_number(i) for i in ids] and len(set(numbers)) == 8
    assert all(is_valid(n) and len(n) == 8 for n in numbers)
    assert [ticket_id(n) for n in numbers] == ids
    linan = got[-1][2]
    # the IVR's lookup (by number and the caller's phone), at the city's controller
    city_sessions = session_factory(engine)
    ivr = DbIvrDeps(city_sessions, centre="city")
    found = await ivr.lookup_ticket(linan, "13800000007")
    assert found is not None and found.number == linan
    async with city_sessions() as s:
        assert (await get_for_caller(s, linan, "13800000007")) is not None
    # the citizen's web lookup, served by the city's controller
    store = type("Store", (), {"sessions": lambda self: city_sessions, "now": time.time})()
    app = FastAPI()
    app.include_router(make_router(store, SigninThrottle(time.monotonic)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://city") as client:
        r = await client.post(
            "/api/v1/public/lookup", json={"number": linan, "phone_last4": "0007"}
        )
    assert r.status_code == 200, r.text
    assert r.json()["number"] == linan


async def test_audit_rows_and_ticket_steps_carry_the_centre_that_wrote_them(engine) -> None:
    at = datetime.fromtimestamp(T0, UTC)
    async with session_factory(engine, "chunan")() as s:
        add_entry(s, at=at, actor="王芳", role="supervisor", action="seat.pause", target="8001")
        await s.commit()
        (ticket,) = await store_tickets(s, [draft(9, resolved_on_call=True)])
        await workflow.take_step(s, make_number(ticket), lc.Step.CLOSE, OPERATOR, at)
    async with session_factory(engine)() as s:
        add_entry(s, at=at, actor="李雷", role="admin", action="user.add")
        await s.commit()
        entries = (await s.execute(select(AuditEntry.actor, AuditEntry.centre))).all()
        steps = (await s.execute(select(TicketStep.step, TicketStep.centre))).all()
    assert sorted(tuple(e) for e in entries) == [("李雷", "city"), ("王芳", "chunan")]
    assert [tuple(x) for x in steps] == [("close", "chunan")]
