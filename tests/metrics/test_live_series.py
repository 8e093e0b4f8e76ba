"""The supervisors' live series, each checked against its definition on a hand-built event
sequence, the expected values worked out by hand below (README, "Definitions")."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from agents.operator import SimulatedOperator
from config.settings import Settings
from hotline.controller import Controller
from metrics.collector import make_registry
from pbx import events as ev
from pbx.simulator.config import load_queues_conf
from routing.calls import ABANDON_REASONS
from tests.traces import open_recording, trace_frames

Q = "hotline"
A, B, C = "Local/8001@agents/n", "Local/8002@agents/n", "Local/8003@agents/n"
CODES = ("after_call_work", "lunch", "no_answer")


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def setup(wrapup_s: float = 0.0) -> tuple[Controller, CollectorRegistry, Clock]:
    c = Controller(
        operator=SimulatedOperator(resolve_share=0.5, seed=0),
        wrapup_s=wrapup_s,
        service_level_s=20,
        short_abandon_s=5.0,
        after_call_codes=["after_call_work"],
    )
    clock = Clock()
    registry, _ = make_registry(c, clock, pause_codes=CODES)
    return c, registry, clock


def join(uid: str, at: float = 0.0, queue: str = Q) -> ev.CallerJoined:
    return ev.CallerJoined(at, queue, uid, uid, f"Local/x-{uid};2", "13800001234", "张三", 1, 1)


def connect(uid: str, at: float, hold: int | None, iface: str = A) -> ev.AgentConnected:
    return ev.AgentConnected(at, Q, uid, uid, iface, iface[6:10], hold, 1)


def complete(uid: str, at: float, talk: int | None, iface: str = A) -> ev.AgentCompleted:
    return ev.AgentCompleted(at, Q, uid, iface, iface[6:10], None, talk, "agent")


def abandon(uid: str, at: float, hold: int | None) -> ev.CallerAbandoned:
    return ev.CallerAbandoned(at, Q, uid, 1, 1, hold)


def member(
    iface: str, at: float = 0.0, *, paused: bool = False, reason: str = ""
) -> ev.MemberStatus:
    return ev.MemberStatus(at, Q, iface, iface[6:10], 1, paused, reason, False)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_service_level_and_sl2_as_app_queue_counts_them() -> None:
    c, r, clock = setup()
    for uid in "1234567":
        c.handle(join(uid))
    # Answered: waits 10, 15, 20.9 (Asterisk's whole-second HoldTime 20: within, as app_queue
    # compares it, <= 20), 20.5 with HoldTime 21 (outside: app_queue's clock ticked 21 whole
    # seconds, as when the caller joined at 10.9 and was answered at 31.4), and 95 for
    # call 7, which still talks.
    c.handle(connect("1", 10.0, 10, A))
    c.handle(connect("2", 15.0, 15, B))
    c.handle(connect("3", 20.9, 20, C))
    c.handle(complete("1", 70.0, 60, A))
    c.handle(complete("2", 50.0, 35, B))
    c.handle(complete("3", 40.9, 20, C))
    c.handle(connect("4", 20.5, 21, A))
    c.handle(complete("4", 90.0, 60, A))
    c.handle(connect("7", 95.0, 95, B))  # talking: answered, not completed
    # Call 5 hangs up after 3 s (its channel asked to hang up first: the caller); call 6 is
    # let go by the queue at 40 s (no hang-up asked: a timeout), outside the threshold.
    c.handle(ev.HangupRequested(3.0, "5"))
    c.handle(abandon("5", 3.0, 3))
    c.handle(abandon("6", 40.0, 40))
    clock.t = 100.0
    # completed 4, of which answered within 20 s: calls 1, 2, 3.  SL = 3 / 4.
    assert value(r, "hotline_calls_completed_total", queue=Q) == 4
    assert value(r, "hotline_calls_answered_in_service_level_total", queue=Q) == 3
    assert value(r, "hotline_queue_service_level_ratio", queue=Q) == pytest.approx(0.75)
    # abandoned within 20 s: call 5.  SL2 = (3 + 1) / (4 completed + 2 abandoned) = 4 / 6.
    assert value(r, "hotline_calls_abandoned_in_service_level_total", queue=Q) == 1
    assert value(r, "hotline_queue_service_level2_ratio", queue=Q) == pytest.approx(4 / 6)
    assert value(r, "hotline_service_level_threshold_seconds") == 20
    # the answered calls' waits: 10 + 15 + 20.9 + 20.5 + 95 = 161.4 over 5 answered
    assert value(r, "hotline_calls_answer_wait_seconds_total", queue=Q) == pytest.approx(161.4)
    assert value(r, "hotline_queue_average_speed_of_answer_seconds", queue=Q) == pytest.approx(
        161.4 / 5
    )
    # abandons by reason; their sum is the abandoned count; the 3 s one is also short
    assert value(r, "hotline_calls_abandoned_total", queue=Q, reason="caller") == 1
    assert value(r, "hotline_calls_abandoned_total", queue=Q, reason="timeout") == 1
    assert value(r, "hotline_calls_abandoned_total", queue=Q, reason="unknown") == 0
    assert c.calls.stats[Q].abandoned == 2
    assert value(r, "hotline_calls_abandoned_short_total", queue=Q) == 1
    assert value(r, "hotline_short_abandon_threshold_seconds") == 5.0
    # the answer ratio still counts every abandon, short ones too: 5 / 7
    assert value(r, "hotline_answer_ratio", queue=Q) == pytest.approx(5 / 7)


def test_ratios_over_no_calls_are_absent() -> None:
    c, r, _ = setup()
    c.handle(join("1"))
    for name in (
        "hotline_queue_service_level_ratio",
        "hotline_queue_service_level2_ratio",
        "hotline_queue_average_speed_of_answer_seconds",
        "hotline_queue_average_handle_seconds",
    ):
        assert value(r, name, queue=Q) is None, name
    assert value(r, "hotline_calls_completed_total", queue=Q) == 0
    assert value(r, "hotline_instant_resolution_ratio") is None  # no answered call ended
    c.handle(connect("1", 3.0, 3))
    c.handle(complete("1", 9.0, 6))
    assert value(r, "hotline_instant_resolution_ratio") in (0.0, 1.0)


def test_handle_time_is_talk_plus_after_call_work() -> None:
    c, r, clock = setup(wrapup_s=10.0)
    c.handle(ev.MemberAdded(0.0, member(A)))
    c.handle(ev.MemberAdded(0.0, member(B)))
    c.handle(join("1"))
    c.handle(join("2"))
    c.handle(connect("1", 10.0, 10, A))
    c.handle(connect("2", 15.0, 15, B))
    # Seat B: talk 35 s, then during its wrap-up it pauses for after-call work (55) until 100:
    # wrap-up 50 -> 55, after-call pause 55 -> 100: 50 s after the call; 85 s handled.
    c.handle(complete("2", 50.0, 35, B))
    c.handle(ev.MemberPaused(55.0, member(B, 55.0, paused=True, reason="after_call_work")))
    clock.t = 60.0  # mid-way: the after-call work counts as it passes (B's 10 s so far)
    assert value(r, "hotline_calls_handle_seconds_total", queue=Q) == pytest.approx(35 + 10)
    # Seat A: talk 60 s, then its 10 s wrap-up runs out (70 -> 80): 70 s handled.
    c.handle(complete("1", 70.0, 60, A))
    c.handle(ev.MemberPaused(100.0, member(B, 100.0)))
    clock.t = 200.0
    assert value(r, "hotline_calls_handle_seconds_total", queue=Q) == pytest.approx(70 + 85)
    assert value(r, "hotline_queue_average_handle_seconds", queue=Q) == pytest.approx(155 / 2)
    # A lunch pause after a call is not after-call work: handle time stays.
    c.handle(ev.MemberPaused(210.0, member(A, 210.0, paused=True, reason="lunch")))
    clock.t = 300.0
    assert value(r, "hotline_calls_handle_seconds_total", queue=Q) == pytest.approx(155)


def test_seat_seconds_in_each_state_and_pauses_by_reason() -> None:
    c, r, clock = setup(wrapup_s=10.0)
    c.handle(ev.MemberAdded(0.0, member(A)))
    c.handle(ev.MemberAdded(0.0, member(B)))
    c.handle(ev.MemberAdded(0.0, member(C, paused=True, reason="lunch")))
    c.handle(join("1"))
    c.handle(ev.AgentCalled(10.0, Q, "1", A, "8001"))
    c.handle(connect("1", 12.0, 12, A))
    c.handle(complete("1", 42.0, 30, A))
    c.handle(ev.MemberPaused(60.0, member(B, 60.0, paused=True, reason="")))
    clock.t = 100.0
    # A: ready 0-10, ringing 10-12, on call 12-42, wrap-up 42-52, ready 52-100 (58 s ready).
    # B: ready 0-60, paused 60-100.  C: paused 0-100.
    seconds = {
        s: value(r, "hotline_seat_state_seconds_total", state=s)
        for s in ("ready", "ringing", "on_call", "wrapup", "paused", "unavailable")
    }
    assert seconds == {
        "ready": 58 + 60,
        "ringing": 2,
        "on_call": 30,
        "wrapup": 10,
        "paused": 40 + 100,
        "unavailable": 0,
    }
    assert value(r, "hotline_seats", state="paused") == 2
    assert value(r, "hotline_seats_paused", reason="lunch") == 1
    assert value(r, "hotline_seats_paused", reason="none") == 1  # paused with no reason
    assert value(r, "hotline_seats_paused", reason="after_call_work") == 0
    c.handle(ev.MemberPaused(101.0, member(B, 101.0, paused=True, reason="家里有事")))
    clock.t = 102.0
    assert value(r, "hotline_seats_paused", reason="other") == 1  # not a configured code
    assert value(r, "hotline_seats_paused", reason="none") == 0


def test_seat_seconds_never_go_back() -> None:
    """A scrape counts an open interval up to its moment; an event read afterwards but
    stamped earlier changes the state at the scrape's moment, so the counter never drops
    (Prometheus would read a drop as a reset)."""
    c, r, clock = setup()
    c.handle(ev.MemberAdded(0.0, member(A)))
    clock.t = 50.0
    before = value(r, "hotline_seat_state_seconds_total", state="ready")
    assert before == 50.0
    c.handle(ev.MemberPaused(40.0, member(A, 40.0, paused=True, reason="lunch")))
    clock.t = 50.0
    assert value(r, "hotline_seat_state_seconds_total", state="ready") == 50.0
    clock.t = 60.0
    assert value(r, "hotline_seat_state_seconds_total", state="paused") == 10.0


def test_waiting_calls_by_priority() -> None:
    c, r, _ = setup()
    c.calls.note_priority("1", "5")  # the IVR finished before the caller joined
    c.handle(join("1"))
    c.handle(join("2"))
    c.handle(join("3"))
    c.calls.note_priority("3", 8)  # ... or after it
    c.calls.note_priority("2", "not a number")  # ignored: Queue()'s default 0 stays
    assert value(r, "hotline_queue_waiting_calls_by_priority", queue=Q, priority="5") == 1
    assert value(r, "hotline_queue_waiting_calls_by_priority", queue=Q, priority="8") == 1
    assert value(r, "hotline_queue_waiting_calls_by_priority", queue=Q, priority="0") == 1
    c.handle(ev.HangupRequested(4.0, "1"))
    c.handle(abandon("1", 4.0, 4))
    # a priority seen before stays, at 0
    assert value(r, "hotline_queue_waiting_calls_by_priority", queue=Q, priority="5") == 0


def test_waiting_priority_from_a_resync() -> None:
    c, r, _ = setup()
    snap = ev.Snapshot(
        at=100.0,
        params={Q: ev.QueueParams(Q, 1, 0, 0)},
        members=[],
        entries=[ev.QueueEntry(Q, "9.1", "PJSIP/c-1", "138", "", 30, 1, priority=-1)],
        channels=[],
    )
    c.reconcile(snap)
    assert value(r, "hotline_queue_waiting_calls_by_priority", queue=Q, priority="-1") == 1


def test_abandons_the_controller_did_not_see_leave_are_unknown() -> None:
    """A caller still held 30 s after its channel hung up lost its QueueCallerAbandon: its
    reason is unknown; the sum over reasons stays the abandoned count."""
    c, r, _ = setup()
    c.handle(join("1"))
    c.handle(ev.ChannelHungUp(10.0, "Local/x;2", "1", "1", 16, "Normal Clearing"))
    c.handle(ev.ChannelHungUp(41.0, "Local/y;2", "other", "other", 16, "Normal Clearing"))
    assert value(r, "hotline_calls_abandoned_total", queue=Q, reason="unknown") == 1
    assert c.calls.stats[Q].abandoned == 1


def test_the_service_level_default_is_the_shipped_queues() -> None:
    conf = Path(__file__).resolve().parents[2] / "pbx" / "asterisk" / "queues.conf"
    queues, _ = load_queues_conf(conf)
    levels = {q.servicelevel for q in queues}
    assert levels == {Settings(_env_file=None).service_level_s}  # type: ignore[call-arg]


@pytest.mark.parametrize("name", ["actions", "joinempty", "qtimeout", "unavailable"])
def test_abandon_reasons_of_a_real_asterisk(name: str) -> None:
    """Replayed recordings of Asterisk 20: the reasons agree with its own queue_log, which
    writes ``ABANDON`` when the caller hung up and ``EXITWITHTIMEOUT``/``EXITEMPTY`` when
    Queue() let the caller go (for callers that joined: ``ENTERQUEUE``). Except one known
    case: an AMI ``Hangup`` action of a waiting caller (in ``actions``) sends no hang-up
    request event (``ast_softhangup_nolock`` publishes none), so it reads as a timeout."""
    rows = [line.split("|") for line in open_recording(f"{name}.queue_log").read().splitlines()]
    joined = {r[1] for r in rows if len(r) > 4 and r[4] == "ENTERQUEUE"}
    wanted = {"caller": 0, "timeout": 0}
    for r in rows:
        if len(r) > 4 and r[1] in joined:
            if r[4] == "ABANDON":
                wanted["caller"] += 1
            elif r[4] in ("EXITWITHTIMEOUT", "EXITEMPTY"):
                wanted["timeout"] += 1
    c, _, _ = setup()
    for frame in trace_frames(name):
        e = ev.translate(frame, 0.0)
        if e is not None:
            c.handle(e)
    got = {"caller": 0, "timeout": 0, "unknown": 0}
    for st in c.calls.stats.values():
        for reason, n in zip(ABANDON_REASONS, st.abandoned_by_reason(), strict=True):
            got[reason] += n
    assert sum(wanted.values()) > 0
    if name == "actions":  # the AMI Hangup of 王五 while waiting
        wanted = {"caller": wanted["caller"] - 1, "timeout": wanted["timeout"] + 1}
    assert got == {**wanted, "unknown": 0}


@pytest.mark.parametrize("name", ["basic", "load", "qtimeout", "joinempty", "unavailable"])
def test_abandon_reasons_against_the_dialplans_own_report(name: str) -> None:
    """Recordings of Asterisk 20 whose dialplan reports every Queue() that returned with the
    caller still on (``UserEvent QueueResult``, Status ``TIMEOUT``/``LEAVEEMPTY``): those are
    the timeouts; every other abandon was a caller who hung up (in ``load``, ten of them)."""
    timeouts = abandons = 0
    c, _, _ = setup()
    for frame in trace_frames(name):
        h = frame.headers
        if h.get("Event") == "UserEvent" and h.get("Status") in ("TIMEOUT", "LEAVEEMPTY"):
            timeouts += 1
        abandons += h.get("Event") == "QueueCallerAbandon"
        e = ev.translate(frame, 0.0)
        if e is not None:
            c.handle(e)
    got = dict.fromkeys(ABANDON_REASONS, 0)
    for st in c.calls.stats.values():
        for reason, n in zip(ABANDON_REASONS, st.abandoned_by_reason(), strict=True):
            got[reason] += n
    assert got == {"caller": abandons - timeouts, "timeout": timeouts, "unknown": 0}
    assert abandons > 0
