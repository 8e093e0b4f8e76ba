"""The seat sessions in the store (both databases): a sign-in, its pauses and its sign-out
written, and the open ones read back as shifts after a process restart."""

from __future__ import annotations

from sqlalchemy import select

from agents.models import SeatSession
from agents.seat_store import close_session, open_session, open_shifts, save_pause
from agents.shift import PAUSED, READY, Shift
from tickets.db import session_factory

T0 = 1_795_000_000.0


async def test_a_shift_round_trips_through_the_store(engine) -> None:
    sessions = session_factory(engine)
    shift = Shift("zhangwei", "SIP/8001", "张伟", {"hotline": 0, "urgent": 1}, signed_in_at=T0)
    await open_session(sessions, shift)
    other = Shift("lina", "SIP/8002", "李娜", {"xiaoshan": 0}, signed_in_at=T0 + 1)
    await open_session(sessions, other)

    (back, _) = await open_shifts(sessions)
    assert (back.username, back.interface, back.member_name) == ("zhangwei", "SIP/8001", "张伟")
    assert back.queues == {"hotline": 0, "urgent": 1}
    assert (back.wanted, back.code, back.signed_in_at) == (READY, "", T0)

    shift.wanted, shift.code, shift.since = PAUSED, "lunch", T0 + 60
    await save_pause(sessions, shift)
    (back, _) = await open_shifts(sessions)
    assert (back.wanted, back.code, back.since) == (PAUSED, "lunch", T0 + 60)

    shift.wanted, shift.code, shift.since = READY, "", T0 + 120
    await save_pause(sessions, shift)
    (back, _) = await open_shifts(sessions)
    assert (back.wanted, back.code, back.since) == (READY, "", T0)

    await close_session(sessions, "zhangwei", T0 + 3600)
    assert [s.username for s in await open_shifts(sessions)] == ["lina"]
    async with sessions() as session:
        rows = (await session.scalars(select(SeatSession).order_by(SeatSession.id))).all()
    assert rows[0].signed_out_at is not None
    assert rows[0].signed_out_at.timestamp() == T0 + 3600


async def test_signing_in_again_closes_the_open_session(engine) -> None:
    sessions = session_factory(engine)
    await open_session(sessions, Shift("op1", "SIP/8001", "x", {"hotline": 0}, signed_in_at=T0))
    await open_session(
        sessions, Shift("op1", "SIP/8003", "x", {"hotline": 0}, signed_in_at=T0 + 10)
    )
    (back,) = await open_shifts(sessions)
    assert back.interface == "SIP/8003"
