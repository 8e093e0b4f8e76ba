"""The books the crash tests compare: tickets per call against the queue_log's answers."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from metrics.models import QueueLog
from tickets.models import Ticket


async def tickets_and_connects(
    session: AsyncSession, queue: str | None = None
) -> tuple[Counter[str], Counter[str]]:
    """(tickets per ``call_uniqueid``, ``CONNECT`` rows of the queue_log per callid, of
    ``queue`` when given). Exactly once means the two are equal."""
    tickets = Counter(
        dict(
            (
                await session.execute(
                    select(Ticket.call_uniqueid, func.count()).group_by(Ticket.call_uniqueid)
                )
            ).all()
        )
    )
    where = [QueueLog.event == "CONNECT"]
    if queue is not None:
        where.append(QueueLog.queuename == queue)
    connects = Counter(
        dict(
            (
                await session.execute(
                    select(QueueLog.callid, func.count()).where(*where).group_by(QueueLog.callid)
                )
            ).all()
        )
    )
    return tickets, connects
