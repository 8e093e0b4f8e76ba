"""Seat states from scripted events."""

from __future__ import annotations

from agents.operator import SimulatedOperator
from agents.seats import SeatBoard
from pbx import events as ev

Q = "hotline"
A = "Local/8001@agents/n"
B = "Local/8002@agents/n"


def member(iface: str, *, paused: bool = False, status: int = 1, queue: str = Q) -> ev.MemberStatus:
    return ev.MemberStatus(
        0.0, queue, iface, iface[6:10], status, paused, "午休" if paused else "", False
    )


def board() -> SeatBoard:
    b = SeatBoard(wrapup_s=10.0)
    b.apply(ev.MemberAdded(0.0, member(A)))
    b.apply(ev.MemberAdded(0.0, member(B)))
    return b


def test_ring_connect_complete_wrapup_ready() -> None:
    b = board()
    assert b.counts(0)["ready"] == 2
    b.apply(ev.AgentCalled(1.0, Q, "c1", A, "8001"))
    assert b.seats[A].state(1.0) == "ringing"
    b.apply(ev.AgentConnected(2.0, Q, "c1", "c1", A, "8001", 1, 1))
    assert b.counts(2.0) == {
        "on_call": 1,
        "ringing": 0,
        "paused": 0,
        "unavailable": 0,
        "wrapup": 0,
        "ready": 1,
    }
    b.apply(ev.AgentCompleted(30.0, Q, "c1", A, "8001", 1, 28, "agent"))
    assert b.seats[A].state(35.0) == "wrapup"
    assert b.seats[A].state(40.0) == "ready"
    assert b.seats[A].calls_taken == 1


def test_ringall_losers_stop_ringing_when_one_answers() -> None:
    b = board()
    b.apply(ev.AgentCalled(1.0, Q, "c1", A, "8001"))
    b.apply(ev.AgentCalled(1.0, Q, "c1", B, "8002"))
    assert b.counts(1.0)["ringing"] == 2
    b.apply(ev.AgentConnected(3.0, Q, "c1", "c1", B, "8002", 2, 2))
    assert b.counts(3.0)["ringing"] == 0 and b.counts(3.0)["on_call"] == 1


def test_abandon_and_no_answer_stop_ringing() -> None:
    b = board()
    b.apply(ev.AgentCalled(1.0, Q, "c1", A, "8001"))
    b.apply(ev.AgentRingNoAnswer(16.0, Q, "c1", A, "8001", 15000))
    assert b.seats[A].state(16.0) == "ready"
    b.apply(ev.AgentCalled(17.0, Q, "c1", B, "8002"))
    b.apply(ev.CallerAbandoned(18.0, Q, "c1", 1, 1, 18))
    assert b.seats[B].state(18.0) == "ready"


def test_paused_only_when_paused_in_every_queue() -> None:
    b = board()
    b.apply(ev.MemberAdded(0.0, member(A, queue="district")))
    b.apply(ev.MemberPaused(1.0, member(A, paused=True)))
    assert b.seats[A].state(1.0) == "ready"
    b.apply(ev.MemberPaused(1.0, member(A, paused=True, queue="district")))
    assert b.seats[A].state(1.0) == "paused" and b.seats[A].paused_reason == "午休"
    b.apply(ev.MemberPaused(2.0, member(A, queue="district")))
    assert b.seats[A].state(2.0) == "ready"


def test_unavailable_device_and_removal() -> None:
    b = board()
    b.apply(member(B, status=5))
    assert b.seats[B].state(0) == "unavailable"
    b.apply(ev.MemberRemoved(1.0, Q, B, "8002"))
    assert B not in b.seats


def test_simulated_operator_is_deterministic_and_near_its_share() -> None:
    op = SimulatedOperator(resolve_share=0.57, seed=3)
    decisions = [op.decide(f"1795966430.{i}") for i in range(4000)]
    assert decisions == [
        SimulatedOperator(resolve_share=0.57, seed=3).decide(f"1795966430.{i}") for i in range(4000)
    ]
    share = sum(d.resolved_on_call for d in decisions) / len(decisions)
    assert 0.54 < share < 0.60
    assert SimulatedOperator(resolve_share=0.0).decide("x").resolved_on_call is False


def test_ready_in_a_queue_counts_its_members_that_could_take_its_next_caller() -> None:
    b = board()  # A and B in hotline
    b.apply(ev.MemberAdded(0.0, member(A, queue="xiaoshan")))
    assert b.ready_in(Q, 0.0) == 2 and b.ready_in("xiaoshan", 0.0) == 1
    assert b.ready_in("yuhang", 0.0) == 0
    # paused in xiaoshan only: still ready for the city centre
    b.apply(ev.MemberPaused(1.0, member(A, paused=True, queue="xiaoshan")))
    assert b.ready_in("xiaoshan", 1.0) == 0 and b.ready_in(Q, 1.0) == 2
    b.apply(ev.AgentConnected(2.0, Q, "c1", "c1", B, "8002", 1, 1))
    assert b.ready_in(Q, 2.0) == 1
    b.apply(ev.AgentCompleted(30.0, Q, "c1", B, "8002", 1, 28, "agent"))
    assert b.ready_in(Q, 35.0) == 1  # B in wrap-up
    assert b.ready_in(Q, 40.0) == 2
