"""The operators' drafts (tickets.drafts), on SQLite and PostgreSQL: stored at connect, filled,
submitted once per Idempotency-Key onto the call's ticket (whichever lands first), swept to
incomplete past the wrap-up limit; the caller's history for the screen pop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tickets import drafts, lifecycle, workflow
from tickets.db import session_factory
from tickets.models import OperatorDraft, Ticket
from tickets.service import TicketDraft, create_tickets

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CALLER = "13812345678"


def opened(i: int, *, operator_id: int = 1, seat: str = "SIP/8001") -> drafts.DraftOpened:
    return drafts.DraftOpened(
        call_uniqueid=f"1795000000.{i}",
        linkedid=f"1795000000.{i}",
        operator_id=operator_id,
        seat=seat,
        queue="hotline",
        answered_at=T0 + timedelta(seconds=i),
        created_at=T0 + timedelta(seconds=i),
    )


def ticket_of(i: int, *, caller: str = CALLER, at: datetime = T0, **kw) -> TicketDraft:
    fields = dict(
        caller_num=caller,
        caller_name="张伟",
        queue="hotline",
        seat="SIP/8001",
        linkedid=f"1795000000.{i}",
        call_uniqueid=f"1795000000.{i}",
        joined_at=at,
        answered_at=at + timedelta(seconds=i % 50),
        ended_at=at + timedelta(seconds=100),
        kind="unclassified",
        resolved_on_call=False,
    )
    fields.update(kw)
    return TicketDraft(**fields)


async def _stored(engine, *opens: drafts.DraftOpened) -> None:
    async with session_factory(engine)() as s, s.begin():
        await drafts.open_drafts(s, list(opens))
        await drafts.open_drafts(s, list(opens))  # a resend stores nothing twice


ANSWERED = {
    "kind": "consultation",
    "description": "问社保卡补办需要什么材料",
    "answer": "带身份证到任一社保网点",
}


async def test_a_draft_is_stored_once_and_filled_by_its_operator(engine) -> None:
    await _stored(engine, opened(1))
    sessions = session_factory(engine)
    async with sessions() as s:
        assert await drafts.get_draft(s, "1795000000.1", operator_id=2) is None  # not yours
        d = await drafts.get_draft(s, "1795000000.1", operator_id=1)
        assert d is not None and d.status == "open" and d.kind is None
        d = await drafts.fill(s, d, {"district": " 鼓楼区 ", "address": "中山路1号"}, T0)
    async with sessions() as s:
        d = await drafts.get_draft(s, "1795000000.1")
        assert (d.district, d.address, d.updated_at) == ("鼓楼区", "中山路1号", T0)
        n = await s.scalar(select(func.count()).select_from(OperatorDraft))
        assert n == 1


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"kind": "gossip"}, "kind"),
        ({"kind": "unclassified"}, "kind"),
        ({"address": "路" * 201}, "address"),
        ({"description": 5}, "description"),
        ({"caller_num": "1"}, "caller_num"),
    ],
)
async def test_bad_fields_are_refused_by_name_and_store_nothing(engine, values, field) -> None:
    await _stored(engine, opened(1))
    sessions = session_factory(engine)
    async with sessions() as s:
        d = await drafts.get_draft(s, "1795000000.1")
        with pytest.raises(ValueError, match=f"^{field}:"):
            await drafts.fill(s, d, {"matter": "社保", **values}, T0)
    async with sessions() as s:
        d = await drafts.get_draft(s, "1795000000.1")
        assert d.matter is None and d.updated_at is None


async def test_submit_is_idempotent_per_key_and_refuses_a_changed_body(engine) -> None:
    await _stored(engine, opened(1))
    sessions = session_factory(engine)
    async with sessions() as s:
        d = await drafts.get_draft(s, "1795000000.1")
        with pytest.raises(ValueError, match=r"^description: needed"):
            await drafts.submit(s, d, {"kind": "help"}, key="k1", at=T0)
        d, repeated = await drafts.submit(s, d, ANSWERED, key="k1", at=T0)
        assert not repeated and d.status == "submitted" and d.resolved_on_call is True
    async with sessions() as s:
        d = await drafts.get_draft(s, "1795000000.1")
        again, repeated = await drafts.submit(s, d, dict(ANSWERED), key="k1", at=T0)
        assert repeated and again.submitted_at == T0
        with pytest.raises(drafts.Conflict, match="another body"):
            await drafts.submit(s, d, {**ANSWERED, "answer": None}, key="k1", at=T0)
        with pytest.raises(drafts.Conflict, match="another Idempotency-Key"):
            await drafts.submit(s, d, ANSWERED, key="k2", at=T0)
        with pytest.raises(drafts.Conflict, match="submitted"):
            await drafts.fill(s, d, {"matter": "x"}, T0)


async def test_the_ticket_takes_the_submission_whichever_lands_first(engine) -> None:
    sessions = session_factory(engine)
    await _stored(engine, opened(1), opened(2))
    # call 1: its ticket is stored (unclassified) before the operator submits
    async with sessions() as s:
        await create_tickets(s, [ticket_of(1)])
    async with sessions() as s:
        d = await drafts.get_draft(s, "1795000000.1")
        await drafts.submit(s, d, ANSWERED, key="a", at=T0)
    # call 2: the operator submits (to be routed) before the ticket is written
    async with sessions() as s:
        d = await drafts.get_draft(s, "1795000000.2")
        body = {"kind": "complaint", "description": "噪音扰民", "district": "鼓楼区"}
        await drafts.submit(s, d, body, key="b", at=T0)
    async with sessions() as s:
        await create_tickets(s, [ticket_of(2)])
    async with sessions() as s:
        rows = {
            t.call_uniqueid: (t.kind, t.resolved_on_call, t.status)
            for t in (await s.scalars(select(Ticket))).all()
        }
    assert rows == {
        "1795000000.1": ("consultation", True, "resolved"),
        "1795000000.2": ("complaint", False, "awaiting_routing"),
    }
    async with sessions() as s:  # what was asked and answered is on the ticket too
        asked = {
            t.call_uniqueid: (t.description, t.district, t.answer)
            for t in (await s.scalars(select(Ticket))).all()
        }
    assert asked == {
        "1795000000.1": ("问社保卡补办需要什么材料", None, "带身份证到任一社保网点"),
        "1795000000.2": ("噪音扰民", "鼓楼区", None),
    }


async def test_a_late_submission_does_not_pull_a_dispatched_ticket_back(engine) -> None:
    sessions = session_factory(engine)
    await _stored(engine, opened(1))
    async with sessions() as s:
        (ticket,) = await create_tickets(s, [ticket_of(1)])
    async with sessions() as s:  # dispatched before the operator got round to submitting
        await workflow.take_step(
            s,
            ticket.number,
            lifecycle.Step.DISPATCH,
            lifecycle.Actor("disp1", lifecycle.Party.DISPATCHER),
            T0,
            workflow.StepData(department="water"),
        )
    async with sessions() as s:
        d = await drafts.get_draft(s, "1795000000.1")
        await drafts.submit(s, d, {"kind": "complaint", "description": "水管爆裂"}, key="k", at=T0)
    async with sessions() as s:
        t = await s.scalar(select(Ticket))
        assert (t.status, t.kind, t.description) == ("dispatched", "complaint", "水管爆裂")


async def test_drafts_left_past_the_wrap_up_limit_become_incomplete(engine) -> None:
    sessions = session_factory(engine)
    await _stored(engine, opened(1), opened(2, seat="SIP/8002"), opened(3), opened(4))
    async with sessions() as s, s.begin():
        await drafts.mark_ended(
            s,
            [
                ("1795000000.1", T0 + timedelta(seconds=60)),
                ("1795000000.2", T0 + timedelta(seconds=200)),
                ("1795000000.4", T0 + timedelta(seconds=60)),
            ],
        )  # call 3 still talking
    async with sessions() as s:
        d = await drafts.get_draft(s, "1795000000.4")
        await drafts.submit(s, d, ANSWERED, key="k", at=T0)
    clock = T0 + timedelta(seconds=60 + 300)  # the injected clock: call 1's limit, exactly
    async with sessions() as s:
        swept = await drafts.sweep_incomplete(s, clock, 300.0)
    assert swept == [("SIP/8001", "1795000000.1")]
    async with sessions() as s:
        again = await drafts.sweep_incomplete(s, clock + timedelta(seconds=1000), 300.0)
        assert again == [("SIP/8002", "1795000000.2")]
        listed = await drafts.list_by_status(s, "incomplete")
        assert [d.call_uniqueid for d in listed] == ["1795000000.1", "1795000000.2"]
        assert [d.call_uniqueid for d in await drafts.list_by_status(s, "open")] == ["1795000000.3"]
        # a call whose end was never recorded (the process stopped during it) is swept too
        unseen = clock + timedelta(seconds=drafts.UNSEEN_END_S)
        assert await drafts.sweep_incomplete(s, unseen, 300.0) == [("SIP/8001", "1795000000.3")]
        # a late submission still counts
        late = await drafts.get_draft(s, "1795000000.1")
        late, _ = await drafts.submit(s, late, ANSWERED, key="late", at=clock)
        assert late.status == "submitted"


async def test_the_caller_s_history_is_newest_first_with_the_repeat_flag(engine) -> None:
    sessions = session_factory(engine)
    async with sessions() as s:
        await create_tickets(
            s,
            [
                ticket_of(1, at=T0 - timedelta(days=90), kind="complaint"),
                ticket_of(2, at=T0 - timedelta(days=40), kind="help"),
                ticket_of(3, at=T0 - timedelta(days=10), kind="report"),
                ticket_of(4, caller="13900000000"),
            ],
        )
    async with sessions() as s:
        h = await drafts.caller_history(s, CALLER, now=T0, limit=2, repeat_days=30)
        assert [t["kind"] for t in h.tickets] == ["report", "help"] and h.repeat_caller
        h = await drafts.caller_history(s, CALLER, now=T0, limit=5, repeat_days=7)
        assert len(h.tickets) == 3 and not h.repeat_caller
        assert h.tickets[0]["number"].isdigit()
        none = await drafts.caller_history(s, "", now=T0, limit=5, repeat_days=30)
        assert none == drafts.CallHistory((), False)


async def test_a_draft_in_the_batch_being_written_is_still_pending(engine, monkeypatch) -> None:
    """A reader that finds no row while the batch holding it is being written must know to
    wait (``pending``): the submit endpoint flushes when its draft is not there yet, and
    found it missing (404) while the batch was in flight."""
    from tickets import draft_writer

    writing, release = asyncio.Event(), asyncio.Event()
    store = draft_writer.open_drafts

    async def slow_open(session, opened_):
        writing.set()
        await release.wait()
        await store(session, opened_)

    monkeypatch.setattr(draft_writer, "open_drafts", slow_open)
    writer = draft_writer.DraftWriter(session_factory(engine), linger_s=0.0)
    writer.start()
    try:
        writer.opened(opened(1))
        await asyncio.wait_for(writing.wait(), 5)
        assert writer.pending == 1  # taken off the queue, not yet committed
        release.set()
        await writer.drain(5)
        assert writer.pending == 0
        async with session_factory(engine)() as s:
            assert await drafts.get_draft(s, "1795000000.1") is not None
    finally:
        await writer.stop()
