"""Overflow between centres, pure: the rules, a queue, a minute and the live state in; where
the caller goes out."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from config.overflow import MINUTES_A_DAY, OverflowRule, OverflowRules
from routing.overflow import REASONS, Overflow, Overflower, QueueLive, decide

DAY = OverflowRule(
    "xiaoshan", "hotline", no_ready_seat=True, longest_wait_s=60.0, window=(8 * 60, 21 * 60)
)
NIGHT = OverflowRule("hotline", "xiaoshan", no_ready_seat=True, window=(21 * 60, 8 * 60))
RULES = OverflowRules((DAY, NIGHT))
TEN = 10 * 60  # 10:00
ELEVEN_PM = 23 * 60


def live_of(**queues: QueueLive):
    return lambda q: queues.get(q, QueueLive(0))


def test_a_district_with_no_ready_seat_sends_its_caller_to_the_city_centre():
    live = live_of(xiaoshan=QueueLive(0, 5.0), hotline=QueueLive(3))
    assert decide(RULES, "xiaoshan", TEN, live) == Overflow("xiaoshan", "hotline", "no_ready_seat")


def test_a_long_wait_moves_callers_even_with_a_seat_ready():
    live = live_of(xiaoshan=QueueLive(1, 61.0), hotline=QueueLive(2))
    assert decide(RULES, "xiaoshan", TEN, live) == Overflow("xiaoshan", "hotline", "longest_wait")


def test_a_district_that_can_answer_keeps_its_caller():
    live = live_of(xiaoshan=QueueLive(2, 59.0), hotline=QueueLive(9))
    assert decide(RULES, "xiaoshan", TEN, live) is None


def test_never_into_a_queue_with_no_ready_seat():
    live = live_of(xiaoshan=QueueLive(0, 300.0), hotline=QueueLive(0, 10.0))
    assert decide(RULES, "xiaoshan", TEN, live) is None
    anyway = OverflowRules(
        (OverflowRule("xiaoshan", "hotline", longest_wait_s=60.0, target_ready=False),)
    )
    assert decide(anyway, "xiaoshan", TEN, live) == Overflow("xiaoshan", "hotline", "longest_wait")


def test_the_reverse_at_night_and_only_at_night():
    live = live_of(hotline=QueueLive(0), xiaoshan=QueueLive(2))
    assert decide(RULES, "hotline", ELEVEN_PM, live) == Overflow(
        "hotline", "xiaoshan", "no_ready_seat"
    )
    assert decide(RULES, "hotline", 7 * 60 + 59, live) is not None
    assert decide(RULES, "hotline", 8 * 60, live) is None  # the day: the city keeps its callers
    live = live_of(xiaoshan=QueueLive(0), hotline=QueueLive(5))
    assert decide(RULES, "xiaoshan", ELEVEN_PM, live) is None  # no day rule at night


def test_a_queue_without_a_rule_is_never_asked_about():
    asked: list[str] = []

    def live(q: str) -> QueueLive:
        asked.append(q)
        return QueueLive(0)

    assert decide(RULES, "yuhang", TEN, live) is None and asked == []


def test_the_overflower_reads_the_clock_in_hotline_time():
    # 02:30 UTC is 10:30 in Hangzhou: the day rule holds (at 10:30 UTC it would not).
    at = 1_796_000_000 - 1_796_000_000 % 86400 + 2 * 3600 + 1800
    live = live_of(xiaoshan=QueueLive(0), hotline=QueueLive(1))
    assert Overflower(RULES, live, lambda: at).choose("xiaoshan") is not None
    assert Overflower(RULES, live, lambda: at + 8 * 3600 + 3 * 3600).choose("xiaoshan") is None
    assert Overflower(RULES, live, lambda: at).queues == {"xiaoshan", "hotline"}


lives = st.builds(QueueLive, st.integers(0, 5), st.floats(0, 600, allow_nan=False))
windows = st.none() | st.tuples(
    st.integers(0, MINUTES_A_DAY - 1), st.integers(0, MINUTES_A_DAY - 1)
)


@given(
    here=lives,
    there=lives,
    minute=st.integers(0, MINUTES_A_DAY - 1),
    window=windows,
    no_ready=st.booleans(),
    wait=st.none() | st.floats(1, 300, allow_nan=False),
    target_ready=st.booleans(),
)
def test_the_decision_is_the_written_definition(
    here, there, minute, window, no_ready, wait, target_ready
):
    rule = OverflowRule(
        "fuyang", "hotline", no_ready, wait, target_ready=target_ready, window=window
    )
    got = decide(OverflowRules((rule,)), "fuyang", minute, live_of(fuyang=here, hotline=there))
    in_window = window is None or (
        window[0] <= minute < window[1]
        if window[0] <= window[1]
        else (minute >= window[0] or minute < window[1])
    )
    condition = (no_ready and here.ready_seats == 0) or (
        wait is not None and here.longest_wait_s > wait
    )
    moves = in_window and condition and (not target_ready or there.ready_seats > 0)
    assert (got is not None) == moves
    if got is not None:
        assert got.to_queue == "hotline" and got.from_queue == "fuyang"
        assert got.reason in REASONS
        long_wait = wait is not None and here.longest_wait_s > wait
        assert got.reason == ("longest_wait" if long_wait else "no_ready_seat")
