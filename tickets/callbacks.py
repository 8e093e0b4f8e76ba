"""Callbacks (回访): which replied tickets are due a call to the citizen, and the record of each
attempt. The call itself (an ``Originate`` into the IVR's callback survey) is the composition
root's (``hotline/callback_job.py``); the rating it brings back is the ticket's ``call_back``
step (:func:`tickets.workflow.record_callback`).

A ticket is due a callback once it has been ``replied`` for the delay, while it has attempts
left and the last attempt is older than the retry interval; a withheld number cannot be
called back. An attempt is counted *before* the call is asked for (a crash in between loses
one attempt, never calls twice) and given back if the call could not even be asked for (the
AMI link down). A ticket whose attempts ran out waits for an operator's call (the same
``call_back`` step, taken in the desk); :func:`pending` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tickets import lifecycle as lc
from tickets.models import Ticket, TicketStep

__all__ = [
    "CallbackRate",
    "CallbackRules",
    "Due",
    "callback_rate",
    "give_back",
    "pending",
    "take_due",
]


@dataclass(frozen=True, slots=True)
class CallbackRules:
    delay: timedelta = timedelta(hours=1)
    attempts: int = 3
    retry: timedelta = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class Due:
    ticket_id: int
    number: str
    caller_num: str
    attempt: int
    #: The last attempt's time before this one (put back if this one is given back).
    previous_at: datetime | None = None


def _due(rules: CallbackRules, now: datetime):  # type: ignore[no-untyped-def]
    return (
        Ticket.status == lc.State.REPLIED.value,
        Ticket.caller_num.is_not(None),
        Ticket.caller_num != "",
        Ticket.state_changed_at <= now - rules.delay,
        Ticket.callback_attempts < rules.attempts,
        or_(Ticket.callback_last_at.is_(None), Ticket.callback_last_at <= now - rules.retry),
    )


async def take_due(
    session: AsyncSession, rules: CallbackRules, now: datetime, limit: int
) -> list[Due]:
    """Count an attempt on up to ``limit`` due tickets (the oldest reply first) and return
    them; commits. Rows locked and skipped by another process are left to it."""
    async with session.begin():
        rows = list(
            (
                await session.scalars(
                    select(Ticket)
                    .where(*_due(rules, now))
                    .order_by(Ticket.state_changed_at, Ticket.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
        )
        taken = []
        for t in rows:
            done = await session.execute(
                update(Ticket)
                .where(Ticket.id == t.id, *_due(rules, now))
                .values(callback_attempts=Ticket.callback_attempts + 1, callback_last_at=now)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount == 1:  # type: ignore[attr-defined]
                taken.append(
                    Due(
                        t.id,
                        t.number,
                        t.caller_num or "",
                        t.callback_attempts + 1,
                        t.callback_last_at,
                    )
                )
    return taken


async def give_back(session: AsyncSession, due: Due) -> None:
    """The call could not be asked for: the attempt does not count. Commits."""
    await session.execute(
        update(Ticket)
        .where(Ticket.id == due.ticket_id, Ticket.callback_attempts == due.attempt)
        .values(callback_attempts=due.attempt - 1, callback_last_at=due.previous_at)
        .execution_options(synchronize_session=False)
    )
    await session.commit()


async def pending(
    session: AsyncSession, rules: CallbackRules, *, automatic: bool, limit: int = 100
) -> list[Ticket]:
    """Replied tickets an operator must call back: every one when no call is made
    automatically, else those whose attempts ran out or whose number is withheld."""
    stmt = select(Ticket).where(Ticket.status == lc.State.REPLIED.value)
    if automatic:
        stmt = stmt.where(
            or_(
                Ticket.callback_attempts >= rules.attempts,
                Ticket.caller_num.is_(None),
                Ticket.caller_num == "",
            )
        )
    stmt = stmt.order_by(Ticket.state_changed_at, Ticket.id).limit(limit)
    return list((await session.scalars(stmt)).all())


@dataclass(frozen=True, slots=True)
class CallbackRate:
    """回访核实率 over a period: of the tickets replied in it, how many were called back (a
    ``call_back`` step after their reply, by the survey or an operator, whenever it came)."""

    replied: int
    called_back: int

    @property
    def rate(self) -> float | None:
        return self.called_back / self.replied if self.replied else None


async def callback_rate(session: AsyncSession, start: datetime, end: datetime) -> CallbackRate:
    """The callback rate of the tickets replied in ``[start, end)``."""
    replies = (
        select(TicketStep.ticket_id, func.max(TicketStep.at).label("at"))
        .where(
            TicketStep.step == lc.Step.REPLY.value,
            TicketStep.at >= start,
            TicketStep.at < end,
        )
        .group_by(TicketStep.ticket_id)
        .subquery()
    )
    replied = await session.scalar(select(func.count()).select_from(replies)) or 0
    called = (
        select(func.count(func.distinct(replies.c.ticket_id)))
        .select_from(replies)
        .join(TicketStep, TicketStep.ticket_id == replies.c.ticket_id)
        .where(TicketStep.step == lc.Step.CALL_BACK.value, TicketStep.at >= replies.c.at)
    )
    return CallbackRate(replied=replied, called_back=await session.scalar(called) or 0)
