"""Deadlines on China's working calendar: holidays skipped, make-up weekend days counted,
office hours for limits in hours, the clock stopped while an extension waits, extensions
added, and due soon / overdue computed from the facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.traffic import HOTLINE_TZ
from tickets.deadlines import Limit, Stop, Unit, deadline, working_time


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=HOTLINE_TZ)


def test_working_days_skip_the_national_day_holiday_and_count_the_make_up_saturday() -> None:
    # Wed 30 Sep 2026; 1-7 Oct off; Thu 8, Fri 9 and Saturday 10 Oct (made a working day)
    d = deadline(local(2026, 9, 30, 10), Limit(3), now=local(2026, 9, 30, 11))
    assert d.due_at == local(2026, 10, 11).astimezone(UTC)  # the end of Saturday 10 October
    assert not d.overdue and not d.due_soon
    # an ordinary week: Monday 10:00 + 2 working days is the end of Wednesday
    d = deadline(local(2026, 11, 23, 10), Limit(2), now=local(2026, 11, 23, 10))
    assert d.due_at == local(2026, 11, 26).astimezone(UTC)


def test_a_start_on_a_holiday_counts_from_the_next_working_day() -> None:
    d = deadline(local(2026, 10, 3, 15), Limit(1), now=local(2026, 10, 3, 15))
    assert d.due_at == local(2026, 10, 9).astimezone(UTC)  # the end of Thursday 8 October
    assert d.remaining == timedelta(days=1)


def test_due_soon_then_overdue_by_working_time() -> None:
    start, limit = local(2026, 11, 23, 10), Limit(2)  # due at the end of Wed 25 Nov
    assert not deadline(start, limit, now=local(2026, 11, 24, 12)).due_soon
    soon = deadline(start, limit, now=local(2026, 11, 25, 9))
    assert soon.due_soon and not soon.overdue and soon.remaining == timedelta(hours=15)
    late = deadline(start, limit, now=local(2026, 11, 28, 12))  # Saturday: no working time
    assert late.overdue and not late.due_soon
    assert late.remaining == -timedelta(days=2)  # Thursday and Friday


def test_working_hours_run_inside_office_hours_only() -> None:
    # Friday 16:30 + 4 working hours: 1 h on Friday, then Monday 08:30-11:30
    d = deadline(
        local(2026, 11, 27, 16, 30), Limit(4, Unit.WORKING_HOURS), now=local(2026, 11, 27, 17)
    )
    assert d.due_at == local(2026, 11, 30, 11, 30).astimezone(UTC)
    assert d.remaining == timedelta(hours=3, minutes=30)
    assert not d.due_soon
    lunch = deadline(
        local(2026, 11, 30, 11), Limit(2, Unit.WORKING_HOURS), now=local(2026, 11, 30, 11)
    )
    # 11:00-12:00, lunch, then 13:30-14:30
    assert lunch.due_at == local(2026, 11, 30, 14, 30).astimezone(UTC)


def test_the_clock_stops_while_an_extension_waits_and_granted_days_are_added() -> None:
    start = local(2026, 11, 23, 10)  # Monday, 2 working days: the end of Wednesday
    asked = Stop(local(2026, 11, 24, 0), local(2026, 11, 25, 0))  # all of Tuesday stopped
    d = deadline(start, Limit(2), now=local(2026, 11, 24, 12), stops=[asked])
    assert d.due_at == local(2026, 11, 27).astimezone(UTC)  # the end of Thursday
    d = deadline(start, Limit(2), now=local(2026, 11, 24, 12), stops=[asked], extension=3)
    assert d.due_at == local(2026, 12, 2).astimezone(UTC)  # Fri, Mon, Tue more
    still = deadline(start, Limit(2), now=local(2026, 12, 9), stops=[Stop(local(2026, 11, 24))])
    assert still.due_at is None and not still.overdue
    assert still.remaining == timedelta(days=2) - timedelta(hours=14)


def test_naive_times_and_empty_limits_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        deadline(datetime(2026, 11, 23, 10), Limit(1), now=local(2026, 11, 23))
    with pytest.raises(ValueError, match="amount: a limit is at least 1"):
        Limit(0)


@settings(max_examples=150, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 1)),
    amount=st.integers(1, 15),
    hours=st.booleans(),
)
def test_the_due_time_is_where_the_working_clock_reaches_the_limit(
    start: datetime, amount: int, hours: bool
) -> None:
    unit = Unit.WORKING_HOURS if hours else Unit.WORKING_DAYS
    began = start.replace(tzinfo=HOTLINE_TZ)
    d = deadline(began, Limit(amount, unit), now=began)
    assert d.due_at is not None
    span = Limit(amount, unit).span
    worked = working_time(began, d.due_at, unit)
    if hours:
        assert worked == span
    else:  # to the end of the working day the limit is reached in: less than a day more
        assert span <= worked < span + timedelta(days=1)
        assert d.due_at.astimezone(HOTLINE_TZ).time().hour == 0
    assert deadline(began, Limit(amount, unit), now=d.due_at).overdue is False
    assert deadline(began, Limit(amount, unit), now=d.due_at + timedelta(seconds=1)).overdue
