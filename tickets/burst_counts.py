"""The ticket counts the early warning judges (:mod:`tickets.bursts`), from the store: tickets
created in some windows of time, by matter and by district, aggregated by the database (a
check reads a few hundred rows, however many tickets the windows hold). Tickets without a
matter (not yet classified) or a district count for the dimension they have.

``tickets.created_at`` is indexed (migration 0009): each window is a range scan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Protocol

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tickets.bursts import Dimension, Key
from tickets.models import Ticket

__all__ = ["Counts", "Window", "count_tickets", "days_with_tickets", "store_counts"]

Window = tuple[datetime, datetime]


class Counts(Protocol):
    """Where a check's counts come from: the store (:func:`store_counts`), or tickets held
    in memory (the simulated days of the tests and ``make bench``)."""

    async def count(
        self, windows: Sequence[Window], only: Collection[Key] | None = None
    ) -> Counter[Key]: ...

    async def ran(self, days: Sequence[Window]) -> list[bool]: ...


class _StoreCounts:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def count(
        self, windows: Sequence[Window], only: Collection[Key] | None = None
    ) -> Counter[Key]:
        return await count_tickets(self._session, windows, only)

    async def ran(self, days: Sequence[Window]) -> list[bool]:
        return await days_with_tickets(self._session, days)


def store_counts(
    sessions: Callable[[], async_sessionmaker[AsyncSession] | None],
) -> Callable[[], AbstractAsyncContextManager[Counts | None]]:
    """Counts from the store, one session a check (None while there is no store yet)."""

    @asynccontextmanager
    async def counts() -> AsyncIterator[Counts | None]:
        factory = sessions()
        if factory is None:
            yield None
            return
        async with factory() as session:
            yield _StoreCounts(session)

    return counts


def _within(windows: Sequence[Window]) -> ColumnElement[bool]:
    return or_(*(and_(Ticket.created_at >= a, Ticket.created_at < b) for a, b in windows))


async def count_tickets(
    session: AsyncSession, windows: Sequence[Window], only: Collection[Key] | None = None
) -> Counter[Key]:
    """Tickets created in any of ``windows`` (``[start, end)``, UTC), by matter and by
    district: ``{Key("matter", code): n, Key("district", name): n, ...}``; only the keys
    ``only`` when given."""
    counts: Counter[Key] = Counter()
    if not windows:
        return counts
    where = _within(windows)
    for dimension, column in (
        (Dimension.MATTER, Ticket.matter),
        (Dimension.DISTRICT, Ticket.district),
    ):
        if only is None:
            which = and_(column.is_not(None), column != "")
        else:
            values = sorted({k.value for k in only if k.dimension == dimension})
            if not values:
                continue
            which = column.in_(values)
        rows = await session.execute(
            select(column, func.count()).where(where, which).group_by(column)
        )
        for value, n in rows:
            counts[Key(dimension.value, value)] = int(n)
    return counts


async def days_with_tickets(session: AsyncSession, days: Sequence[Window]) -> list[bool]:
    """For each of ``days`` (a whole day, ``[start, end)``), whether the store has a ticket
    created in it: a day the service was not running is no baseline."""
    if not days:
        return []
    row = (await session.execute(select(*(exists().where(_within([d])) for d in days)))).one()
    return [bool(x) for x in row]
