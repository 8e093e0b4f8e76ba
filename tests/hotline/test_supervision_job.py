"""The supervision job: due-soon and overdue tickets flagged from the stored facts (leader-
instructed first), each level escalated once to its department's webhook, retried while the
webhook fails, recorded only once delivered, and a dead webhook never holding up the scans or
the other departments."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update

from hotline.supervision_job import SupervisionJob
from tests.tickets.calls import answered, ticket_numbers
from tickets import lifecycle as lc
from tickets import workflow
from tickets.db import session_factory
from tickets.models import Ticket
from tickets.supervision import Level

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 at the centre
DISPATCHER = lc.Actor("disp1", lc.Party.DISPATCHER)


async def _dispatched(sessions) -> dict[str, str]:
    """Four tickets dispatched on Monday 10:00: water (1 day: overdue on Wednesday), housing
    (2 days: due soon on Wednesday), env (10 days: fine), roads (1 day, leader-instructed)."""
    numbers = await ticket_numbers(sessions, answered(T0, n=4))
    plan = {"water": 1, "housing": 2, "env": 10, "roads": 1}
    for number, (dept, days) in zip(numbers, plan.items(), strict=True):
        async with sessions() as s:
            await workflow.take_step(
                s,
                number,
                lc.Step.DISPATCH,
                DISPATCHER,
                T0,
                workflow.StepData(department=dept, limit=workflow.Limit(days)),
            )
    async with sessions() as s, s.begin():
        await s.execute(
            update(Ticket).where(Ticket.number == numbers[3]).values(leader_instructed=True)
        )
    return dict(zip(plan, numbers, strict=True))


async def test_due_tickets_are_escalated_once_each_level_and_a_dead_webhook_blocks_nothing(
    engine,
) -> None:
    sessions = session_factory(engine)
    numbers = await _dispatched(sessions)
    now = [(T0 + timedelta(days=2)).timestamp()]  # Wednesday 10:00
    calls: list[tuple[str, dict]] = []
    water_fails = [2]
    housing_up = [False]

    async def webhook(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        calls.append((request.url.host, body))
        if request.url.host == "water.example" and water_fails[0]:
            water_fails[0] -= 1
            return httpx.Response(503)
        if request.url.host == "housing.example" and not housing_up[0]:
            raise httpx.ConnectError("down")
        return httpx.Response(204)

    job = SupervisionJob(
        lambda: sessions,
        lambda: now[0],
        {
            "water": "http://water.example/hook",
            "housing": "http://housing.example/hook",
            "*": "http://city.example/hook",
        },
        first_backoff_s=0.01,
        max_backoff_s=0.05,
        transport=httpx.MockTransport(webhook),
    )
    try:
        flags = await asyncio.wait_for(job.scan_once(), 5)  # returns at once: nothing awaited
        assert [(f.number, f.level) for f in flags] == [
            (numbers["roads"], Level.OVERDUE),  # leader-instructed first
            (numbers["water"], Level.OVERDUE),
            (numbers["housing"], Level.DUE_SOON),
        ]
        for _ in range(200):  # water delivered after two failures; housing still down
            if job.pending == 1 and job.sent == 2:
                break
            await asyncio.sleep(0.01)
        assert job.sent == 2 and job.pending == 1
        await job.scan_once()  # a second scan sends nothing twice
        assert job.pending == 1
        async with sessions() as s:
            levels = dict((await s.execute(select(Ticket.number, Ticket.escalated))).all())
        assert levels == {
            numbers["water"]: 2,
            numbers["roads"]: 2,
            numbers["housing"]: 0,  # not delivered: not recorded
            numbers["env"]: 0,
        }
        water = [b for host, b in calls if host == "water.example"]
        assert len(water) == 3 and water[-1] == {
            "ticket": numbers["water"],
            "department": "water",
            "level": "overdue",
            "state": "dispatched",
            "due_at": "2026-11-24T16:00:00+00:00",  # the end of Tuesday
            "leader_instructed": False,
        }
        assert [b["department"] for host, b in calls if host == "city.example"] == ["roads"]
        housing_up[0] = True
        await asyncio.wait_for(job.drain(), 5)
        # Thursday: housing is overdue now: the next level is escalated, once
        now[0] = (T0 + timedelta(days=3, hours=1)).timestamp()
        await job.scan_once()
        await asyncio.wait_for(job.drain(), 5)
        await job.scan_once()
        await asyncio.wait_for(job.drain(), 5)
        housing = [b["level"] for host, b in calls if host == "housing.example" and b]
        assert housing[-2:] == ["due_soon", "overdue"] and housing.count("overdue") == 1
    finally:
        await job.stop()


async def test_supervisors_see_the_flags_and_operators_do_not(engine) -> None:
    from types import SimpleNamespace

    from agents.roles import Role
    from config.settings import Settings
    from hotline.app import create_app
    from tests.agents.signin import make_user, tokens

    sessions = session_factory(engine)
    numbers = await _dispatched(sessions)
    await make_user(sessions, "sup1", Role.SUPERVISOR)
    await make_user(sessions, "op1", Role.OPERATOR)
    wednesday = (T0 + timedelta(days=2)).timestamp()
    runtime = SimpleNamespace(
        sessions=sessions, now=lambda: wednesday, settings=Settings(_env_file=None)
    )
    app = create_app(runtime)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        sup = (await tokens(client, "sup1"))["access_token"]
        op = (await tokens(client, "op1"))["access_token"]
        r = await client.get("/api/v1/supervision", headers={"Authorization": f"Bearer {sup}"})
        assert [(f["number"], f["level"], f["escalated"]) for f in r.json()] == [
            (numbers["roads"], "overdue", "none"),
            (numbers["water"], "overdue", "none"),
            (numbers["housing"], "due_soon", "none"),
        ]
        r = await client.get("/api/v1/supervision", headers={"Authorization": f"Bearer {op}"})
        assert r.status_code == 403


def test_a_webhook_that_is_not_a_url_is_refused_by_name(monkeypatch) -> None:
    import pytest
    from pydantic import ValidationError

    from config.settings import Settings

    monkeypatch.setenv("HOTLINE_ESCALATION_WEBHOOKS", '{"water": "ftp://x"}')
    with pytest.raises(ValidationError, match="water: an http"):
        Settings(_env_file=None)


async def test_the_ticket_series_come_from_the_last_scan(engine) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from metrics.ticket_series import TicketSeries

    sessions = session_factory(engine)
    numbers = await _dispatched(sessions)
    wednesday = (T0 + timedelta(days=2)).timestamp()
    job = SupervisionJob(lambda: sessions, lambda: wednesday, {})
    registry = CollectorRegistry()
    registry.register(TicketSeries(job))
    assert b'hotline_tickets{state="dispatched"}' not in generate_latest(registry)  # no scan yet
    await job.scan_once()
    await asyncio.wait_for(job.drain(), 5)  # no webhooks: recorded as escalated at once
    text = generate_latest(registry).decode()
    assert 'hotline_tickets{state="dispatched"} 4.0' in text
    assert 'hotline_tickets{state="closed"} 0.0' in text
    assert 'hotline_tickets_overdue{department="water"} 1.0' in text
    assert 'hotline_tickets_overdue{department="roads"} 1.0' in text
    assert 'hotline_tickets_due_soon{department="housing"} 1.0' in text
    assert "env" not in text  # not due: no series
    assert "hotline_tickets_callbacks_pending 0.0" in text
    assert "hotline_escalations_sent_total 0.0" in text and numbers
