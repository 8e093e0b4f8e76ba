"""The controller publishes what it learns; subscribers cannot break it or each other."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from agents.operator import SimulatedOperator
from agents.seats import LOGGED_OUT, SeatChanged
from config.settings import Settings
from hotline.bus import Bus
from hotline.controller import Controller
from hotline.runtime import Runtime
from pbx import events as ev
from routing import notices as nt
from tickets.service import TicketDraft

Q = "hotline"
A, B = "Local/8001@agents/n", "Local/8002@agents/n"


def member(iface: str, at: float = 0.0) -> ev.MemberAdded:
    return ev.MemberAdded(at, ev.MemberStatus(at, Q, iface, iface[6:10], 1, False, "", False))


def one_call(c: Controller, uid: str = "1.1") -> None:
    """A caller joins, both seats ring (ringall), A answers, the call ends."""
    c.handle(ev.CallerJoined(10.0, Q, uid, uid, "Local/x;2", "13800001234", "张三", 1, 1))
    c.handle(ev.AgentCalled(11.0, Q, uid, A, "8001"))
    c.handle(ev.AgentCalled(11.0, Q, uid, B, "8002"))
    c.handle(ev.AgentConnected(13.0, Q, uid, uid, A, "8001", 3, 2))
    c.handle(ev.AgentCompleted(73.0, Q, uid, A, "8001", 3, 60, "caller"))


def controller(bus: Bus) -> Controller:
    return Controller(operator=SimulatedOperator(resolve_share=1.0, seed=0), wrapup_s=5.0, bus=bus)


def test_a_call_and_its_seats_are_published_in_order() -> None:
    bus = Bus()
    got: list[object] = []
    for kind in (
        nt.CallJoined,
        nt.CallRung,
        nt.CallAnswered,
        nt.CallAbandoned,
        nt.CallEnded,
        SeatChanged,
        TicketDraft,
    ):
        bus.subscribe(kind, got.append)
    c = controller(bus)
    c.handle(member(A))
    c.handle(member(B))
    one_call(c)
    c.handle(ev.MemberRemoved(80.0, Q, B, "8002"))

    def short(n: object) -> tuple:
        if type(n) is SeatChanged:
            return ("seat", n.interface[6:10], n.state)
        if type(n) is TicketDraft:
            return ("ticket", n.call_uniqueid, n.seat)
        return (type(n).__name__, getattr(n, "interface", ""))

    assert [short(n) for n in got] == [
        ("seat", "8001", "ready"),
        ("seat", "8002", "ready"),
        ("CallJoined", ""),
        ("seat", "8001", "ringing"),
        ("CallRung", A),
        ("seat", "8002", "ringing"),
        ("CallRung", B),
        ("seat", "8001", "on_call"),
        ("seat", "8002", "ready"),  # ringall: B stops ringing when A answers
        ("CallAnswered", A),
        ("seat", "8001", "wrapup"),
        ("CallEnded", A),
        ("ticket", "1.1", "8001"),  # the seat as its member name
        ("seat", "8002", LOGGED_OUT),
    ]
    joined = next(n for n in got if type(n) is nt.CallJoined)
    assert (joined.at, joined.caller_num, joined.caller_name) == (10.0, "13800001234", "张三")
    answered = next(n for n in got if type(n) is nt.CallAnswered)
    assert (answered.at, answered.wait_s, answered.member_name) == (13.0, 3.0, "8001")
    ended = next(n for n in got if type(n) is nt.CallEnded)
    assert (ended.at, ended.talk_s, ended.reason) == (73.0, 60.0, "caller")
    wrapup = next(n for n in got if type(n) is SeatChanged and n.state == "wrapup")
    assert wrapup.wrapup_until == 78.0  # Asterisk says nothing when wrap-up ends


def test_an_abandoned_caller_is_published() -> None:
    bus = Bus()
    got: list[nt.CallAbandoned] = []
    bus.subscribe(nt.CallAbandoned, got.append)
    c = controller(bus)
    c.handle(ev.CallerJoined(10.0, Q, "1.2", "1.2", "", "", "", 1, 1))
    c.handle(ev.CallerAbandoned(40.0, Q, "1.2", 1, 1, 30))
    assert [(n.uniqueid, n.at, n.wait_s) for n in got] == [("1.2", 40.0, 30.0)]


def test_a_failing_subscriber_is_counted_and_breaks_nothing(caplog) -> None:
    failed: list[str] = []
    bus = Bus(on_error=failed.append)
    drafts: list[TicketDraft] = []

    def boom(n: object) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe(TicketDraft, boom, name="boom")
    bus.subscribe(TicketDraft, drafts.append, name="writer")
    bus.subscribe(nt.CallJoined, boom, name="boom")
    c = controller(bus)
    c.handle(member(A))
    with caplog.at_level(logging.ERROR, logger="hotline.bus"):
        one_call(c, "2.1")
        one_call(c, "2.2")
    assert [d.call_uniqueid for d in drafts] == ["2.1", "2.2"]  # the other subscriber got them
    assert c.calls.stats[Q].answered == 2 and c.calls_ended == 2  # the books are whole
    assert bus.errors["boom"] == 4 and failed == ["boom"] * 4
    logged = [r for r in caplog.records if r.name == "hotline.bus"]
    assert len(logged) == 1 and "boom" in logged[0].getMessage()  # once per subscriber
    assert "13800001234" not in caplog.text  # a notice's values are never logged


def test_nothing_is_built_for_nobody() -> None:
    bus = Bus()
    drafts: list[TicketDraft] = []
    bus.subscribe(TicketDraft, drafts.append)
    c = controller(bus)
    c.handle(member(A))
    one_call(c)
    assert len(drafts) == 1
    assert not c._seat_state  # no SeatChanged subscriber: seat states are not even tracked


@pytest.mark.e2e
def test_the_runtime_wires_the_writer_and_metrics_as_subscribers(tmp_path: Path) -> None:
    rt = Runtime(Settings(_env_file=None), database_url=f"sqlite:///{tmp_path / 'n.db'}")
    assert rt.bus is rt.controller.bus and rt.bus.wants(TicketDraft)  # metrics, from the start

    def boom(n: object) -> None:
        raise ValueError("desktop bug")

    rt.bus.subscribe(nt.CallJoined, boom, name="desktop")
    c = rt.controller
    c.handle(member(A))
    one_call(c)
    text = generate_latest(rt.registry).decode()
    assert 'hotline_subscriber_errors_total{subscriber="desktop"} 1.0' in text
    assert "hotline_tickets_drafted_total 1.0" in text


@pytest.mark.parametrize("deferred", [False, True])
def test_a_call_the_resync_only_guessed_gets_its_draft_only_without_the_queue_log(
    deferred: bool,
) -> None:
    """A waiting call taken as answered from Asterisk's counters alone may be the wrong
    caller: with the queue_log feeding the backfill, the controller drafts no ticket for it
    (the backfill writes the right call's); without, the guess keeps its draft."""
    from routing.calls import GUESSED, Call, CallEnded

    bus = Bus()
    drafts: list[TicketDraft] = []
    ended: list[nt.CallEnded] = []
    bus.subscribe(TicketDraft, drafts.append)
    bus.subscribe(nt.CallEnded, ended.append)
    c = controller(bus)
    c.defer_guessed_tickets = deferred
    call = Call("1.1", "1.1", Q, "13800001234", "", 10.0, answered_at=20.0)
    c._outcome(CallEnded(call, 20.0, 0, GUESSED), 20.0)
    c._outcome(
        CallEnded(Call("1.2", "1.2", Q, "1", "", 10.0, answered_at=12.0), 20.0, 0, "gone"), 20.0
    )
    assert [d.call_uniqueid for d in drafts] == (["1.2"] if deferred else ["1.1", "1.2"])
    assert [e.uniqueid for e in ended] == ["1.1", "1.2"]
