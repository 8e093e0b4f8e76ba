"""The monthly report from the store, on SQLite and PostgreSQL: a month of tickets taken
through the real workflow (tests/metrics/month.py) gives the hand-counted figures."""

from __future__ import annotations

import pytest

from config.report import ReportRules
from metrics.kpi_queries import report_of_month
from tests.metrics.month import AS_OF, EXPECTED, MONTH, seed
from tickets.db import session_factory

RULES = ReportRules(penalties={"late": 0.01, "missed": 0.01, "erroneous": 0.01})


async def test_the_seeded_month_gives_the_hand_counts(engine) -> None:
    sessions = session_factory(engine)
    await seed(sessions)
    async with sessions() as s:
        report = await report_of_month(s, MONTH, RULES, AS_OF)
    rows = {r.department: r for r in report.departments}
    assert set(rows) == {"water", "urban"}
    for dept, counts in EXPECTED.items():
        got = {name: getattr(rows[dept], name) for name in counts}
        assert got == counts, dept
    water, urban = rows["water"], rows["urban"]
    assert water.timely_acceptance == pytest.approx(4 / 6)
    assert water.completion_on_time == pytest.approx(3 / 5)
    assert water.satisfaction == pytest.approx(2 / 3)
    assert water.callback == pytest.approx(3 / 4)
    assert water.late_per_thousand == pytest.approx(400.0)
    assert water.missed_per_thousand == pytest.approx(1000 / 6)
    assert water.erroneous_per_thousand == pytest.approx(1000 / 6)
    # 100 * (20 * 4/6 + 40 * 3/5 + 30 * 2/3 + 10 * 3/4) / 100 - 0.01 * (400 + 2 * 1000/6)
    assert water.index == pytest.approx(64.8333333 - 7.3333333)
    assert urban.index == pytest.approx(100.0)
    assert [(r.department, r.rank) for r in report.departments] == [("urban", 1), ("water", 2)]
    c = report.centre
    assert (c.dispatched, c.accepted_timely, c.judged_acceptance) == (8, 5, 7)
    assert (c.on_time, c.late, c.replied, c.called_back, c.satisfied) == (4, 2, 5, 4, 3)
    calls = report.centre_calls
    assert (calls.offered, calls.answered, calls.resolved_on_call) == (10, 8, 2)
    assert calls.answer_rate == pytest.approx(0.8)
    assert calls.instant_resolution == pytest.approx(2 / 8)
