"""Ticket steps in the store (tickets.workflow), on SQLite and PostgreSQL: the whole cycle with
its append-only trail, deadlines from the stored facts, the dispatchers' queue, and the
departments' work queues taken from by several users at once (SKIP LOCKED) without a ticket
taken twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from tests.tickets.calls import answered, ticket_numbers
from tickets import lifecycle as lc
from tickets import workflow
from tickets.db import session_factory
from tickets.models import Ticket, TicketStep

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in the hotline's time zone
OPERATOR = lc.Actor("op1", lc.Party.OPERATOR)
DISPATCHER = lc.Actor("disp1", lc.Party.DISPATCHER)
SUPERVISOR = lc.Actor("sup1", lc.Party.SUPERVISOR)
WATER = lc.Actor("water1", lc.Party.DEPARTMENT, department="water")


async def _numbers(sessions, n: int) -> list[str]:
    return await ticket_numbers(sessions, answered(T0, n=n))


async def test_a_ticket_goes_from_dispatch_to_closing_with_its_trail(engine) -> None:
    sessions = session_factory(engine)
    (number,) = await _numbers(sessions, 1)

    async def go(what, actor, at, **kw):
        async with sessions() as s:
            return await workflow.take_step(s, number, what, actor, at, workflow.StepData(**kw))

    t = await go(lc.Step.DISPATCH, DISPATCHER, T0, department="water", matter="burst-pipe")
    assert (t.status, t.lead_department, t.matter, t.limit_amount) == (
        "dispatched",
        "water",
        "burst-pipe",
        5,
    )
    t = await go(lc.Step.ACCEPT, WATER, T0 + timedelta(hours=1))
    assert t.claimed_by == "water1"
    await go(lc.Step.ASK_EXTENSION, WATER, T0 + timedelta(days=1), note="parts", days=2)
    t = await go(lc.Step.GRANT_EXTENSION, SUPERVISOR, T0 + timedelta(days=2))
    assert (t.status, t.extension_days) == ("accepted", 2)
    async with sessions() as s:
        steps = await workflow.steps_of(s, t.id)
    # Monday 10:00 + 5 working days, the Tuesday-to-Wednesday wait stopped (1 day), + 2 granted
    due = workflow.deadline_of(t, steps, T0 + timedelta(days=2))
    assert due is not None
    assert due.due_at == datetime(2026, 12, 3, 16, 0, tzinfo=UTC)  # the end of Thu 3 Dec, UTC+8
    await go(lc.Step.REPLY, WATER, T0 + timedelta(days=3), note="replaced")
    await go(lc.Step.CALL_BACK, OPERATOR, T0 + timedelta(days=4), rating=lc.Rating.SATISFIED)
    t = await go(lc.Step.CLOSE, OPERATOR, T0 + timedelta(days=4))
    assert t.status == "closed" and t.rating == "satisfied"
    async with sessions() as s:
        steps = await workflow.steps_of(s, t.id)
    assert [(x.step, x.from_state, x.to_state) for x in steps] == [
        ("dispatch", "awaiting_routing", "dispatched"),
        ("accept", "dispatched", "accepted"),
        ("ask_extension", "accepted", "extension_asked"),
        ("grant_extension", "extension_asked", "accepted"),
        ("reply", "accepted", "replied"),
        ("call_back", "replied", "called_back"),
        ("close", "called_back", "closed"),
    ]
    assert steps[2].note == "parts" and steps[2].data == {"days": 2}
    assert workflow.deadline_of(t, steps, T0 + timedelta(days=4)) is None  # handled


async def test_a_refused_step_stores_nothing_and_the_trail_cannot_be_changed(engine) -> None:
    sessions = session_factory(engine)
    (number,) = await _numbers(sessions, 1)
    async with sessions() as s:
        with pytest.raises(lc.IllegalTransition, match="cannot close a ticket that is"):
            await workflow.take_step(s, number, lc.Step.CLOSE, OPERATOR, T0)
    async with sessions() as s:
        with pytest.raises(lc.StepRefused, match="department: required"):
            await workflow.take_step(s, number, lc.Step.DISPATCH, DISPATCHER, T0)
    async with sessions() as s:
        with pytest.raises(lc.StepRefused, match="into: no ticket"):
            await workflow.take_step(
                s, number, lc.Step.MERGE, OPERATOR, T0, workflow.StepData(into="00000026")
            )
        t = await workflow.find(s, number)
        assert t.status == "awaiting_routing"
        assert await s.scalar(select(func.count()).select_from(TicketStep)) == 0
    async with sessions() as s:
        await workflow.take_step(
            s, number, lc.Step.DISPATCH, DISPATCHER, T0, workflow.StepData(department="water")
        )
    async with sessions() as s:
        with pytest.raises(DBAPIError, match="append-only"):
            await s.execute(update(TicketStep).values(note="rewritten"))
            await s.commit()
    async with sessions() as s:
        with pytest.raises(DBAPIError, match="append-only"):
            await s.execute(text("DELETE FROM ticket_steps"))
            await s.commit()
    with pytest.raises(workflow.BadNumber, match="check digit"):
        async with sessions() as s:
            await workflow.find(s, number[:-1] + str((int(number[-1]) + 1) % 10))


async def test_a_department_sees_only_its_own_tickets(engine) -> None:
    sessions = session_factory(engine)
    water, housing = await _numbers(sessions, 2)
    for number, dept in ((water, "water"), (housing, "housing")):
        async with sessions() as s:
            await workflow.take_step(
                s, number, lc.Step.DISPATCH, DISPATCHER, T0, workflow.StepData(department=dept)
            )
    async with sessions() as s:
        mine = await workflow.department_tickets(s, "water")
        assert [t.number for t in mine] == [water]
        with pytest.raises(workflow.TicketNotFound):
            await workflow.find(s, housing, department="water")
    async with sessions() as s:  # not even to accept it
        with pytest.raises(workflow.TicketNotFound):
            await workflow.take_step(s, housing, lc.Step.ACCEPT, WATER, T0)


async def test_the_dispatch_queue_puts_leader_instructed_then_reopened_first(engine) -> None:
    sessions = session_factory(engine)
    a, b, c = await _numbers(sessions, 3)
    async with sessions() as s, s.begin():
        await s.execute(update(Ticket).where(Ticket.number == c).values(leader_instructed=True))
    for what, actor, data in [
        (lc.Step.DISPATCH, DISPATCHER, workflow.StepData(department="water")),
        (lc.Step.ACCEPT, WATER, None),
        (lc.Step.REPLY, WATER, workflow.StepData(note="done")),
        (lc.Step.CALL_BACK, OPERATOR, workflow.StepData(rating=lc.Rating.DISSATISFIED)),
    ]:
        async with sessions() as s:
            await workflow.take_step(s, b, what, actor, T0, data)
    async with sessions() as s:
        queue = await workflow.dispatch_queue(s)
    assert [(t.number, t.status) for t in queue] == [
        (c, "awaiting_routing"),
        (b, "reopened"),
        (a, "awaiting_routing"),
    ]


async def test_several_users_take_from_one_work_queue_never_the_same_ticket(
    engine, database_url
) -> None:
    sessions = session_factory(engine)
    numbers = await _numbers(sessions, 24)
    for number in numbers:
        async with sessions() as s:
            await workflow.take_step(
                s, number, lc.Step.DISPATCH, DISPATCHER, T0, workflow.StepData(department="water")
            )
    taken: dict[str, list[str]] = {}

    async def user(name: str) -> None:
        mine = taken.setdefault(name, [])
        while True:
            async with sessions() as s:
                t = await workflow.take_next(s, "water", name, T0)
            if t is None:
                return
            assert t.claimed_by == name
            mine.append(t.number)

    # PostgreSQL: five at once (SKIP LOCKED); SQLite has one writer: one after another
    on_postgresql = database_url.startswith("postgresql")
    users = [f"water{i}" for i in range(5 if on_postgresql else 2)]
    if on_postgresql:
        await asyncio.gather(*(user(u) for u in users))
    else:
        for u in users:
            await user(u)
    every = [n for got in taken.values() for n in got]
    assert sorted(every) == sorted(numbers)  # all taken, none twice
    async with sessions() as s:
        assert await workflow.take_next(s, "water", "late", T0) is None
        claims = dict((await s.execute(select(Ticket.number, Ticket.claimed_by))).all())
    assert all(claims[n] == u for u, got in taken.items() for n in got)


async def test_a_dispatch_naming_the_matter_links_the_callers_earlier_ticket(engine) -> None:
    sessions = session_factory(engine)
    first, second, third = await _numbers(sessions, 3)  # one caller, three calls
    for number, matter in ((first, "noise"), (second, "noise"), (third, "water-bill")):
        async with sessions() as s:
            await workflow.take_step(
                s,
                number,
                lc.Step.DISPATCH,
                DISPATCHER,
                T0,
                workflow.StepData(department="env", matter=matter),
            )
    async with sessions() as s:
        got = dict((await s.execute(select(Ticket.number, Ticket.repeat_of))).all())
        first_id = await s.scalar(select(Ticket.id).where(Ticket.number == first))
    assert got == {first: None, second: first_id, third: None}


def test_the_intake_api_offers_exactly_the_channels_and_kinds_the_store_takes() -> None:
    from typing import get_args

    from tickets.intake import CHANNELS, KINDS
    from tickets.intake_api import IntakeIn

    assert get_args(IntakeIn.model_fields["channel"].annotation) == CHANNELS
    assert get_args(IntakeIn.model_fields["kind"].annotation) == KINDS
