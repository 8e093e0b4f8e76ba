"""The monthly report's facts read from the store: the month's dispatches with what followed
each (from the ``ticket_steps`` audit trail), and the centre's calls (the queue_log, through
:mod:`metrics.call_history`) and instant answers (``tickets``). Durable data only, never the
live counters, which restart with the process. The figures themselves are
:mod:`metrics.kpi`'s.

One query folds the trail into one row per dispatch: a window function numbers each step by
the dispatches before it (``sum(step = 'dispatch') over (partition by ticket order by id)``),
and the steps are grouped by ticket and that number, so the database returns one row per
dispatch (a few hundred thousand a month at most), not every step. Only the dispatches in
which an extension was asked need their steps (the clock stopped while the request waited);
those few are read apart. The limit is the ticket's (set at its last dispatch, from its
matter): the trail does not keep the limit of an earlier dispatch.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, and_, case, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from config.report import ReportRules
from metrics.call_history import call_history
from metrics.kpi import CentreCalls, Dispatch, MonthlyReport, month_bounds, monthly_report
from tickets import lifecycle as lc
from tickets.db import UTCDateTime
from tickets.deadlines import Limit, Unit
from tickets.models import Ticket, TicketStep
from tickets.workflow import DEFAULT_LIMIT, stops_of

__all__ = ["centre_calls", "dispatches", "report_of_month"]

_S = TicketStep.__table__
_T = Ticket.__table__


def _per_dispatch(start: datetime, end: datetime):  # type: ignore[no-untyped-def]
    """One row per dispatch made in ``[start, end)`` (see the module's comment)."""
    dispatched_in = select(_S.c.ticket_id).where(
        _S.c.step == lc.Step.DISPATCH.value, _S.c.at >= start, _S.c.at < end
    )

    def data_of(which: lc.Step, key: str, as_int: bool = False):  # type: ignore[no-untyped-def]
        """The step's data[key] on its own rows (read before the sort: narrow rows)."""
        value = _S.c.data[key].as_integer() if as_int else _S.c.data[key].as_string()
        return case((_S.c.step == which.value, value), else_=None)

    steps = (
        select(
            _S.c.ticket_id,
            _S.c.at,
            _S.c.step,
            data_of(lc.Step.DISPATCH, "department").label("department"),
            data_of(lc.Step.CALL_BACK, "rating").label("rating"),
            data_of(lc.Step.GRANT_EXTENSION, "days", True).label("days"),
            func.sum(case((_S.c.step == lc.Step.DISPATCH.value, 1), else_=0))
            .over(partition_by=_S.c.ticket_id, order_by=_S.c.id)
            .label("grp"),
        )
        .where(_S.c.ticket_id.in_(dispatched_in))
        .subquery()
    )

    def first(*which: lc.Step):  # type: ignore[no-untyped-def]
        cond = steps.c.step.in_([s.value for s in which])
        return type_coerce(func.min(case((cond, steps.c.at), else_=None)), UTCDateTime())

    dispatched_at = first(lc.Step.DISPATCH)
    groups = (
        select(
            steps.c.ticket_id,
            steps.c.grp,
            dispatched_at.label("dispatched_at"),
            type_coerce(func.max(steps.c.department), String()).label("department"),
            first(lc.Step.ACCEPT, lc.Step.RETURN).label("answered_at"),
            first(lc.Step.RETURN).label("returned_at"),
            first(lc.Step.MERGE).label("merged_at"),
            first(lc.Step.REPLY).label("replied_at"),
            first(lc.Step.CALL_BACK).label("called_back_at"),
            type_coerce(func.max(steps.c.rating), String()).label("rating"),
            type_coerce(func.coalesce(func.sum(steps.c.days), 0), Integer()).label("extension"),
            func.sum(case((steps.c.step == lc.Step.ASK_EXTENSION.value, 1), else_=0)).label("asks"),
        )
        .where(steps.c.grp > 0)
        .group_by(steps.c.ticket_id, steps.c.grp)
        .subquery()
    )
    return (
        select(groups, _T.c.limit_amount, _T.c.limit_unit)
        .join(_T, _T.c.id == groups.c.ticket_id)
        .where(and_(groups.c.dispatched_at >= start, groups.c.dispatched_at < end))
    )


async def _stops(session: AsyncSession, wanted: set[tuple[int, int]]):  # type: ignore[no-untyped-def]
    """The clock's stops of each (ticket, dispatch number) in ``wanted``."""
    rows = await session.execute(
        select(_S.c.ticket_id, _S.c.step, _S.c.at, _S.c.from_state)
        .where(_S.c.ticket_id.in_({t for t, _ in wanted}))
        .order_by(_S.c.ticket_id, _S.c.id)
    )
    by_group: dict[tuple[int, int], list[Any]] = defaultdict(list)
    grp: dict[int, int] = defaultdict(int)
    for s in rows:
        if s.step == lc.Step.DISPATCH.value:
            grp[s.ticket_id] += 1
        key = (s.ticket_id, grp[s.ticket_id])
        if key in wanted:
            by_group[key].append(s)
    # the rows have the step's step, at and from_state: all stops_of reads
    return {key: tuple(stops_of(steps)) for key, steps in by_group.items()}


async def dispatches(session: AsyncSession, start: datetime, end: datetime) -> list[Dispatch]:
    """The dispatches made in ``[start, end)`` and what followed each."""
    rows = (await session.execute(_per_dispatch(start, end))).all()
    asked = {(r[0], int(r[1])) for r in rows if r[11]}  # ticket_id, grp when asks
    stops = await _stops(session, asked) if asked else {}
    limits: dict[tuple[int | None, str | None], Limit] = {}
    out = []
    for (
        ticket_id, grp, dispatched_at, department, answered_at, returned_at, merged_at,
        replied_at, called_back_at, rating, extension, _, amount, unit,
    ) in rows:  # fmt: skip
        limit = limits.get((amount, unit))
        if limit is None:
            limit = limits[(amount, unit)] = (
                Limit(amount, Unit(unit or Unit.WORKING_DAYS.value)) if amount else DEFAULT_LIMIT
            )
        out.append(
            Dispatch(
                ticket_id,
                department or "",
                dispatched_at,
                limit,
                answered_at,
                returned_at is not None and returned_at == answered_at,
                merged_at is not None,
                replied_at,
                int(extension or 0),
                stops.get((ticket_id, int(grp)), ()),
                called_back_at,
                rating,
            )
        )
    return out


async def centre_calls(session: AsyncSession, start: datetime, end: datetime) -> CentreCalls:
    """Calls offered and answered in ``[start, end)`` (the queue_log, every queue), and the
    phone tickets of calls answered then that were resolved on the call."""
    periods = await call_history(session, start=start, end=end, by="month")
    resolved = await session.scalar(
        select(func.count()).where(
            Ticket.resolved_on_call.is_(True),
            Ticket.answered_at >= start,
            Ticket.answered_at < end,
        )
    )
    return CentreCalls(
        offered=sum(p.offered for p in periods),
        answered=sum(p.answered for p in periods),
        resolved_on_call=int(resolved or 0),
    )


async def report_of_month(
    session: AsyncSession,
    month: str,
    rules: ReportRules,
    as_of: datetime,
    names: dict[str, str] | None = None,
) -> MonthlyReport:
    """The month's report (``ValueError`` for a month that is not one)."""
    start, end = month_bounds(month)
    found = await dispatches(session, start, end)
    calls = await centre_calls(session, start, end)
    return monthly_report(month, found, calls, rules, as_of, names)
