"""The seat sessions in the store (table ``seat_sessions``): who is signed in where and
paused why, written as each change is confirmed by Asterisk's answer, read back when the
process starts. Asterisk forgets its dynamic members and pause reasons on a restart; we do
not, and put them back (:mod:`agents.seat_lifecycle`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agents.models import SeatSession
from agents.shift import PAUSED, READY, Shift

__all__ = ["close_session", "open_session", "open_shifts", "save_pause"]


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


async def open_session(sessions: async_sessionmaker[AsyncSession], shift: Shift) -> None:
    """A sign-in: a new row (any row of the user still open is closed first)."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(SeatSession)
            .where(SeatSession.username == shift.username, SeatSession.signed_out_at.is_(None))
            .values(signed_out_at=_dt(shift.signed_in_at))
        )
        session.add(
            SeatSession(
                username=shift.username,
                interface=shift.interface,
                member_name=shift.member_name,
                queues=dict(shift.queues),
                signed_in_at=_dt(shift.signed_in_at),
                paused_code=shift.code if shift.wanted == PAUSED else None,
                paused_since=_dt(shift.since) if shift.wanted == PAUSED else None,
            )
        )


async def save_pause(sessions: async_sessionmaker[AsyncSession], shift: Shift) -> None:
    """The shift's pause (its code and since when), or none when it is wanted ready."""
    paused = shift.wanted == PAUSED
    async with sessions() as session, session.begin():
        await session.execute(
            update(SeatSession)
            .where(SeatSession.username == shift.username, SeatSession.signed_out_at.is_(None))
            .values(
                paused_code=shift.code if paused else None,
                paused_since=_dt(shift.since) if paused else None,
            )
        )


async def close_session(
    sessions: async_sessionmaker[AsyncSession], username: str, at: float
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(SeatSession)
            .where(SeatSession.username == username, SeatSession.signed_out_at.is_(None))
            .values(signed_out_at=_dt(at))
        )


async def open_shifts(sessions: async_sessionmaker[AsyncSession]) -> list[Shift]:
    """Every session not signed out, as shifts (wanted as they were last confirmed)."""
    async with sessions() as session:
        rows = await session.scalars(
            select(SeatSession)
            .where(SeatSession.signed_out_at.is_(None))
            .order_by(SeatSession.signed_in_at, SeatSession.id)
        )
        out = []
        for r in rows:
            paused = r.paused_code is not None
            since = r.paused_since if paused and r.paused_since else r.signed_in_at
            out.append(
                Shift(
                    username=r.username,
                    interface=r.interface,
                    member_name=r.member_name,
                    queues={str(q): int(p) for q, p in dict(r.queues or {}).items()},
                    signed_in_at=r.signed_in_at.timestamp(),
                    wanted=PAUSED if paused else READY,
                    code=r.paused_code or "",
                    since=since.timestamp(),
                )
            )
        return out
