"""The IVR's database side: satisfaction (applied or pending), self-service lookups,
announcements through the HTTP API (problem details), and the DB-backed dependencies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import func, select

from agents.models import AuditEntry
from agents.roles import Role
from config.settings import Settings
from hotline.app import create_app
from ivr.server import DbIvrDeps
from tests.agents.signin import sign_in
from tests.tickets.test_tickets_service import draft
from tickets.db import session_factory
from tickets.models import PendingSatisfaction, Ticket
from tickets.service import (
    create_tickets,
    find_open_ticket,
    get_for_caller,
    open_ticket_status,
    record_satisfaction,
)

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


async def test_satisfaction_applied_to_a_stored_ticket(session):
    (t,) = await create_tickets(session, [draft(1)])
    assert await record_satisfaction(session, t.linkedid, 2) == "applied"
    await session.refresh(t)
    assert t.satisfaction == 2


async def test_satisfaction_pending_until_the_ticket_lands(engine):
    sessions = session_factory(engine)
    d = draft(2)
    async with sessions() as s:
        assert await record_satisfaction(s, d.linkedid, 1) == "pending"
        assert await record_satisfaction(s, d.linkedid, 3) == "pending"  # a later answer wins
    async with sessions() as s, s.begin():  # how the ticket writer stores tickets
        await create_tickets(s, [d, draft(3)])
    async with sessions() as s:
        stored = await s.scalar(select(Ticket).where(Ticket.linkedid == d.linkedid))
        other = await s.scalar(select(Ticket).where(Ticket.linkedid == draft(3).linkedid))
        left = await s.scalar(select(func.count()).select_from(PendingSatisfaction))
    assert stored.satisfaction == 3 and other.satisfaction is None and left == 0


async def test_bad_score_is_refused(session):
    with pytest.raises(ValueError):
        await record_satisfaction(session, "x", 4)


async def test_lookup_needs_the_callers_own_number(session):
    resolved, open_ = await create_tickets(
        session,
        [
            draft(4, resolved_on_call=True),
            draft(5, resolved_on_call=False, caller_num="13800000004"),
        ],
    )
    assert (await get_for_caller(session, resolved.number, "13800000004")).id == resolved.id
    assert await get_for_caller(session, resolved.number, "13900000000") is None
    assert await get_for_caller(session, resolved.number, "") is None
    assert await get_for_caller(session, "12345678", "13800000004") is None
    found = await find_open_ticket(session, "13800000004")
    assert found.id == open_.id
    assert await find_open_ticket(session, "") is None
    assert await open_ticket_status(session, "13800000004") == (open_.number, open_.status)
    assert await open_ticket_status(session, "13900000000") is None
    assert await open_ticket_status(session, "") is None


@pytest.fixture
async def client(engine):
    runtime = SimpleNamespace(
        sessions=session_factory(engine), now=NOW.timestamp, settings=Settings(_env_file=None)
    )
    transport = httpx.ASGITransport(app=create_app(runtime))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        c.runtime = runtime  # type: ignore[attr-defined]
        await sign_in(c, runtime.sessions, Role.SUPERVISOR, "lead")  # announcements need one
        yield c


async def test_announcement_lifecycle(client):
    ends = (NOW + timedelta(hours=6)).isoformat()
    r = await client.post(
        "/api/v1/announcements",
        json={
            "text": "萧山区部分地区今日停水，预计18时恢复。",
            "sound": "custom/water-cut-xiaoshan",
            "district": "xiaoshan",
            "ends_at": ends,
        },
    )
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["active"] and a["leave_digit"] == "9" and a["district"] == "xiaoshan"
    assert a["created_by"] == "lead"  # the signed-in supervisor, not a field of the body
    assert (await client.get(f"/api/v1/announcements/{a['id']}")).json()["text"].startswith("萧山")
    # the IVR hears it for Xiaoshan callers only
    deps = DbIvrDeps(client.runtime.sessions, now=NOW.timestamp)
    ctx = await deps.context("057182001234", "xiaoshan")
    assert [x.sound for x in ctx.announcements] == ["custom/water-cut-xiaoshan"]
    assert (await deps.context("13800000000", None)).announcements == ()
    # it expires by itself
    later = DbIvrDeps(client.runtime.sessions, now=(NOW + timedelta(hours=7)).timestamp)
    assert (await later.context("057182001234", "xiaoshan")).announcements == ()
    # ended early by a supervisor
    assert (await client.delete(f"/api/v1/announcements/{a['id']}")).status_code == 204
    assert (await client.get("/api/v1/announcements")).json() == []
    listed = (await client.get("/api/v1/announcements?include_ended=true")).json()
    assert [x["active"] for x in listed] == [False]
    # both changes are in the audit log, with who made them
    async with client.runtime.sessions() as s:
        entries = (await s.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    assert [(e.actor, e.role, e.action, e.target) for e in entries if e.actor == "lead"] == [
        ("lead", "supervisor", "announcement.create", f"announcement:{a['id']}"),
        ("lead", "supervisor", "announcement.end", f"announcement:{a['id']}"),
    ]
    assert entries[-2].detail["district"] == "xiaoshan" and entries[-2].at == NOW


async def test_announcement_errors_are_problem_details(client):
    r = await client.post(
        "/api/v1/announcements",
        json={"text": "x", "sound": "custom/x", "ends_at": (NOW - timedelta(hours=1)).isoformat()},
    )
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert "future" in r.json()["detail"]
    r = await client.post(
        "/api/v1/announcements",
        json={
            "text": "x",
            "sound": "custom/x",
            "district": "mars",
            "ends_at": (NOW + timedelta(hours=1)).isoformat(),
        },
    )
    assert r.status_code == 422 and "xiaoshan" in r.json()["detail"]
    r = await client.post(
        "/api/v1/announcements",
        json={"text": "x", "sound": "bad name;rm", "ends_at": "2026-12-01T00:00:00"},
    )
    assert r.status_code == 422 and r.json()["title"] == "Invalid request"
    r = await client.get("/api/v1/announcements/999")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


async def test_db_deps_survey_and_lookup(engine):
    sessions = session_factory(engine)
    async with sessions() as s:
        (t,) = await create_tickets(s, [draft(8, resolved_on_call=False)])
    deps = DbIvrDeps(sessions, now=NOW.timestamp)
    assert (await deps.lookup_ticket(t.number, t.caller_num)).status == "awaiting_routing"
    assert await deps.lookup_ticket(t.number, "13999999999") is None
    assert (await deps.context(t.caller_num, None)).open_ticket.number == t.number
    assert await deps.record_satisfaction(t.linkedid, 1) == "applied"
    assert await deps.record_satisfaction("nope", 1) == "pending"


async def test_a_callback_rating_closes_or_reopens_the_replied_ticket(engine) -> None:
    from ivr.engine import CallInfo
    from pbx.agi import AgiEnv
    from tests.tickets.calls import replied
    from tickets import workflow

    sessions = session_factory(engine)
    async with sessions() as s:
        tickets = await create_tickets(s, [draft(1), draft(3)])  # odd: to be routed
    await replied(sessions, [t.number for t in tickets], NOW)  # a callback is due
    deps = DbIvrDeps(sessions, now=NOW.timestamp)
    env = AgiEnv({"network_script": "callback", "arg_1": tickets[0].number, "uniqueid": "9.1"})
    call = CallInfo.from_env(env)
    assert (call.script, call.ticket, call.linkedid) == ("callback", tickets[0].number, "9.1")
    assert await deps.record_callback(call.ticket, 1) == "applied"
    assert await deps.record_callback(tickets[1].number, 3) == "applied"
    assert (await deps.record_callback(tickets[0].number, 2)).startswith(
        "refused: cannot call_back"
    )
    async with sessions() as s:
        got = {t.number: (t.status, t.rating) for t in (await s.scalars(select(Ticket))).all()}
        steps = await workflow.steps_of(s, tickets[0].id)
    assert got == {
        tickets[0].number: ("called_back", "satisfied"),
        tickets[1].number: ("reopened", "dissatisfied"),
    }
    assert (steps[-1].actor, steps[-1].party) == ("ivr-callback", "system")
