"""Operator seats: the pure live state of every queue member.

A *seat* is one Asterisk queue member interface (``Local/8001@agents/n``, ``PJSIP/8001``...);
a seat that is a member of several queues (skills) is still one seat. Its state, as the
``hotline_seats{state}`` gauge counts it, is the first that holds of:

1. ``on_call``: bridged to a caller (``AgentConnect`` until ``AgentComplete``);
2. ``ringing``: rung for a waiting caller (``AgentCalled``);
3. ``paused``: paused in every one of its queues (``QueuePause``);
4. ``unavailable``: Asterisk reports its device unavailable or invalid;
5. ``wrapup``: within the queue's wrap-up time after its last call. Asterisk sends no event
   for wrap-up (the member shows "Not in use" and is simply not rung), so it is derived from
   the end of the last call and the configured wrap-up time;
6. ``ready``: none of the above.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pbx import events as ev

__all__ = ["SEAT_STATES", "Seat", "SeatBoard"]

SEAT_STATES = ("on_call", "ringing", "paused", "unavailable", "wrapup", "ready")

# Asterisk device states (AST_DEVICE_*) as QueueMember/QueueMemberStatus send them.
_DEVICE_INVALID = 4
_DEVICE_UNAVAILABLE = 5


@dataclass(slots=True)
class Seat:
    interface: str
    name: str
    queues: set[str] = field(default_factory=set)
    paused_in: set[str] = field(default_factory=set)
    paused_reason: str = ""
    device_status: int = 0
    call: str | None = None
    ringing_for: str | None = None
    wrapup_until: float = 0.0
    calls_taken: int = 0

    def state(self, now: float) -> str:
        if self.call is not None:
            return "on_call"
        if self.ringing_for is not None:
            return "ringing"
        if self.queues and self.paused_in >= self.queues:
            return "paused"
        if self.device_status in (_DEVICE_INVALID, _DEVICE_UNAVAILABLE):
            return "unavailable"
        if now < self.wrapup_until:
            return "wrapup"
        return "ready"


class SeatBoard:
    """Every logged-in seat, keyed by interface."""

    __slots__ = ("_ringing", "seats", "wrapup_s")

    def __init__(self, wrapup_s: Mapping[str, float] | float = 0.0) -> None:
        #: Wrap-up seconds by queue (a float applies to every queue).
        self.wrapup_s = wrapup_s
        self.seats: dict[str, Seat] = {}
        self._ringing: dict[str, set[str]] = {}

    def _wrapup(self, queue: str) -> float:
        w = self.wrapup_s
        return float(w) if isinstance(w, (int, float)) else float(w.get(queue, 0.0))

    def counts(self, now: float) -> dict[str, int]:
        out = dict.fromkeys(SEAT_STATES, 0)
        for seat in self.seats.values():
            out[seat.state(now)] += 1
        return out

    def _seat(self, interface: str, name: str) -> Seat:
        seat = self.seats.get(interface)
        if seat is None:
            seat = self.seats[interface] = Seat(interface, name)
        return seat

    def _member(self, m: ev.MemberStatus) -> None:
        seat = self._seat(m.interface, m.member_name)
        seat.queues.add(m.queue)
        seat.device_status = m.status
        if m.paused:
            seat.paused_in.add(m.queue)
            seat.paused_reason = m.paused_reason
        else:
            seat.paused_in.discard(m.queue)
            if not seat.paused_in:
                seat.paused_reason = ""

    def _stop_ringing(self, uniqueid: str) -> None:
        for interface in self._ringing.pop(uniqueid, ()):
            seat = self.seats.get(interface)
            if seat is not None and seat.ringing_for == uniqueid:
                seat.ringing_for = None

    def apply(self, event: ev.DomainEvent) -> None:
        match event:
            case ev.MemberStatus():
                self._member(event)
            case ev.MemberAdded(member=m) | ev.MemberPaused(member=m):
                self._member(m)
            case ev.MemberRemoved():
                seat = self.seats.get(event.interface)
                if seat is not None:
                    seat.queues.discard(event.queue)
                    seat.paused_in.discard(event.queue)
                    if not seat.queues:
                        del self.seats[seat.interface]
            case ev.AgentCalled():
                seat = self.seats.get(event.interface)
                if seat is not None and seat.call is None:
                    seat.ringing_for = event.uniqueid
                    self._ringing.setdefault(event.uniqueid, set()).add(seat.interface)
            case ev.AgentRingNoAnswer():
                seat = self.seats.get(event.interface)
                if seat is not None and seat.ringing_for == event.uniqueid:
                    seat.ringing_for = None
                    self._ringing.get(event.uniqueid, set()).discard(seat.interface)
            case ev.AgentConnected():
                self._stop_ringing(event.uniqueid)
                seat = self.seats.get(event.interface)
                if seat is not None:
                    seat.call = event.uniqueid
            case ev.AgentCompleted():
                seat = self.seats.get(event.interface)
                if seat is not None:
                    if seat.call is not None and event.uniqueid in ("", seat.call):
                        seat.call = None
                        seat.calls_taken += 1
                    seat.wrapup_until = event.at + self._wrapup(event.queue)
            case ev.CallerAbandoned():
                self._stop_ringing(event.uniqueid)
            case _:
                pass

    def calls_in_progress(self) -> int:
        return sum(1 for s in self.seats.values() if s.call is not None)
