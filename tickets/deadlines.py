"""When a ticket is due, counted on China's working calendar; due soon and overdue are computed
from the facts (start, limit, extensions, stops) every time they are asked, never stored.

**The working clock.** Time counts only on working days by the official calendar
(``config.calendar``: public holidays off, the weekend days made working days on) and not
while the clock is stopped (``stops``: e.g. while an extension request waits for the centre's
answer). A limit in *working days* runs on the whole of each working day (local time, UTC+8)
and its due time is the end (24:00) of the working day in which the counted time reaches the
limit: "N working days" from a start inside a day is the end of the N-th working day after the
start's day, the rule the hotline's departments are held to. A limit in *working hours* runs
only inside office hours (default 08:30-12:00 and 13:30-17:30) of working days, to the
minute. Granted extensions add working days (or hours) to the limit.

Why hand-written: ``chinesecalendar`` says which days work (and we use it); no library
counts a limit over those days with a stoppable clock.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from config.calendar import is_workday
from config.traffic import HOTLINE_TZ

__all__ = [
    "OFFICE_HOURS",
    "Clock",
    "Deadline",
    "Limit",
    "Stop",
    "Unit",
    "deadline",
    "working_time",
]

DAY = timedelta(days=1)
#: How far a limit may reach before it is taken for a mistake (no working day in a year).
HORIZON_DAYS = 3 * 366


class Unit(StrEnum):
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"


@dataclass(frozen=True, slots=True)
class Limit:
    amount: int
    unit: Unit = Unit.WORKING_DAYS

    def __post_init__(self) -> None:
        if self.amount < 1:
            raise ValueError(f"amount: a limit is at least 1 {self.unit.value}, not {self.amount}")

    @property
    def span(self) -> timedelta:
        """The limit on the working clock."""
        return self.amount * (DAY if self.unit is Unit.WORKING_DAYS else timedelta(hours=1))


#: Office hours on a working day, for limits in working hours (local time).
OFFICE_HOURS: tuple[tuple[time, time], ...] = (
    (time(8, 30), time(12, 0)),
    (time(13, 30), time(17, 30)),
)


@dataclass(frozen=True, slots=True)
class Stop:
    """The clock stopped from ``start`` until ``end`` (``None``: still stopped)."""

    start: datetime
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class Clock:
    """The working clock of one unit."""

    unit: Unit
    office_hours: tuple[tuple[time, time], ...] = OFFICE_HOURS

    def windows(self, on: date) -> list[tuple[datetime, datetime]]:
        """The spans of ``on`` (local date) when the clock may run, as aware datetimes."""
        if not is_workday(on):
            return []
        if self.unit is Unit.WORKING_DAYS:
            start = datetime.combine(on, time(0), HOTLINE_TZ)
            return [(start, start + DAY)]
        return [
            (datetime.combine(on, a, HOTLINE_TZ), datetime.combine(on, b, HOTLINE_TZ))
            for a, b in self.office_hours
        ]

    def running(
        self, start: datetime, stops: Sequence[Stop], now: datetime | None = None
    ) -> Iterator[tuple[datetime, datetime]]:
        """The spans from ``start`` on (to ``now`` when given) in which the clock runs: the
        working windows minus the stops, in order."""
        local = _aware(start).astimezone(HOTLINE_TZ)
        cut = [(_aware(s.start), _aware(s.end) if s.end else None) for s in stops]
        day = local.date()
        last = day + timedelta(days=HORIZON_DAYS)
        while day <= last:
            for a, b in self.windows(day):
                a = max(a, local)
                if now is not None:
                    b = min(b, _aware(now))
                yield from _minus(a, b, cut)
            if now is not None and datetime.combine(day, time(0), HOTLINE_TZ) + DAY >= _aware(now):
                return
            day += DAY


def _aware(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError(f"a naive datetime ({t.isoformat()}): give its time zone")
    return t


def _minus(
    a: datetime, b: datetime, cut: Sequence[tuple[datetime, datetime | None]]
) -> Iterator[tuple[datetime, datetime]]:
    """``[a, b)`` without the stopped spans."""
    pieces = [(a, b)] if a < b else []
    for s, e in cut:
        nxt: list[tuple[datetime, datetime]] = []
        for x, y in pieces:
            if (e is not None and e <= x) or s >= y:
                nxt.append((x, y))
                continue
            if x < s:
                nxt.append((x, s))
            if e is not None and e < y:
                nxt.append((e, y))
        pieces = nxt
    yield from pieces


@dataclass(frozen=True, slots=True)
class Deadline:
    """A ticket's deadline asked at ``now``."""

    #: When it is due (UTC); ``None`` while the clock is stopped for good (an open stop
    #: before the limit is reached: nothing can be overdue while it waits).
    due_at: datetime | None
    #: Working-clock time from now to ``due_at`` (negative: overdue by that much working
    #: time); while stopped for good, what is left of the limit.
    remaining: timedelta
    due_soon: bool
    overdue: bool


def working_time(
    start: datetime,
    end: datetime,
    unit: Unit,
    stops: Sequence[Stop] = (),
    office_hours: tuple[tuple[time, time], ...] = OFFICE_HOURS,
) -> timedelta:
    """The working-clock time from ``start`` to ``end``."""
    return _worked(Clock(unit, office_hours), start, end, stops)


def _worked(clock: Clock, start: datetime, end: datetime, stops: Sequence[Stop]) -> timedelta:
    return sum((b - a for a, b in clock.running(start, stops, end)), timedelta())


def deadline(
    start: datetime,
    limit: Limit,
    now: datetime,
    *,
    extension: int = 0,
    stops: Sequence[Stop] = (),
    soon: timedelta | None = None,
    office_hours: tuple[tuple[time, time], ...] = OFFICE_HOURS,
) -> Deadline:
    """The deadline of a ticket started at ``start`` (dispatch) with ``limit`` and
    ``extension`` more units granted, asked at ``now``.

    ``soon``: working-clock time left under which it is *due soon* (default: one working day
    for a limit in days, one working hour for a limit in hours).
    """
    clock = Clock(limit.unit, office_hours)
    total = Limit(limit.amount + extension, limit.unit).span
    if soon is None:
        soon = DAY if limit.unit is Unit.WORKING_DAYS else timedelta(hours=1)
    due_at = _reach(clock, start, stops, total)
    if due_at is None:  # stopped for now: what is left of the limit
        remaining = total - _worked(clock, start, now, stops)
    elif _aware(now) <= due_at:
        remaining = _worked(clock, now, due_at, stops)
    else:
        remaining = -_worked(clock, due_at, now, stops)
    overdue = due_at is not None and _aware(now) > due_at
    return Deadline(
        due_at=due_at.astimezone(UTC) if due_at else None,
        remaining=remaining,
        due_soon=not overdue and remaining <= soon,
        overdue=overdue,
    )


def _reach(
    clock: Clock, start: datetime, stops: Sequence[Stop], total: timedelta
) -> datetime | None:
    left = total
    for a, b in clock.running(start, stops):
        if b - a >= left:
            at = a + left
            if clock.unit is Unit.WORKING_DAYS:  # to the end of that working day
                day = (at - timedelta(microseconds=1)).astimezone(HOTLINE_TZ).date()
                return datetime.combine(day, time(0), HOTLINE_TZ) + DAY
            return at
        left -= b - a
    if any(s.end is None for s in stops):
        return None
    raise ValueError(f"limit: {total} of working time is not reached within {HORIZON_DAYS} days")
