"""Durable call history: what the queues did per queue and per period, from the queue_log.

Reports over days (the monthly report, any KPI over a period) read this, never in-memory
counters: those restart at zero with the process, the queue_log does not (DESIGN, principle
9). Every figure has one definition, on Asterisk's rows (README, "Durable call history"):

* ``offered``: ``ENTERQUEUE`` (a join refused by ``joinempty``/``maxlen`` writes no row,
  and is not offered; the controller's live ``offered`` counts the same);
* ``answered``: ``CONNECT``; ``hold_s``: the sum of their hold times (data1), the time
  callers waited for the answer;
* ``abandoned``: ``ABANDON`` (the caller hung up while waiting); ``timed_out``:
  ``EXITWITHTIMEOUT``; ``exited_empty``: ``EXITEMPTY``; ``exited_key``: ``EXITWITHKEY``;
  ``unanswered`` is their sum (the live counter ``abandoned`` counts all four);
* ``completed``: ``COMPLETEAGENT`` + ``COMPLETECALLER`` + transfers (answered calls that
  ended), ``talk_s`` the sum of their talk times.

A period is a local hour (``2026-11-30T08``), day (``2026-11-30``) or month (``2026-11``)
at a fixed UTC offset (the centre's, as the IVR's opening hours; China keeps no daylight
saving), by the row's time. The database groups by local hour; days and months are summed
here from those hours. Rows that Asterisk wrote in its fallback ``data`` column (started
without the database) are read one by one, the rest is summed by the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Float, and_, case, cast, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from metrics.models import QueueLog
from pbx.queue_log import QueueLogError, row_from_columns
from routing.logged_calls import ANSWERED_ENDS, HOLD_FIELD, TALK_FIELD

__all__ = ["Period", "QueuePeriod", "call_history"]

Period = Literal["hour", "day", "month"]
_KEY_LEN = {"hour": 13, "day": 10, "month": 7}
_COUNTED = {
    "ENTERQUEUE": "offered",
    "CONNECT": "answered",
    "ABANDON": "abandoned",
    "EXITWITHTIMEOUT": "timed_out",
    "EXITEMPTY": "exited_empty",
    "EXITWITHKEY": "exited_key",
    **dict.fromkeys(ANSWERED_ENDS, "completed"),
}
#: Which data field holds the figure summed for an event (hold of CONNECT, talk of the ends):
#: the same fields the backfill reads (routing.logged_calls).
_FIGURE = {"CONNECT": HOLD_FIELD, **TALK_FIELD}
_T = QueueLog.__table__


@dataclass
class QueuePeriod:
    """One queue in one period (see the module's definitions)."""

    queue: str
    period: str
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    timed_out: int = 0
    exited_empty: int = 0
    exited_key: int = 0
    completed: int = 0
    hold_s: float = 0.0
    talk_s: float = 0.0

    @property
    def unanswered(self) -> int:
        return self.abandoned + self.timed_out + self.exited_empty + self.exited_key

    @property
    def answer_ratio(self) -> float | None:
        """answered / offered; ``None`` when nothing was offered (not 0: nothing happened)."""
        return self.answered / self.offered if self.offered else None

    @property
    def mean_hold_s(self) -> float | None:
        return self.hold_s / self.answered if self.answered else None

    @property
    def mean_talk_s(self) -> float | None:
        return self.talk_s / self.completed if self.completed else None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = asdict(self)
        d["hold_s"] = round(self.hold_s, 3)
        d["talk_s"] = round(self.talk_s, 3)
        d["unanswered"] = self.unanswered
        for name in ("answer_ratio", "mean_hold_s", "mean_talk_s"):
            v = getattr(self, name)
            d[name] = None if v is None else round(v, 4)
        return d

    def add(self, event: str, n: int, figure: float) -> None:
        name = _COUNTED[event]
        setattr(self, name, getattr(self, name) + n)
        if event == "CONNECT":
            self.hold_s += figure
        elif name == "completed":
            self.talk_s += figure


def _number(dialect: str, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``column`` as a number where it is one, else NULL (a malformed row adds nothing)."""
    if dialect == "postgresql":
        ok = column.op("~")(r"^[0-9]+(\.[0-9]+)?$")
    else:
        ok = and_(column.op("GLOB")("[0-9]*"), column.op("NOT GLOB")("*[^0-9.]*"))
    return case((ok, cast(column, Float)), else_=None)


def _local_hour(dialect: str, offset_min: int) -> ColumnElement[str]:
    if dialect == "postgresql":
        shifted = _T.c.time + func.make_interval(0, 0, 0, 0, 0, offset_min)
        return func.to_char(shifted, literal('YYYY-MM-DD"T"HH24'))
    return func.strftime("%Y-%m-%dT%H", _T.c.time, f"{offset_min:+d} minutes")


async def call_history(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    by: Period = "day",
    utc_offset_hours: float = 8.0,
    queues: Iterable[str] | None = None,
) -> list[QueuePeriod]:
    """Per queue and period, the rows with ``start <= time < end`` (aware datetimes), sorted
    by queue then period. Periods in which a queue had no row are absent."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes (give a time zone)")
    if by not in _KEY_LEN:
        raise ValueError(f"by: {by!r} is not one of hour, day, month")
    dialect = session.bind.dialect.name
    offset_min = round(utc_offset_hours * 60)
    lo = start.astimezone(UTC).replace(tzinfo=None)
    hi = end.astimezone(UTC).replace(tzinfo=None)
    events = list(_COUNTED)
    where = [_T.c.time >= lo, _T.c.time < hi, _T.c.event.in_(events)]
    if queues is not None:
        where.append(_T.c.queuename.in_(list(queues)))
    hour = _local_hour(dialect, offset_min).label("hour")
    figure = case(
        *((_T.c.event == ev, _number(dialect, _T.c[f"data{n}"])) for ev, n in _FIGURE.items()),
        else_=None,
    )
    plain = or_(*(func.coalesce(_T.c[f"data{i}"], "") != "" for i in range(1, 6)),
                func.coalesce(_T.c.data, "") == "")  # fmt: skip
    summed = await session.execute(
        select(_T.c.queuename, hour, _T.c.event, func.count(), func.sum(figure))
        .where(*where, plain)
        .group_by(_T.c.queuename, hour, _T.c.event)
    )
    out: dict[tuple[str, str], QueuePeriod] = {}
    cut = _KEY_LEN[by]

    def bucket(queue: str, key: str) -> QueuePeriod:
        k = (queue, key[:cut])
        qp = out.get(k)
        if qp is None:
            qp = out[k] = QueuePeriod(queue, key[:cut])
        return qp

    for queue, key, event, n, total in summed:
        bucket(queue or "", key).add(event, int(n), float(total or 0.0))
    fallback = await session.execute(select(*_T.c).where(*where, ~plain))
    shift = timedelta(minutes=offset_min)
    for r in fallback:
        try:
            row = row_from_columns(*r)
        except QueueLogError:
            continue
        local = datetime.fromtimestamp(row.at, UTC) + shift
        n = _FIGURE.get(row.event)
        bucket(row.queue, local.strftime("%Y-%m-%dT%H")).add(
            row.event, 1, (row.number(n) or 0.0) if n else 0.0
        )
    return [out[k] for k in sorted(out)]
