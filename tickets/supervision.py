"""Supervision (督办): which running tickets are due soon or overdue, computed from the stored
facts at the moment asked (:func:`tickets.workflow.deadline_of`), leader-instructed cases
first; and which of those still need escalating (each level, due soon then overdue, is
escalated once per dispatch: ``tickets.escalated`` holds the level sent).

The hotline watches every deadline, not the departments: "handling and supervising are
separated" (../shared/DOMAIN.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tickets import lifecycle as lc
from tickets.models import Ticket, TicketStep
from tickets.workflow import deadline_of

__all__ = ["Flag", "Level", "count_by_state", "mark_escalated", "scan"]

_RUNNING = (lc.State.DISPATCHED.value, lc.State.ACCEPTED.value, lc.State.EXTENSION_ASKED.value)


class Level(IntEnum):
    NONE = 0
    DUE_SOON = 1
    OVERDUE = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Flag:
    ticket_id: int
    number: str
    department: str
    state: str
    level: Level
    due_at: datetime | None
    remaining_s: float
    leader_instructed: bool
    #: The level already escalated for this dispatch.
    escalated: Level

    @property
    def to_escalate(self) -> bool:
        return self.level > self.escalated


def _order(f: Flag) -> tuple[bool, int, float]:
    return (not f.leader_instructed, -int(f.level), f.remaining_s)


async def scan(session: AsyncSession, now: datetime) -> list[Flag]:
    """Every running ticket that is due soon or overdue at ``now``: leader-instructed first,
    then overdue before due soon, then the least time left."""
    tickets = list((await session.scalars(select(Ticket).where(Ticket.status.in_(_RUNNING)))).all())
    if not tickets:
        return []
    steps: dict[int, list[TicketStep]] = {t.id: [] for t in tickets}
    rows = await session.scalars(
        select(TicketStep).where(TicketStep.ticket_id.in_(steps)).order_by(TicketStep.id)
    )
    for s in rows:
        steps[s.ticket_id].append(s)
    flags = []
    for t in tickets:
        due = deadline_of(t, steps[t.id], now)
        if due is None or not (due.overdue or due.due_soon):
            continue
        flags.append(
            Flag(
                ticket_id=t.id,
                number=t.number,
                department=t.lead_department or "",
                state=t.status,
                level=Level.OVERDUE if due.overdue else Level.DUE_SOON,
                due_at=due.due_at,
                remaining_s=due.remaining.total_seconds(),
                leader_instructed=bool(t.leader_instructed),
                escalated=Level(t.escalated or 0),
            )
        )
    return sorted(flags, key=_order)


async def mark_escalated(session: AsyncSession, flags: Sequence[Flag]) -> None:
    """Record that ``flags`` were escalated at their level (only upwards: a late answer of an
    earlier level never lowers a higher one). Commits."""
    for f in flags:
        await session.execute(
            update(Ticket)
            .where(Ticket.id == f.ticket_id, Ticket.escalated < int(f.level))
            .values(escalated=int(f.level))
            .execution_options(synchronize_session=False)
        )
    await session.commit()


async def count_by_state(session: AsyncSession) -> dict[str, int]:
    """Tickets in each lifecycle state (every state named, 0 when none)."""
    rows = (
        await session.execute(select(Ticket.status, func.count()).group_by(Ticket.status))
    ).all()
    counts = {state.value: 0 for state in lc.State}
    counts.update({status: n for status, n in rows if status in counts})
    return counts
