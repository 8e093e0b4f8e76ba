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

A seat no longer a member of any queue is gone (``logged_out`` in :class:`SeatChanged`, the
notice the controller publishes when a seat's state changes). :meth:`SeatBoard.apply` returns
the seats an event touched, so that only those are looked at.

**Time in state** (``hotline_seat_state_seconds_total{state}``): the seat-seconds spent in
each state, as the events' times say (a wrap-up that ran out is ``ready`` from its end on), so
that ``rate()`` of a state over all states is the share of logged-in seat time in it
(occupancy: ``on_call`` + ``wrapup``). The seconds of a state a seat is in now are counted up
to the moment asked (:meth:`SeatBoard.census`); a counter never goes back: an event read after
a census that had counted past its time changes the state at the census's time.

**After-call work** of a call (the handle time's wrap-up): the seconds its seat spends, from
the call's ``AgentComplete`` on, in ``wrapup`` (Asterisk's ``wrapuptime``) or paused with an
after-call code (``auto_ready`` in ``config/pause_codes.yaml``: ``after_call_work``), until
it is in any other state (ready, another call, another pause, logged out). They are counted
to the call's queue as they pass.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from pbx import events as ev

__all__ = ["LOGGED_OUT", "SEAT_STATES", "Census", "Seat", "SeatBoard", "SeatChanged"]

SEAT_STATES = ("on_call", "ringing", "paused", "unavailable", "wrapup", "ready")
#: The state a :class:`SeatChanged` gives a seat that left its last queue.
LOGGED_OUT = "logged_out"

# Asterisk device states (AST_DEVICE_*) as QueueMember/QueueMemberStatus send them.
_DEVICE_INVALID = 4
_DEVICE_UNAVAILABLE = 5


@dataclass(frozen=True, slots=True)
class SeatChanged:
    """A seat's state changed (one of :data:`SEAT_STATES`, or :data:`LOGGED_OUT`), as of ``at``
    (Asterisk's event time). Asterisk sends no event when wrap-up ends: a ``wrapup`` seat is
    ready from ``wrapup_until`` on unless another notice comes first."""

    at: float
    interface: str
    name: str
    state: str
    paused_reason: str = ""
    wrapup_until: float = 0.0


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
    state_interface: str = ""
    # Time in state (see the module's docstring): the state since ``acct_since``, with the
    # wrap-up end and pause reason it had then, and the queue of the call whose after-call
    # work it is doing ("" when none).
    acct_state: str = ""
    acct_since: float = 0.0
    acct_wrapup_until: float = 0.0
    acct_reason: str = ""
    after_call_queue: str = ""

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


@dataclass(slots=True)
class Census:
    """The seats at one moment (:meth:`SeatBoard.census`)."""

    #: Seats by state (every state of :data:`SEAT_STATES`).
    states: dict[str, int]
    #: Paused seats by pause reason (as Asterisk reports it; "" when none given).
    paused: dict[str, int]
    #: Seat-seconds spent in each state so far (every state of :data:`SEAT_STATES`).
    state_seconds: dict[str, float]
    #: After-call work seconds so far, by the queue of the call.
    after_call_seconds: dict[str, float]


class SeatBoard:
    """Every logged-in seat, keyed by interface."""

    __slots__ = (
        "_credited_to",
        "_on_call",
        "_ringing",
        "after_call_codes",
        "after_call_s",
        "seats",
        "state_s",
        "wrapup_s",
    )

    def __init__(
        self,
        wrapup_s: Mapping[str, float] | float = 0.0,
        after_call_codes: Collection[str] = ("after_call_work",),
    ) -> None:
        #: Wrap-up seconds by queue (a float applies to every queue).
        self.wrapup_s = wrapup_s
        #: Pause reasons that are after-call work (``auto_ready`` codes).
        self.after_call_codes = frozenset(after_call_codes)
        self.seats: dict[str, Seat] = {}
        #: Call uniqueid -> the interfaces ringing for it, in the order they were rung.
        self._ringing: dict[str, dict[str, None]] = {}
        #: Call uniqueid -> the interface of the seat on it (a call is on one seat at most).
        self._on_call: dict[str, str] = {}
        #: Seat-seconds by state and after-call seconds by queue, of the intervals closed.
        self.state_s: dict[str, float] = dict.fromkeys(SEAT_STATES, 0.0)
        self.after_call_s: dict[str, float] = {}
        #: The latest moment a census counted up to: no interval closes before it.
        self._credited_to = 0.0

    # -- time in state ------------------------------------------------------------------------

    def _credit(self, seat: Seat, end: float) -> tuple[float, str, float, str]:
        """What the seat's open interval holds up to ``end``: (seconds in its state, the
        state, seconds ready after a wrap-up that ran out, the after-call queue it credits)."""
        since, state = seat.acct_since, seat.acct_state
        if end <= since:
            return 0.0, state, 0.0, seat.after_call_queue
        wu = seat.acct_wrapup_until
        if state == "wrapup" and wu < end:
            split = max(since, wu)
            return split - since, state, end - split, seat.after_call_queue
        return end - since, state, 0.0, seat.after_call_queue

    def _after_call(self, state: str, reason: str) -> bool:
        return state == "wrapup" or (state == "paused" and reason in self.after_call_codes)

    def _close(self, seat: Seat, at: float) -> float:
        """Count the seat's open interval up to ``at`` (not before a census's time); returns
        when it closed."""
        end = max(at, self._credited_to)
        if not seat.acct_state:
            return end
        secs, state, ready, queue = self._credit(seat, end)
        self.state_s[state] += secs
        if ready:
            self.state_s["ready"] += ready
        if queue and self._after_call(state, seat.acct_reason):
            self.after_call_s[queue] = self.after_call_s.get(queue, 0.0) + secs
        if end > seat.acct_since:
            seat.acct_since = end
        if ready or not self._after_call(state, seat.acct_reason):
            seat.after_call_queue = ""
        return end

    def _restate(self, seat: Seat, at: float, call_queue: str = "") -> None:
        """The seat may have changed at ``at``: close its interval, open the next."""
        end = self._close(seat, at)
        if call_queue:
            seat.after_call_queue = call_queue
        state = seat.state(end)
        seat.acct_state = state
        seat.acct_since = max(seat.acct_since, end)
        seat.acct_wrapup_until = seat.wrapup_until
        seat.acct_reason = seat.paused_reason
        if not self._after_call(state, seat.paused_reason):
            seat.after_call_queue = ""

    def census(self, now: float) -> Census:
        """Seats by state and pause reason now, and the seconds in state and of after-call
        work so far (the open intervals counted up to ``now``), in one pass."""
        now = max(now, self._credited_to)
        self._credited_to = now
        states = dict.fromkeys(SEAT_STATES, 0)
        paused: dict[str, int] = {}
        state_s = dict(self.state_s)
        after = dict(self.after_call_s)
        codes = self.after_call_codes
        # One pass over every seat at each scrape: :meth:`Seat.state` and :meth:`_credit`
        # written out here (a scrape of 1,000 seats stays well under a millisecond).
        for seat in self.seats.values():
            if seat.call is not None:
                state = "on_call"
            elif seat.ringing_for is not None:
                state = "ringing"
            elif seat.queues and seat.paused_in >= seat.queues:
                state = "paused"
                reason = seat.paused_reason
                paused[reason] = paused.get(reason, 0) + 1
            elif seat.device_status in (_DEVICE_INVALID, _DEVICE_UNAVAILABLE):
                state = "unavailable"
            elif now < seat.wrapup_until:
                state = "wrapup"
            else:
                state = "ready"
            states[state] += 1
            was = seat.acct_state
            since = seat.acct_since
            if not was or now <= since:
                continue
            secs = now - since
            if was == "wrapup" and seat.acct_wrapup_until < now:
                split = max(since, seat.acct_wrapup_until)
                state_s["ready"] += now - split
                secs = split - since
            state_s[was] += secs
            queue = seat.after_call_queue
            if queue and (was == "wrapup" or (was == "paused" and seat.acct_reason in codes)):
                after[queue] = after.get(queue, 0.0) + secs
        return Census(states, paused, state_s, after)

    def _wrapup(self, queue: str) -> float:
        w = self.wrapup_s
        return float(w) if isinstance(w, (int, float)) else float(w.get(queue, 0.0))

    def counts(self, now: float) -> dict[str, int]:
        """Seats by state (no time-in-state bookkeeping: :meth:`census` has it)."""
        out = dict.fromkeys(SEAT_STATES, 0)
        for seat in self.seats.values():
            out[seat.state(now)] += 1
        return out

    def ready_in(self, queue: str, now: float) -> int:
        """Seats of ``queue`` ready for its next caller now: members of it, not paused in it,
        and ``ready`` (not on a call, ringing, unavailable or in wrap-up)."""
        return sum(
            1
            for seat in self.seats.values()
            if queue in seat.queues and queue not in seat.paused_in and seat.state(now) == "ready"
        )

    def _seat(self, interface: str, name: str) -> Seat:
        seat = self.seats.get(interface)
        if seat is None:
            seat = self.seats[interface] = Seat(interface, name)
        return seat

    def _member(self, m: ev.MemberStatus) -> None:
        seat = self._seat(m.interface, m.member_name)
        seat.queues.add(m.queue)
        seat.device_status = m.status
        if m.state_interface:
            seat.state_interface = m.state_interface
        if m.paused:
            seat.paused_in.add(m.queue)
            seat.paused_reason = m.paused_reason
        else:
            seat.paused_in.discard(m.queue)
            if not seat.paused_in:
                seat.paused_reason = ""

    def _stop_ringing(self, uniqueid: str) -> Collection[str]:
        """Every seat ringing for this call stops; returns their interfaces."""
        rung = self._ringing.pop(uniqueid, ())
        for interface in rung:
            seat = self.seats.get(interface)
            if seat is not None and seat.ringing_for == uniqueid:
                seat.ringing_for = None
        return rung

    def _unring(self, seat: Seat) -> None:
        """The seat stops ringing; its entry in ``_ringing`` goes, and an emptied one too, so
        that ended calls leave no trace (bounded memory over a day)."""
        uid = seat.ringing_for
        if uid is None:
            return
        seat.ringing_for = None
        rung = self._ringing.get(uid)
        if rung is not None:
            rung.pop(seat.interface, None)
            if not rung:
                del self._ringing[uid]

    def reconcile(
        self, members: list[ev.MemberStatus], calls: Mapping[str, object], at: float = 0.0
    ) -> None:
        """After a resync: the seats are exactly the members ``QueueStatus`` listed; a seat's
        call is one of ``calls`` (uniqueid -> a call with ``interface``), else none; nobody is
        ringing (rings are short and Asterisk does not list them). ``at``: the snapshot's
        time (the seats' time in state changes then)."""
        listed: dict[str, set[str]] = {}
        for m in members:
            listed.setdefault(m.interface, set()).add(m.queue)
        for interface in list(self.seats):
            if interface not in listed:
                self._close(self.seats[interface], at)
                del self.seats[interface]
        for m in members:
            self._member(m)
        for interface, queues in listed.items():
            seat = self.seats[interface]
            seat.queues &= queues
            seat.paused_in &= queues
        self._ringing.clear()
        on_call: dict[str, str] = {}
        for uid, call in calls.items():
            iface = getattr(call, "interface", None)
            if iface:
                on_call[iface] = uid
        self._on_call.clear()
        for seat in self.seats.values():
            seat.ringing_for = None
            seat.call = on_call.get(seat.interface)
            if seat.call is not None:
                self._on_call[seat.call] = seat.interface
            self._restate(seat, at)

    def clear_call(self, interface: str, at: float = 0.0) -> None:
        """The seat's call is over (it ended while we were away), as of ``at``."""
        seat = self.seats.get(interface)
        if seat is not None and seat.call is not None:
            self._on_call.pop(seat.call, None)
            seat.call = None
            self._restate(seat, at)

    def call_transferred(self, interface: str, uniqueid: str, at: float = 0.0) -> bool:
        """The seat's call went on in another queue (a transfer: the caller joined it again,
        at ``at``). Asterisk frees the member and counts the call taken at the transfer, not
        at the late ``AgentComplete`` (README, the ``actions`` recording). Whether the seat
        changed."""
        seat = self.seats.get(interface)
        if seat is None or seat.call != uniqueid:
            return False
        self._on_call.pop(uniqueid, None)
        seat.call = None
        seat.calls_taken += 1
        self._restate(seat, at)
        return True

    def member_of(self) -> dict[str, str]:
        """Device (``StateInterface``, and the interface itself) -> member interface."""
        out: dict[str, str] = {}
        for seat in self.seats.values():
            out[seat.interface] = seat.interface
            base = seat.interface.removesuffix("/n")
            out.setdefault(base, seat.interface)
            if seat.state_interface:
                out[seat.state_interface] = seat.interface
        return out

    def apply(self, event: ev.DomainEvent) -> Collection[str] | None:
        """Take one event; returns the interfaces of the seats it may have changed (``None``
        when it touched none)."""
        touched = self._apply(event)
        if touched:
            at = event.at
            seats = self.seats
            ended, queue = "", ""
            if type(event) is ev.AgentCompleted:  # its seat's after-call work begins
                ended, queue = event.interface, event.queue
            for interface in touched:
                seat = seats.get(interface)
                if seat is not None:
                    self._restate(seat, at, queue if interface == ended else "")
        return touched

    def _apply(self, event: ev.DomainEvent) -> Collection[str] | None:
        match event:
            case ev.MemberStatus():
                self._member(event)
                return (event.interface,)
            case ev.MemberAdded(member=m) | ev.MemberPaused(member=m):
                self._member(m)
                return (m.interface,)
            case ev.MemberRemoved():
                seat = self.seats.get(event.interface)
                if seat is None:
                    return None
                seat.queues.discard(event.queue)
                seat.paused_in.discard(event.queue)
                if not seat.queues:
                    self._close(seat, event.at)
                    self._unring(seat)
                    if seat.call is not None:
                        self._on_call.pop(seat.call, None)
                    del self.seats[seat.interface]
                return (event.interface,)
            case ev.AgentCalled():
                seat = self.seats.get(event.interface)
                if seat is None or seat.call is not None:
                    return None
                self._unring(seat)
                seat.ringing_for = event.uniqueid
                self._ringing.setdefault(event.uniqueid, {})[seat.interface] = None
                return (event.interface,)
            case ev.AgentRingNoAnswer():
                seat = self.seats.get(event.interface)
                if seat is None or seat.ringing_for != event.uniqueid:
                    return None
                self._unring(seat)
                return (event.interface,)
            case ev.AgentConnected():
                rung = self._stop_ringing(event.uniqueid)
                seat = self.seats.get(event.interface)
                if seat is None:
                    return rung or None
                uid = event.uniqueid
                touched = [seat.interface, *(i for i in rung if i != seat.interface)]
                other = self._on_call.get(uid)
                if other is not None and other != seat.interface:
                    prev = self.seats.get(other)
                    if prev is not None and prev.call == uid:
                        prev.call = None
                        touched.append(other)
                if seat.call is not None:
                    self._on_call.pop(seat.call, None)
                seat.call = uid
                self._on_call[uid] = seat.interface
                return touched
            case ev.AgentCompleted():
                seat = self.seats.get(event.interface)
                if seat is None:
                    return None
                if seat.call is not None and event.uniqueid in ("", seat.call):
                    self._on_call.pop(seat.call, None)
                    seat.call = None
                    seat.calls_taken += 1
                seat.wrapup_until = event.at + self._wrapup(event.queue)
                return (event.interface,)
            case ev.CallerAbandoned():
                return self._stop_ringing(event.uniqueid) or None
            case ev.ChannelHungUp():
                if event.uniqueid in self._ringing:
                    return self._stop_ringing(event.uniqueid)
        return None
