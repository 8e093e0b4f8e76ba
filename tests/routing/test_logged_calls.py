"""The queue_log folded into answered stays (routing.logged_calls), on Asterisk's own rows."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from pbx.queue_log import QueueLogRow, parse_line
from routing.logged_calls import StayFolder
from tests.traces import traces_dir


def rows_of(name: str) -> list[QueueLogRow]:
    text = (traces_dir() / f"{name}.queue_log").read_text("utf-8")
    return [parse_line(line, n) for n, line in enumerate(text.splitlines(), 1) if line]


def fold(rows: list[QueueLogRow]) -> tuple[list, StayFolder]:
    f = StayFolder()
    return [s for r in rows for s in f.feed(r)], f


def test_recorded_wrapup_scenario_gives_every_answered_call_with_its_figures() -> None:
    stays, f = fold(rows_of("wrapup"))
    rows = rows_of("wrapup")
    connects = [r for r in rows if r.event == "CONNECT"]
    assert [s.callid for s in stays] == [r.callid for r in rows if r.event.startswith("COMPLETE")]
    assert {s.callid for s in stays} == {r.callid for r in connects}
    first = stays[0]
    assert (first.queue, first.member, first.caller_num) == ("wrapup", "Agent 8001", "13800001234")
    assert (first.hold_s, first.talk_s, first.ended_by) == (1.0, 4.0, "COMPLETEAGENT")
    assert first.joined_at <= first.answered_at <= first.ended_at
    assert f.open_count == 0 and f.low_water() is None and not f.anomalies


def test_a_timeout_or_an_abandon_is_no_answered_stay() -> None:
    stays, f = fold(rows_of("qtimeout"))
    timed_out = {r.callid for r in rows_of("qtimeout") if r.event == "EXITWITHTIMEOUT"}
    assert timed_out and not timed_out & {s.callid for s in stays}
    assert f.open_count == 0


def _row(
    i: int, at: float, callid: str, event: str, *data: str, agent: str = "NONE"
) -> QueueLogRow:
    return QueueLogRow(i, at, callid, "hotline", agent, event, data)


def test_a_restart_ends_the_talking_call_at_the_restart_and_drops_the_waiting_one() -> None:
    rows = [
        _row(1, 100.0, "1.1", "ENTERQUEUE", "", "13900000001", "1"),
        _row(2, 101.0, "1.3", "ENTERQUEUE", "", "13900000002", "2"),
        _row(3, 103.0, "1.1", "CONNECT", "3", "1.2", "1", agent="Agent 8001"),
        QueueLogRow(4, 150.0, "NONE", "NONE", "NONE", "QUEUESTART"),
    ]
    stays, f = fold(rows)
    assert len(stays) == 1
    s = stays[0]
    assert (s.callid, s.ended_by, s.ended_at, s.talk_s) == ("1.1", "QUEUESTART", 150.0, 47.0)
    assert f.open_count == 0


def test_rows_starting_mid_stay_still_give_the_call() -> None:
    # CONNECT without ENTERQUEUE: joined hold seconds before; an end without CONNECT:
    # answered talk seconds before the end.
    stays, _ = fold(
        [
            _row(7, 200.0, "2.1", "CONNECT", "12", "2.2", "1", agent="Agent 8002"),
            _row(8, 260.0, "2.1", "COMPLETECALLER", "12", "60", "1", agent="Agent 8002"),
            _row(9, 300.0, "3.1", "COMPLETEAGENT", "5", "30", "1", agent="Agent 8003"),
        ]
    )
    a, b = stays
    assert (a.joined_at, a.answered_at, a.ended_at, a.caller_num) == (188.0, 200.0, 260.0, "")
    assert (b.joined_at, b.answered_at, b.ended_at, b.member) == (265.0, 270.0, 300.0, "Agent 8003")


def test_low_water_is_the_first_row_of_the_oldest_open_stay() -> None:
    f = StayFolder()
    f.feed(_row(10, 1.0, "a", "ENTERQUEUE", "", "1", "1"))
    f.feed(_row(11, 2.0, "b", "ENTERQUEUE", "", "2", "2"))
    assert f.low_water() == 10
    f.feed(_row(12, 3.0, "a", "ABANDON", "1", "1", "2"))
    assert f.low_water() == 11
    assert f.drop_open_before(2.5) == 1 and f.low_water() is None


def _day(seed: int, calls: int) -> list[QueueLogRow]:
    """A seeded stream of stays (answered, abandoned, timed out), interleaved as in a queue."""
    rng = random.Random(seed)
    events: list[tuple[float, str, str, tuple[str, ...], str]] = []
    for n in range(calls):
        uid = f"1700000000.{n}"
        t = n * rng.uniform(1, 20)
        events.append((t, uid, "ENTERQUEUE", ("", f"1390000{n:04d}", "1"), "NONE"))
        wait = rng.uniform(0, 60)
        fate = rng.random()
        if fate < 0.8:
            talk = rng.uniform(10, 300)
            agent = f"Agent {8000 + n % 5}"
            events.append((t + wait, uid, "CONNECT", (str(round(wait)), uid + "x", "2"), agent))
            events.append(
                (
                    t + wait + talk,
                    uid,
                    "COMPLETEAGENT",
                    (str(round(wait)), str(round(talk)), "1"),
                    agent,
                )
            )
        else:
            events.append((t + wait, uid, "ABANDON", ("1", "1", str(round(wait))), "NONE"))
    events.sort(key=lambda e: e[0])
    return [
        QueueLogRow(i + 1, t, uid, "hotline", agent, ev, data)
        for i, (t, uid, ev, data, agent) in enumerate(events)
    ]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), cuts=st.lists(st.integers(1, 400), max_size=6))
def test_reading_in_pieces_from_the_low_water_mark_finds_every_stay_once(seed, cuts) -> None:
    """A reader that stops anywhere and starts again at its cursor (the low-water mark, or
    the last id read when nothing is open) finds each answered stay, at least once and
    complete; the backfill's ticket check makes it exactly once."""
    rows = _day(seed, 60)
    whole = {s.callid: s for s in fold(rows)[0]}
    found: dict[str, object] = {}
    cursor = 0
    for cut in [*sorted(cuts), len(rows)]:
        f = StayFolder()
        read = [r for r in rows if cursor < r.id <= cut]
        for r in read:
            for s in f.feed(r):
                found.setdefault(s.callid, s)
        if read:
            low = f.low_water()
            cursor = read[-1].id if low is None else max(cursor, low - 1)
    assert found == whole
