"""The traffic model (config/traffic.yaml, config/traffic.py)."""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path

import pytest

from config.traffic import (
    HOTLINE_TZ,
    Exponential,
    Fixed,
    LogNormal,
    TrafficConfigError,
    day_kind,
    load_traffic,
)

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "traffic.yaml"


def test_the_shipped_model_loads_and_peaks_when_the_city_calls() -> None:
    m = load_traffic()
    assert {"workday", "restday", "flat"} <= set(m.profiles)
    shares = m.profiles["workday"].shares
    assert sum(shares) == pytest.approx(1.0)
    top4 = sorted(range(24), key=lambda h: shares[h], reverse=True)[:4]
    assert set(top4) == {9, 10, 14, 15}
    assert m.days["weekend"].volume < 1 and m.days["holiday"].volume < 1
    assert sum(m.hourly_calls("workday")) == pytest.approx(m.calls_per_day)
    assert m.service_time_s == pytest.approx(m.talk.mean + m.wrapup.mean)
    assert set(m.ivr["district"]) == {
        "city",
        "xiaoshan",
        "yuhang",
        "fuyang",
        "tonglu",
        "chunan",
        "jiande",
        "linan",
    }


def test_day_kinds_follow_the_chinese_calendar() -> None:
    assert day_kind(date(2025, 10, 1)) == "holiday"  # National Day
    assert day_kind(date(2025, 9, 27)) == "weekend"  # a Saturday
    assert day_kind(date(2025, 9, 28)) == "workday"  # a Sunday made a working day (调休)
    assert day_kind(date(2025, 9, 30)) == "workday"
    assert day_kind(date(2099, 1, 5)) == "workday"  # past the calendar: Monday to Friday
    assert day_kind(date(2099, 1, 4)) == "weekend"


def test_distributions_have_their_means() -> None:
    rng = random.Random(3)
    for d in (
        Exponential(mean_s=120),
        LogNormal(mean_s=180, sigma=0.6),
        LogNormal(median_s=600, sigma=1.0),
        Fixed(value_s=10),
    ):
        xs = [d.sample(rng) for _ in range(40_000)]
        assert sum(xs) / len(xs) == pytest.approx(d.mean, rel=0.03)
    assert LogNormal(median_s=600, sigma=1.0).mean == pytest.approx(600 * 1.6487, rel=1e-3)
    with pytest.raises(ValueError, match="exactly one"):
        LogNormal(mean_s=1, median_s=1, sigma=1)


def test_a_plan_has_hourly_rates_from_the_calendar() -> None:
    m = load_traffic()
    start = datetime(2025, 9, 30, 8, 30, tzinfo=HOTLINE_TZ).timestamp()  # a working day
    plan = m.plan(start, 2.0)
    per_hour = m.hourly_calls("workday")
    assert [round(b - a) for a, b, _ in plan.segments] == [1800, 3600, 1800]
    assert plan.segments[1][2] * 3600 == pytest.approx(per_hour[9])
    assert plan.expected_calls == pytest.approx(per_hour[8] / 2 + per_hour[9] + per_hour[10] / 2)
    holiday = m.plan(datetime(2025, 10, 1, 9, tzinfo=HOTLINE_TZ).timestamp(), 1.0)
    expect = m.calls_per_day * m.days["holiday"].volume * m.profiles["restday"].shares[9]
    assert holiday.expected_calls == pytest.approx(expect)
    flat = m.plan(start, 3.0, profile="flat", calls_per_hour=600)
    assert len(flat.segments) == 1 and flat.expected_calls == pytest.approx(1800)
    with pytest.raises(ValueError, match="flat profile"):
        m.plan(start, 1.0, profile="workday", calls_per_hour=600)
    with pytest.raises(KeyError, match="no traffic profile"):
        m.plan(start, 1.0, profile="lunar")


def test_next_arrival_inverts_the_cumulative_rate() -> None:
    m = load_traffic()
    start = datetime(2025, 9, 30, 0, tzinfo=HOTLINE_TZ).timestamp()
    plan = m.plan(start, 24.0, calls_per_day=50_000, repeats=False)
    rng = random.Random(5)
    t, counts = plan.start, [0] * 24
    while (t := plan.next_arrival(t, rng)) is not None:
        counts[int((t - plan.start) // 3600)] += 1
    for h, n in enumerate(counts):
        mean = m.hourly_calls("workday", 50_000)[h]
        assert abs(n - mean) < 5 * mean**0.5 + 1, (h, n, mean)


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "traffic.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_errors_name_the_file_the_line_and_the_fix(tmp_path: Path) -> None:
    good = SHIPPED.read_text(encoding="utf-8")
    bad = good.replace(
        "patience: {dist: exponential, mean_s: 120}", "patience: {dist: exponential, mean_s: -5}"
    )
    with pytest.raises(TrafficConfigError) as e:
        load_traffic(write(tmp_path, bad))
    line = next(i for i, s in enumerate(bad.splitlines(), 1) if s.startswith("patience:"))
    msg = str(e.value)
    assert f"traffic.yaml:{line}:" in msg and "patience.mean_s" in msg and "fix:" in msg

    bad = good.replace("wrapup: {dist: fixed, value_s: 10}", "wrapup: {dist: gamma, value_s: 10}")
    with pytest.raises(TrafficConfigError, match=r"wrapup.*\n.*fix: use dist: exponential"):
        load_traffic(write(tmp_path, bad))

    bad = good.replace("weekend: {profile: restday", "weekend: {profile: sunday")
    with pytest.raises(TrafficConfigError, match="'sunday' is not a profile"):
        load_traffic(write(tmp_path, bad))

    bad = good.replace(
        "hours: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]",
        "hours: [1, 2]",
    )
    with pytest.raises(TrafficConfigError, match="needs 24 hourly weights"):
        load_traffic(write(tmp_path, bad))

    bad = good.replace("calls_per_day: 14000", "calls_per_day: 14000\ncals_per_hour: 3")
    with pytest.raises(TrafficConfigError, match=r"cals_per_hour.*\n.*remove"):
        load_traffic(write(tmp_path, bad))

    with pytest.raises(TrafficConfigError, match=r"traffic.yaml:\d+: error: not valid YAML"):
        load_traffic(write(tmp_path, "calls_per_day: [1, 2\n"))

    with pytest.raises(TrafficConfigError, match="file not found"):
        load_traffic(tmp_path / "nowhere.yaml")
