"""The call state machine, driven by scripted events and by real Asterisk traces."""

from __future__ import annotations

import json

import pytest

from pbx import events as ev
from routing.calls import (
    CallAbandoned,
    CallAnswered,
    CallBoard,
    CallEnded,
    CallOffered,
    CallTransferred,
)
from tests.traces import read_recording, trace_frames

Q = "hotline"


def join(uid: str, at: float = 0.0, queue: str = Q) -> ev.CallerJoined:
    return ev.CallerJoined(at, queue, uid, uid, "Local/x;2", "13800001234", "张三", 1, 1)


def connect(uid: str, iface: str = "Local/8001@agents/n", at: float = 1.0) -> ev.AgentConnected:
    return ev.AgentConnected(at, Q, uid, uid, iface, "Agent 8001", 1, 1)


def complete(uid: str, iface: str = "Local/8001@agents/n", at: float = 9.0) -> ev.AgentCompleted:
    return ev.AgentCompleted(at, Q, uid, iface, "Agent 8001", 1, 8, "agent")


def abandon(uid: str, at: float = 5.0) -> ev.CallerAbandoned:
    return ev.CallerAbandoned(at, Q, uid, 1, 1, 5)


def test_answered_call_lifecycle() -> None:
    b = CallBoard()
    offered = b.apply(join("1"))
    assert isinstance(offered, CallOffered) and offered.call.uniqueid == "1"
    assert b.apply(join("1")) is None  # a repeated frame: offered once
    assert b.waiting_count(Q) == 1
    out = b.apply(connect("1"))
    assert isinstance(out, CallAnswered) and out.call.member_name == "Agent 8001"
    assert b.waiting_count(Q) == 0 and "1" in b.talking
    end = b.apply(complete("1"))
    assert isinstance(end, CallEnded) and end.talk_time == 8 and end.call.joined_at == 0.0
    assert not b.talking
    st = b.stats[Q]
    assert (st.offered, st.answered, st.abandoned) == (1, 1, 0)
    assert st.answer_ratio == 1.0
    assert st.mean_wait_s == 1.0  # joined at 0, answered at 1


def test_abandoned_call() -> None:
    b = CallBoard()
    b.apply(join("1"))
    b.apply(join("2"))
    assert isinstance(b.apply(abandon("1")), CallAbandoned)
    st = b.stats[Q]
    assert (st.offered, st.answered, st.abandoned) == (2, 0, 1)
    assert st.answer_ratio == 0.0
    assert b.waiting_count(Q) == 1
    assert st.mean_wait_s == 5.0  # only the call that left counts


def test_repeated_join_counts_once_and_unknown_calls_are_counted_not_applied() -> None:
    b = CallBoard()
    b.apply(join("1"))
    b.apply(join("1"))
    assert b.stats[Q].offered == 1
    assert b.apply(connect("nope")) is None
    assert b.apply(abandon("nope")) is None
    assert b.unknown_calls == 2
    assert b.stats[Q].answered == 0 and b.stats[Q].abandoned == 0


def test_agent_complete_without_channel_headers_matched_by_queue_and_interface() -> None:
    b = CallBoard()
    b.apply(join("1"))
    b.apply(join("2"))
    b.apply(connect("1", "Local/8001@agents/n"))
    b.apply(connect("2", "Local/8002@agents/n"))
    end = b.apply(
        ev.AgentCompleted(9.0, Q, "", "Local/8002@agents/n", "Agent 8002", 1, 8, "caller")
    )
    assert isinstance(end, CallEnded) and end.call.uniqueid == "2"
    assert list(b.talking) == ["1"]


def test_resync_counts_only_unseen_waiting_callers() -> None:
    b = CallBoard()
    b.apply(join("1"))
    kw = dict(queue=Q, linkedid="x", caller_num="1", caller_name="a", joined_at=0.0)
    assert not b.seen_waiting(uniqueid="1", **kw)
    assert b.seen_waiting(uniqueid="9", **kw)
    assert b.stats[Q].offered == 2


def replay(name: str) -> CallBoard:
    b = CallBoard()
    for frame in trace_frames(name):
        event = ev.translate(frame, 0.0)
        if event is not None:
            b.apply(event)
    return b


@pytest.mark.parametrize("name", ["basic", "load"])
def test_real_asterisk_traces_give_asterisks_outcomes(name: str) -> None:
    summary = json.loads(read_recording(f"{name}.summary.json"))
    outcomes = summary["caller_outcomes"]
    b = replay(name)
    t = b.totals()
    # A queue timeout is an abandon by our definition (Asterisk counts it so too).
    assert t.answered == outcomes["answered"]
    assert t.abandoned == outcomes["abandoned"] + outcomes.get("timeout", 0)
    assert t.offered == t.answered + t.abandoned
    assert not b.talking and b.unknown_calls == 0
    assert sum(len(q) for q in b.waiting.values()) == 0


@pytest.mark.parametrize(
    ("name", "queue", "completed"),
    [
        ("pause", "hotline", 4),
        ("priority", "hotline", 6),
        ("ringall", "ringall", 3),
        ("wrapup", "wrapup", 5),
    ],
)
def test_scenario_traces_match_asterisks_own_completed_count(
    name: str, queue: str, completed: int
) -> None:
    b = replay(name)
    st = b.stats[queue]
    assert st.answered == completed
    assert st.abandoned == 0
    assert not b.talking


