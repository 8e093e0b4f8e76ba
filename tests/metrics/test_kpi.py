"""The monthly report's figures (metrics.kpi), pure: each verdict, rate, the efficiency index
and the ranking on facts whose answers are counted by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.report import ReportRules
from metrics.kpi import (
    CentreCalls,
    DepartmentKpi,
    Dispatch,
    due_at,
    efficiency_index,
    judge,
    month_bounds,
    monthly_report,
    rank,
)
from tickets.deadlines import Limit, Stop, Unit, deadline

# Monday 2 November 2026 10:00 at UTC+8 (no holiday that month)
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
FIVE = Limit(5, Unit.WORKING_DAYS)
ONE = Limit(1, Unit.WORKING_DAYS)
END_TUE = datetime(2026, 11, 3, 16, 0, tzinfo=UTC)  # 24:00 Tuesday 3 November, UTC+8
END_MON9 = datetime(2026, 11, 9, 16, 0, tzinfo=UTC)  # 24:00 Monday 9 November
LATER = datetime(2026, 12, 1, tzinfo=UTC)


def test_a_month_is_its_local_bounds_and_a_bad_one_is_named() -> None:
    assert month_bounds("2026-12") == (
        datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 16, 0, tzinfo=UTC),
    )
    for bad in ("2026-13", "2026-00", "2026-1", "26-11", "1999-12", "2026-11-01", ""):
        with pytest.raises(ValueError, match=f"month: {bad!r} is not a month"):
            month_bounds(bad)


def test_due_times_are_the_ends_of_working_days() -> None:
    assert due_at(T0, ONE) == END_TUE
    assert due_at(T0, FIVE) == END_MON9
    assert due_at(T0, FIVE, extension=2) == datetime(2026, 11, 11, 16, 0, tzinfo=UTC)
    # Saturday 7th: the clock starts Monday 9th, five working days end Friday 13th
    assert due_at(datetime(2026, 11, 7, 2, tzinfo=UTC), FIVE) == datetime(
        2026, 11, 13, 16, 0, tzinfo=UTC
    )
    # a day stopped (Wednesday 10:00 to Thursday 10:00) moves it a day
    stop = Stop(T0 + 2 * DAY, T0 + 3 * DAY)
    assert due_at(T0, FIVE, stops=(stop,)) == datetime(2026, 11, 10, 16, 0, tzinfo=UTC)


@given(
    minutes=st.integers(0, 60 * 24 * 60),
    amount=st.integers(1, 15),
    extension=st.integers(0, 5),
)
def test_the_cached_due_time_is_the_deadlines_own(
    minutes: int, amount: int, extension: int
) -> None:
    """The cache keys on the local day and midnight: any start gives deadline()'s answer."""
    start = datetime(2026, 9, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    if minutes % 7 == 0:  # local midnight exactly, a case of its own
        start = start.replace(hour=16, minute=0)
    limit = Limit(amount, Unit.WORKING_DAYS)
    expected = deadline(start, Limit(amount + extension, Unit.WORKING_DAYS), start).due_at
    assert due_at(start, limit, extension) == expected


def _d(**kw: object) -> Dispatch:
    base: dict[str, object] = {"ticket_id": 1, "department": "water", "dispatched_at": T0}
    base["limit"] = FIVE
    return Dispatch(**(base | kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("facts", "acceptance", "completion"),
    [
        ({"answered_at": END_TUE, "replied_at": END_MON9}, "timely", "on_time"),
        ({"answered_at": END_TUE + HOUR, "replied_at": END_MON9 + HOUR}, "late", "late"),
        ({}, "missed", "late"),
        ({"answered_at": T0 + HOUR, "returned": True}, "timely", None),
        ({"answered_at": T0 + HOUR, "merged": True}, "timely", None),
        ({"merged": True}, "pending", None),
        # granted days are honoured
        ({"answered_at": T0, "replied_at": END_MON9 + HOUR, "extension": 1}, "timely", "on_time"),
    ],
)
def test_a_dispatch_is_judged_as_of_the_report(
    facts: dict[str, object], acceptance: str, completion: str | None
) -> None:
    v = judge(_d(**facts), ONE, LATER)
    assert (v.acceptance, v.completion) == (acceptance, completion)


def test_nothing_is_late_before_its_limit_passes() -> None:
    v = judge(_d(), ONE, END_TUE - HOUR)
    assert (v.acceptance, v.completion) == ("pending", "pending")
    v = judge(_d(answered_at=T0 + HOUR), ONE, END_TUE + HOUR)
    assert (v.acceptance, v.completion) == ("timely", "pending")


def test_the_rates_and_per_thousands_of_a_department() -> None:
    k = DepartmentKpi("water")
    facts = [
        _d(answered_at=T0, replied_at=T0 + DAY, called_back_at=T0 + 2 * DAY, rating="satisfied"),
        _d(answered_at=T0, replied_at=T0 + DAY, called_back_at=T0 + 2 * DAY, rating="dissatisfied"),
        _d(answered_at=T0, replied_at=END_MON9 + DAY),
        _d(answered_at=T0 + HOUR, returned=True),
        _d(),
    ]
    for d in facts:
        k.add(d, judge(d, ONE, LATER))
    assert (k.dispatched, k.accepted_timely, k.missed, k.returned) == (5, 4, 1, 1)
    assert (k.on_time, k.late, k.replied, k.called_back, k.rated, k.satisfied) == (2, 2, 3, 2, 2, 1)
    assert k.timely_acceptance == pytest.approx(4 / 5)
    assert k.completion_on_time == pytest.approx(2 / 4)
    assert k.satisfaction == pytest.approx(1 / 2)
    assert k.callback == pytest.approx(2 / 3)
    assert k.late_per_thousand == pytest.approx(500.0)
    assert k.missed_per_thousand == pytest.approx(200.0)
    assert k.erroneous_per_thousand == pytest.approx(200.0)
    rules = ReportRules(penalties={"late": 0.01, "missed": 0.02, "erroneous": 0.05})
    # 100 * (20*0.8 + 40*0.5 + 30*0.5 + 10*2/3) / 100 = 57.6667; minus 5 + 4 + 10
    assert efficiency_index(k, rules) == pytest.approx(57.666667 - 19.0)
    assert efficiency_index(k, ReportRules()) == 0.0  # 0.5 a point per ‰: floored


def test_a_rate_with_nothing_to_judge_is_left_out_of_the_index() -> None:
    k = DepartmentKpi("water", dispatched=2, accepted_timely=1, missed=1, on_time=1)
    assert k.satisfaction is None and k.callback is None
    rules = ReportRules(penalties={"late": 0.0, "missed": 0.0, "erroneous": 0.0})
    # (20 * 0.5 + 40 * 1.0) / (20 + 40)
    assert efficiency_index(k, rules) == pytest.approx(100 * 50 / 60)
    assert efficiency_index(DepartmentKpi("idle"), rules) is None


def test_equal_indexes_share_a_rank_and_the_few_are_not_ranked() -> None:
    rows = [
        DepartmentKpi("a", dispatched=5, index=90.0),
        DepartmentKpi("b", dispatched=5, index=95.0),
        DepartmentKpi("c", dispatched=5, index=90.0),
        DepartmentKpi("d", dispatched=5, index=80.0),
        DepartmentKpi("e", dispatched=1, index=99.0),
        DepartmentKpi("f", dispatched=5, index=None),
    ]
    out = rank(rows, min_dispatched=2)
    assert [(r.department, r.rank) for r in out] == [
        ("b", 1),
        ("a", 2),
        ("c", 2),
        ("d", 4),
        ("e", None),
        ("f", None),
    ]


def test_the_centre_row_sums_the_departments() -> None:
    facts = [
        _d(answered_at=T0, replied_at=T0 + DAY),
        _d(department="urban", answered_at=T0, replied_at=T0 + DAY),
        _d(department="urban"),
    ]
    calls = CentreCalls(offered=100, answered=96, resolved_on_call=60)
    report = monthly_report("2026-11", facts, calls, ReportRules(), LATER, {"urban": "城管局"})
    assert (report.centre.dispatched, report.centre.on_time, report.centre.missed) == (3, 2, 1)
    assert [r.department for r in report.departments] == ["water", "urban"]
    assert report.name("urban") == "城管局" and report.name("water") == "water"
    assert calls.answer_rate == pytest.approx(0.96)
    assert calls.instant_resolution == pytest.approx(60 / 96)
    assert CentreCalls().answer_rate is None
