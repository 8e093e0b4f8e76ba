"""The early warning's rule (tickets/bursts.py): the binomial tail against hand-computed and
exact values, the three conditions of a burst each able to refuse one, the tracker's one
alert per burst, and the baseline's days of the same kind."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from math import comb

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickets.bursts import Key, Rule, Tracker, baseline_dates, judge, upper_tail

M = Key("matter", "ZJ-001")
D = Key("district", "fuyang")


def exact_tail(k: int, n: int, p: Fraction) -> float:
    return float(sum(comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(max(k, 0), n + 1)))


def test_the_tail_of_hand_computed_cases() -> None:
    # P(X >= 1), X ~ Bin(3, 1/2): 1 - 1/8
    assert upper_tail(1, 3, 0.5) == pytest.approx(0.875, rel=1e-12)
    # P(X >= 3), X ~ Bin(10, 0.1) = 1 - 0.9^10 - 10 * 0.1 * 0.9^9 - 45 * 0.01 * 0.9^8
    assert upper_tail(3, 10, 0.1) == pytest.approx(0.0701908264, rel=1e-9)
    # all of 5 tickets today against 14 earlier days with none: (1/15)^5
    assert upper_tail(5, 5, 1 / 15) == pytest.approx(15.0**-5, rel=1e-12)
    assert upper_tail(0, 5, 0.3) == 1.0 and upper_tail(6, 5, 0.3) == 0.0


@given(
    n=st.integers(0, 60),
    k=st.integers(-1, 62),
    p=st.fractions(min_value=Fraction(1, 61), max_value=Fraction(60, 61), max_denominator=61),
)
def test_the_tail_is_the_exact_sum(n: int, k: int, p: Fraction) -> None:
    expected = 0.0 if k > n else exact_tail(k, n, p)
    assert upper_tail(k, n, float(p)) == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_a_burst_needs_all_three_conditions() -> None:
    rule = Rule(min_count=10, min_ratio=2.0, alpha=1e-7)
    # usually 1 an hour (14 in 14 days), 12 now: P = P(Bin(26, 1/15) >= 12) = 3.07e-8
    j = judge(rule, M, 12, 14, 14)
    assert j.burst and j.p_value == pytest.approx(exact_tail(12, 26, Fraction(1, 15)), rel=1e-9)
    assert j.expected == 1.0
    # 9 of a usual 0.07: as unusual as it gets, but under min_count
    j = judge(rule, M, 9, 1, 14)
    assert j.p_value < 1e-9 and not j.burst
    # a big district: 600 against a usual 400 is far past chance (p ~ 1e-20) but 1.5 times
    j = judge(rule, D, 600, 5600, 14)
    assert j.p_value < 1e-15 and not j.burst
    assert judge(rule, D, 800, 5600, 14).burst
    # twice a usual 5 (10 in an hour): p ~ 0.02, chance
    j = judge(rule, M, 10, 70, 14)
    assert not j.burst and 1e-3 < j.p_value < 0.1
    with pytest.raises(ValueError):
        judge(rule, M, 10, 0, 0)


@given(
    count=st.integers(0, 400),
    baseline=st.integers(0, 3000),
    days=st.integers(1, 30),
)
def test_more_tickets_now_never_end_a_burst_and_more_before_never_start_one(
    count: int, baseline: int, days: int
) -> None:
    rule = Rule()
    j = judge(rule, M, count, baseline, days)
    more_now = judge(rule, M, count + 1, baseline, days)
    more_before = judge(rule, M, count, baseline + 1, days)
    assert more_now.p_value <= j.p_value * (1 + 1e-9) + 1e-300
    assert more_before.p_value >= j.p_value * (1 - 1e-9)
    if j.burst:
        assert more_now.burst
    if more_before.burst:
        assert j.burst


def test_one_alert_per_burst_and_its_end() -> None:
    rule = Rule(min_count=10, min_ratio=2.0, alpha=1e-7, clear_alpha=1e-2)
    tracker = Tracker(rule)
    usual = 14  # 1 an hour over 14 days

    def check(at: float, count: int) -> list[tuple[str, float]]:
        j = judge(rule, M, count, usual, 14)
        return [(c.state, c.burst.started_at) for c in tracker.update(at, [j])]

    assert check(0, 3) == []
    assert check(300, 12) == [("started", 300)]  # p 3e-8
    assert check(600, 20) == []  # going on: no second alert
    assert check(900, 6) == []  # p = P(Bin(20, 1/15) >= 6) ~ 4e-3: not over the clearing level
    assert tracker.active_by_dimension() == {"matter": 1, "district": 0}
    assert check(1200, 4) == [("ended", 300)]  # p ~ 0.04
    assert check(1500, 12) == [("started", 1500)]  # a new burst
    assert tracker.started == {"matter": 2}
    # a key in a burst that is not judged any more ended with no ticket
    changes = tracker.update(1800, [])
    assert [(c.state, c.latest.count) for c in changes] == [("ended", 0)]


def test_the_rule_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        Rule(alpha=0.05, clear_alpha=0.01)
    with pytest.raises(ValueError):
        Rule(min_ratio=0.5)
    with pytest.raises(ValueError):
        Rule(min_count=0)


def test_the_baseline_days_are_of_the_same_kind() -> None:
    def kind(d: date) -> str:
        return "holiday" if d == date(2026, 11, 25) else "workday" if d.weekday() < 5 else "weekend"

    monday = date(2026, 11, 30)
    assert baseline_dates(monday, 3, kind) == [
        date(2026, 11, 27),
        date(2026, 11, 26),
        date(2026, 11, 24),  # Wednesday the 25th a holiday: a rest day
    ]
    sunday = date(2026, 11, 29)
    assert baseline_dates(sunday, 3, kind) == [
        date(2026, 11, 28),
        date(2026, 11, 25),  # the holiday is a rest day like a weekend
        date(2026, 11, 22),
    ]
    assert len(baseline_dates(sunday, 30, kind, lookback_days=14)) == 5
