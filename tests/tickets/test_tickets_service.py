"""Creating and reading tickets (tickets.service), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from tickets.db import make_engine, session_factory
from tickets.models import Ticket
from tickets.numbers import is_valid, make_number
from tickets.service import (
    TicketDraft,
    count_resolved_on_call,
    count_tickets,
    create_tickets,
    get_by_number,
    list_recent,
)

CST = timezone(timedelta(hours=8), "CST")  # Asia/Shanghai, without needing tzdata
T0 = datetime(2017, 1, 9, 9, 30, 0, 123456, tzinfo=CST)
KINDS = ["consultation", "complaint", "report", "help", "suggestion"]


def draft(i: int = 0, **kw) -> TicketDraft:
    fields = dict(
        caller_num=f"1380000{i:04d}",
        caller_name="张伟",
        queue="hotline",
        seat=f"Agent {8001 + i % 150}",
        linkedid=f"1700000000.{i}",
        call_uniqueid=f"1700000000.{i}",
        joined_at=T0 + timedelta(seconds=i),
        answered_at=T0 + timedelta(seconds=i + 20),
        ended_at=T0 + timedelta(seconds=i + 200),
        kind=KINDS[i % len(KINDS)],
        resolved_on_call=i % 2 == 0,
    )
    fields.update(kw)
    return TicketDraft(**fields)


async def test_numbers_unique_valid_and_from_ids(session):
    created = await create_tickets(session, [draft(i) for i in range(120)])
    assert len(created) == 120
    numbers = [t.number for t in created]
    assert len(set(numbers)) == 120
    for t in created:
        assert is_valid(t.number)
        assert t.number == make_number(t.id)
    assert [t.id for t in created] == sorted(t.id for t in created)
    assert await count_tickets(session) == 120
    # nothing left with a placeholder
    rows = (await session.scalars(select(Ticket.number))).all()
    assert all(is_valid(n) for n in rows)


async def test_fields_status_and_utc(session):
    [res, routed] = await create_tickets(
        session, [draft(0, resolved_on_call=True), draft(1, resolved_on_call=False)]
    )
    assert (res.status, res.resolved_on_call) == ("resolved", True)
    assert (routed.status, routed.resolved_on_call) == ("awaiting_routing", False)
    assert res.channel == "phone"
    session.expunge_all()
    got = await get_by_number(session, res.number)
    assert got is not None and got.id == res.id
    assert got.answered_at == T0 + timedelta(seconds=20)
    assert got.answered_at.utcoffset() == timedelta(0)  # read back as aware UTC
    assert got.answered_at.microsecond == 123456
    assert got.created_at.tzinfo is not None
    assert abs(got.created_at - datetime.now(UTC)) < timedelta(minutes=5)
    assert (got.queue, got.seat, got.linkedid, got.call_uniqueid, got.kind) == (
        "hotline",
        "Agent 8001",
        "1700000000.0",
        "1700000000.0",
        "consultation",
    )


async def test_idempotent_reinsert(session):
    first = await create_tickets(session, [draft(i) for i in range(5)])
    again = await create_tickets(session, [draft(i) for i in range(7)])
    assert [t.call_uniqueid for t in again] == ["1700000000.5", "1700000000.6"]
    assert await count_tickets(session) == 7
    assert await create_tickets(session, [draft(i) for i in range(7)]) == []
    assert {t.number for t in first}.isdisjoint({t.number for t in again})
    # the same instant in another time zone is the same call
    same = draft(0, answered_at=draft(0).answered_at.astimezone(UTC))
    assert await create_tickets(session, [same]) == []
    # a duplicate inside one batch is stored once
    dup = await create_tickets(session, [draft(50), draft(50)])
    assert len(dup) == 1
    assert await count_tickets(session) == 8


async def test_same_call_answered_again_is_another_ticket(session):
    d = draft(1)
    later = dataclasses.replace(
        d,
        answered_at=d.answered_at + timedelta(minutes=5),
        ended_at=d.ended_at + timedelta(minutes=9),
    )
    assert len(await create_tickets(session, [d, later])) == 2


async def test_idempotent_across_sessions(engine):
    factory = session_factory(engine)
    async with factory() as a, factory() as b:
        assert len(await create_tickets(a, [draft(1), draft(2)])) == 2
        assert len(await create_tickets(b, [draft(2), draft(3)])) == 1
        assert await count_tickets(b) == 3


async def test_session_that_expires_on_commit(migrated_url):
    engine = make_engine(migrated_url)
    try:
        async with session_factory(engine).__class__(engine, expire_on_commit=True)() as s:
            [t] = await create_tickets(s, [draft(3)])
            assert is_valid(t.number) and t.caller_name == "张伟"  # no lazy load needed
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "name", ["张伟", "欧阳娜娜", "李𠮷", "阿卜杜热依木·买买提", "Zhāng Wěi", "", "王" * 100]
)
async def test_chinese_names_round_trip(session, name):
    [t] = await create_tickets(session, [draft(7, caller_name=name)])
    session.expunge_all()
    got = await session.scalar(select(Ticket).where(Ticket.id == t.id))
    assert got.caller_name == name


async def test_count_helpers(session):
    assert await count_tickets(session) == 0
    assert await count_resolved_on_call(session) == 0
    await create_tickets(session, [draft(i) for i in range(9)])  # 0,2,4,6,8 resolved
    assert await count_tickets(session) == 9
    assert await count_resolved_on_call(session) == 5


async def test_get_by_number_and_list_recent(session):
    created = await create_tickets(session, [draft(i) for i in range(6)])
    assert (await get_by_number(session, created[3].number)).id == created[3].id
    assert await get_by_number(session, make_number(10**6)) is None  # valid, not stored
    wrong = created[3].number[:-1] + str((int(created[3].number[-1]) + 1) % 10)
    assert await get_by_number(session, wrong) is None  # misheard digit
    recent = await list_recent(session, limit=4)
    assert [t.id for t in recent] == [t.id for t in reversed(created)][:4]
    assert len(await list_recent(session)) == 6
    with pytest.raises(ValueError, match="limit"):
        await list_recent(session, limit=0)


@pytest.mark.parametrize("field", ["joined_at", "answered_at", "ended_at"])
def test_naive_datetime_names_the_field(field):
    naive = getattr(draft(1), field).replace(tzinfo=None)
    with pytest.raises(ValueError, match=f"^{field}: naive"):
        draft(1, **{field: naive})


@pytest.mark.parametrize("kind", ["Complaint", "praise", "", None])
def test_unknown_kind_names_the_field(kind):
    with pytest.raises(ValueError, match=r"^kind: .* is not one of consultation, complaint"):
        draft(1, kind=kind)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"call_uniqueid": ""}, "call_uniqueid"),
        ({"linkedid": ""}, "linkedid"),
        ({"caller_num": 13800000000}, "caller_num"),
        ({"caller_name": "王" * 101}, "caller_name"),
        ({"resolved_on_call": 1}, "resolved_on_call"),
        ({"answered_at": T0 - timedelta(seconds=1)}, "answered_at"),
        ({"ended_at": "2017-01-09"}, "ended_at"),
    ],
)
def test_other_bad_input_names_the_field(kw, field):
    with pytest.raises(ValueError, match=f"^{field}: "):
        draft(1, **kw)


async def test_forged_draft_rejected_and_nothing_stored(session):
    good, bad = draft(1), draft(2)
    object.__setattr__(bad, "kind", "praise")
    with pytest.raises(ValueError, match=r"^kind: "):
        await create_tickets(session, [good, bad])
    assert await count_tickets(session) == 0
    with pytest.raises(TypeError):
        await create_tickets(session, [{"kind": "help"}])


async def test_commits_by_itself(engine):
    factory = session_factory(engine)
    async with factory() as s:
        assert await count_tickets(s) == 0  # auto-begins a transaction: still ours to commit
        await create_tickets(s, [draft(1)])
    async with factory() as other:
        assert await count_tickets(other) == 1


async def test_joins_the_callers_transaction(engine):
    factory = session_factory(engine)
    async with factory() as s:
        with pytest.raises(RuntimeError, match="after"):
            async with s.begin():
                [t] = await create_tickets(s, [draft(1)])
                assert is_valid(t.number)
                raise RuntimeError("something after the tickets failed")
    async with factory() as s:
        assert await count_tickets(s) == 0  # rolled back with the caller's block
    async with factory() as s, s.begin():
        await create_tickets(s, [draft(1), draft(2)])
    async with factory() as s:
        assert await count_tickets(s) == 2


async def test_empty_batch(session):
    assert await create_tickets(session, []) == []


async def test_survey_answer_and_ticket_written_at_once_meet(migrated_url: str) -> None:
    """The survey answer and the ticket of one call, recorded in two transactions at the same
    time, always end up together (no answer left pending for ever)."""
    import asyncio

    from sqlalchemy import select as _select

    from tickets.db import make_engine, session_factory
    from tickets.models import PendingSatisfaction, Ticket
    from tickets.service import create_tickets, record_satisfaction

    engine = make_engine(migrated_url)
    sessions = session_factory(engine)
    try:
        for i in range(20):
            d = draft(i)

            async def write(d=d) -> None:
                async with sessions() as s, s.begin():
                    await create_tickets(s, [d])

            async def rate(d=d) -> None:
                async with sessions() as s:
                    await record_satisfaction(s, d.linkedid, 2)

            await asyncio.gather(write(), rate())
        async with sessions() as s:
            left = (await s.execute(_select(PendingSatisfaction))).all()
            rated = (await s.execute(_select(Ticket.satisfaction))).scalars().all()
        assert left == []
        assert rated == [2] * 20
    finally:
        await engine.dispose()
