"""Caller streams from a day plan (config/traffic.py): replay, IVR choices, repeat callers."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from config.traffic import HOTLINE_TZ, load_traffic
from pbx.simulator.config import SimulatorConfig
from pbx.simulator.core import PbxCore
from pbx.simulator.desclock import DesClock
from pbx.simulator.traffic import TrafficSpec, TrafficStream

START = datetime(2025, 9, 30, 8, tzinfo=HOTLINE_TZ).timestamp()  # a working day


def run_day(seed: int, hours: float = 3.0, seats: int = 40, **plan_kw):
    model = load_traffic()
    plan_kw.setdefault("calls_per_day", 6000)
    plan = model.plan(START, hours, **plan_kw)
    clock = DesClock(START)
    seen: list[dict] = []
    core = PbxCore(clock, lambda h: None, SimulatorConfig(ring_time_s=0.0))
    core.add_queue("hotline", wrapuptime=0.0)
    for i in range(seats):
        core.add_member("hotline", f"Local/{8001 + i}@agents/n", membership="static", event=False)
    original = core.caller_arrive

    def spy(*args, **kw):
        seen.append(kw.get("attrs") or kw.get("extra") or {})
        return original(*args, **kw)

    core.caller_arrive = spy  # type: ignore[method-assign]
    stream = TrafficStream(core, clock, TrafficSpec(plan=plan, keep_records=True), "hotline", seed)
    clock.run_until_idle()
    return model, plan, stream, seen


def key(stream: TrafficStream) -> list[tuple]:
    return [
        (
            r.num,
            r.name,
            r.arrived_at,
            r.patience,
            r.talk,
            r.hangup_by,
            tuple(r.ivr_choice.items()),
            r.attempt,
            r.outcome,
            r.left_at,
        )
        for r in stream.records
    ]


async def test_a_configured_day_replays_identically_for_a_seed() -> None:
    _, _, a, _ = run_day(7)
    _, _, b, _ = run_day(7)
    _, _, c, _ = run_day(8)
    assert key(a) == key(b)
    assert key(a) != key(c)
    assert a.done.done() and a.done.result()["arrived"] == len(a.records)


async def test_arrivals_ivr_choices_and_repeats() -> None:
    model, plan, s, seen = run_day(3, hours=4.0, seats=25)
    first = [r for r in s.records if r.attempt == 1]
    assert abs(len(first) - plan.expected_calls) < 5 * plan.expected_calls**0.5
    # IVR choices in their configured shares, passed on to the core with each caller
    got = Counter(r.ivr_choice["service"] for r in first)
    shares = model.ivr["service"]
    total = sum(shares.values())
    for option, share in shares.items():
        assert got[option] / len(first) == pytest.approx(share / total, abs=0.03)
    if seen and seen[0]:  # the core takes the caller's attributes
        assert seen[0]["ivr_choice"] == s.records[0].ivr_choice
    # repeat callers: same number and name, later, after their previous call ended
    repeats = [r for r in s.records if r.attempt > 1]
    assert repeats and s.summary()["repeats"] == len(repeats)
    by_num: dict[str, list] = {}
    for r in s.records:
        by_num.setdefault(r.num, []).append(r)
    for r in repeats:
        calls = by_num[r.num]
        prev = calls[calls.index(r) - 1]
        assert prev.attempt == r.attempt - 1 and prev.name == r.name
        assert r.arrived_at > prev.left_at  # type: ignore[operator]
        assert r.attempt <= model.repeat.max_calls
    abandoned_first = sum(1 for r in first if r.outcome == "abandoned")
    answered_first = sum(1 for r in first if r.outcome == "answered")
    expected = (
        model.repeat.after_abandon * abandoned_first + model.repeat.after_answer * answered_first
    )
    second = sum(1 for r in repeats if r.attempt == 2)
    assert second <= expected + 5 * expected**0.5  # some fall past the end of the plan


async def test_no_repeats_when_asked_and_a_call_cap() -> None:
    _, _, s, _ = run_day(4, repeats=False)
    assert all(r.attempt == 1 for r in s.records)
    model = load_traffic()
    capped = model.plan(START, 3.0, repeats=False)
    clock = DesClock(START)
    core = PbxCore(clock, lambda h: None, SimulatorConfig(ring_time_s=0.0))
    core.add_queue("hotline")
    core.add_member("hotline", "Local/8001@agents/n", membership="static", event=False)
    stream = TrafficStream(core, clock, TrafficSpec(plan=capped, calls=25), "hotline", 1)
    clock.run_until_idle()
    assert stream.done.result()["arrived"] == 25
    assert TrafficSpec(plan=capped, calls=25).expected_calls == 25


async def test_the_simple_spec_still_counts_its_calls() -> None:
    clock = DesClock(START)
    core = PbxCore(clock, lambda h: None, SimulatorConfig(ring_time_s=0.0))
    core.add_queue("hotline")
    for i in range(5):
        core.add_member("hotline", f"Local/{8001 + i}@agents/n", membership="static", event=False)
    spec = TrafficSpec(calls=200, hours=0.2, start_at=START)
    stream = TrafficStream(core, clock, spec, "hotline", 2)
    clock.run_until_idle()
    result = stream.done.result()
    assert result["arrived"] == 200 == result["answered"] + result["abandoned"]
    assert "repeats" not in result and stream.records == []