def test_a_talking_caller_joining_another_queue_is_a_transfer() -> None:
    b = CallBoard()
    b.apply(join("1"))
    b.apply(connect("1", at=2.0))
    assert b.apply(join("1", at=0.0)) is None  # a repeated frame of its first join
    moved = b.apply(join("1", at=32.5, queue="xiaoshan"))
    assert isinstance(moved, CallTransferred)
    ended, offered = moved.ended, moved.offered
    assert (ended.reason, ended.talk_time, ended.at) == ("transfer", 30, 32.5)
    assert ended.call.queue == Q and ended.call.interface == "Local/8001@agents/n"
    assert offered.call.queue == "xiaoshan" and offered.call.linkedid == "1"
    assert offered.call.channel == "Local/x;2"
    assert "1" not in b.talking and b.waiting_count("xiaoshan") == 1
    answered = b.apply(
        ev.AgentConnected(40.0, "xiaoshan", "1", "1", "Local/8002@agents/n", "8002", 1, 1)
    )
    assert isinstance(answered, CallAnswered) and answered.call.answered_at == 40.0
    # the first queue's AgentComplete only comes at the final hang-up: dropped, not unknown
    late = ev.AgentCompleted(90.0, Q, "1", "Local/8001@agents/n", "8001", 1, 88, "caller")
    assert b.apply(late) is None and b.unknown_calls == 0 and "1" in b.talking
    last = ev.AgentCompleted(90.0, "xiaoshan", "1", "Local/8002@agents/n", "8002", 8, 50, "caller")
    end = b.apply(last)
    assert isinstance(end, CallEnded) and end.call.queue == "xiaoshan"
    assert (b.stats[Q].answered, b.stats["xiaoshan"].offered, b.stats["xiaoshan"].answered) == (
        1,
        1,
        1,
    )
    assert not b.talking and b.unknown_calls == 0


def test_the_recorded_redirect_of_a_talking_caller_is_a_transfer() -> None:
    """The ``actions`` recording (a real Asterisk 20.20): 张三, talking at 8001, redirected to
    ``callers,qhotline2,1``, is answered by 8004 in hotline2; hotline counts 3 completed and
    hotline2 1 (``QueueSummary`` at the end), and his late hotline AgentComplete is no
    unknown call."""
    b = CallBoard()
    transfers = []
    for frame in trace_frames("actions"):
        event = ev.translate(frame, 0.0)
        if event is not None:
            out = b.apply(event)
            if isinstance(out, CallTransferred):
                transfers.append(out)
    assert len(transfers) == 1
    assert transfers[0].ended.call.queue == "hotline"
    assert transfers[0].offered.call.queue == "hotline2"
    assert b.unknown_calls == 0 and not b.talking
    assert b.stats["hotline"].answered == 3 and b.stats["hotline2"].answered == 1


def test_the_longest_wait_is_the_oldest_waiting_callers() -> None:
    board = CallBoard()
    assert board.longest_wait_s(Q, 100.0) == 0.0
    board.apply(join("a", at=10.0))
    board.apply(join("b", at=40.0))
    assert board.longest_wait_s(Q, 100.0) == 90.0
    board.apply(connect("a", at=95.0))  # answered: no longer waiting
    assert board.longest_wait_s(Q, 100.0) == 60.0
    assert board.longest_wait_s("other", 100.0) == 0.0


def test_a_headerless_late_complete_of_a_transferred_call_is_no_unknown_call() -> None:
    """As a real Asterisk 20 sent it: the caller, transferred from 8001 in hotline to 8002 in
    xiaoshan, hangs up; both queues' AgentComplete come then, and the caller's channel may be
    gone when app_queue builds either, so both can be headerless (TalkTime counts from each
    queue's answer). Meanwhile 8001 took a new call in hotline: it keeps talking."""
    b = CallBoard()
    b.apply(join("1"))
    b.apply(connect("1", at=2.0))
    b.apply(join("1", at=32.5, queue="xiaoshan"))
    b.apply(ev.AgentConnected(40.0, "xiaoshan", "1", "1", "Local/8002@agents/n", "8002", 1, 1))
    b.apply(join("2", at=50.0))
    b.apply(connect("2", at=55.0))  # 8001 on a new hotline call
    late = ev.AgentCompleted(90.0, Q, "", "Local/8001@agents/n", "8001", 1, 88, "caller")
    assert b.apply(late) is None and b.unknown_calls == 0
    assert "2" in b.talking, "the new call at 8001 is not the one that ended"
    last = ev.AgentCompleted(90.0, "xiaoshan", "", "Local/8002@agents/n", "8002", 8, 50, "caller")
    end = b.apply(last)
    assert isinstance(end, CallEnded) and end.call.uniqueid == "1"
    own = ev.AgentCompleted(100.0, Q, "", "Local/8001@agents/n", "8001", 5, 45, "agent")
    end = b.apply(own)  # the new call's own headerless end
    assert isinstance(end, CallEnded) and end.call.uniqueid == "2"
    assert not b.talking and b.unknown_calls == 0 and not b._transferred
