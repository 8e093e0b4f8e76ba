"""hotline.desk without a PBX: who decides a ticket (the operator at the seat, else the
simulated one), the instant-resolution count when a submission comes after the call, and
which seats' streams get the notices."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from agents.desk_stream import DeskStreams
from agents.operator import SimulatedOperator
from agents.seats import SeatChanged
from hotline.bus import Bus
from hotline.desk import Desk
from routing import notices as nt

SEAT, OTHER = "SIP/8001", "SIP/8002"


class _Writer:
    def __init__(self) -> None:
        self.opened: list = []
        self.ended: list = []


def _desk() -> tuple[Desk, Bus, list[bool], _Writer, list[float]]:
    changes: list[bool] = []
    clock = [0.0]
    desk = Desk(
        DeskStreams(),
        simulated=SimulatedOperator(seed=3),
        sessions=lambda: None,
        now=lambda: 1_795_000_000.0,
        seat_state=lambda i: "ready",
        resolution_changed=changes.append,
        monotonic=lambda: clock[0],
    )
    writer = _Writer()
    desk.writer = SimpleNamespace(  # type: ignore[assignment]
        opened=writer.opened.append, ended=lambda uid, at: writer.ended.append(uid), pending=0
    )
    bus = Bus()
    desk.subscribe(bus)
    return desk, bus, changes, writer, clock


def _call(bus: Bus, i: int, seat: str) -> None:
    uid = f"1795000000.{i}"
    bus.publish(nt.CallJoined(1.0, "hotline", uid, uid, "<unknown>", "<unknown>"))
    bus.publish(nt.CallRung(2.0, "hotline", uid, seat, seat))
    bus.publish(nt.CallAnswered(3.0, "hotline", uid, uid, seat, seat, 2.0))


def _draft(i: int, resolved: bool, kind: str = "help"):
    uid = f"1795000000.{i}"
    return SimpleNamespace(
        seat=SEAT, call_uniqueid=uid, linkedid=uid, resolved_on_call=resolved, kind=kind
    )


async def test_the_operator_at_the_seat_decides_and_a_late_submission_is_counted() -> None:
    desk, bus, changes, writer, _ = _desk()
    got: list[str] = []
    desk.streams.listen(SEAT, lambda m: got.append(m.kind))
    desk.attach(SimpleNamespace(seat=SEAT, user_id=7))
    _call(bus, 1, SEAT)  # the operator's seat
    _call(bus, 2, OTHER)  # nobody there
    await asyncio.sleep(0)  # the pop waits for the (empty) history of a withheld number
    await asyncio.sleep(0)
    assert [d.call_uniqueid for d in writer.opened] == ["1795000000.1"]
    assert writer.opened[0].operator_id == 7
    assert got == ["rung", "connected"]
    simulated = SimulatedOperator(seed=3).decide("1795000000.2")
    assert desk.decide("1795000000.2") == simulated
    # call 1 ends before the operator submitted: unclassified, not resolved ...
    bus.publish(nt.CallEnded(9.0, "hotline", "1795000000.1", "1795000000.1", SEAT, 6.0, "agent"))
    assert writer.ended == ["1795000000.1"] and got[-1] == "ended"
    early = desk.decide("1795000000.1")
    assert (early.kind, early.resolved_on_call) == ("unclassified", False)
    # ... and the submission in wrap-up, resolved, moves the count by one
    desk.submitted(_draft(1, True), repeated=False)
    desk.submitted(_draft(1, True), repeated=True)  # a repeat changes nothing
    assert changes == [True]


async def test_a_submission_during_the_call_is_the_ticket_s_decision() -> None:
    desk, bus, changes, _, _ = _desk()
    desk.attach(SimpleNamespace(seat=SEAT, user_id=7))
    _call(bus, 1, SEAT)
    desk.submitted(_draft(1, True, kind="consultation"), repeated=False)
    d = desk.decide("1795000000.1")
    assert (d.kind, d.resolved_on_call) == ("consultation", True)
    assert changes == []  # counted by the controller from the decision itself


async def test_presence_lasts_the_grace_after_the_stream_closes() -> None:
    desk, bus, _, writer, clock = _desk()
    who = SimpleNamespace(seat=SEAT, user_id=7)
    desk.attach(who)
    desk.attach(who)  # two desktops
    desk.detach(who)
    assert desk.present(SEAT) and desk.streams_open == 1
    desk.detach(who)
    clock[0] = 59.0
    assert desk.present(SEAT)  # a reconnect within the grace keeps the seat's calls
    bus.publish(SeatChanged(4.0, SEAT, SEAT, "paused", "lunch"))
    assert desk.streams.log(SEAT).state == "paused"
    clock[0] = 61.0
    assert not desk.present(SEAT) and not desk.anyone_present
    _call(bus, 3, SEAT)
    assert writer.opened == []  # nobody there: the simulated operator decides
