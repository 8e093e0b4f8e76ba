"""Each operator's live stream: an ordered, numbered log of what happened at their seat, which
a desktop that reconnects resumes without a gap (issue 11, item 3). Pure: no I/O, no clock.

Why a log and not just a socket: a desktop's connection drops (a Wi-Fi hand-over, a laptop lid)
in the middle of a call, and the operator must not miss that the call connected or ended. So
every message for a seat gets the next sequence number of that seat's log, and the last
:attr:`DeskStreams.replay` messages are kept. A desktop reconnects with the last number it saw
(``after``): :meth:`DeskStreams.resume` gives the messages it missed, in order, or says that
too many went by (or the process restarted: its numbers are from another log) and a
*snapshot* of the seat's present (state, the call on it and its screen pop, the open drafts)
must replace them.

Keyed by the seat interface (``users.seat``, the queue member interface of ``CallRung``,
``CallAnswered`` and ``SeatChanged``). The composition root feeds it from the controller's
notices (:mod:`hotline.desk`); the WebSocket adapter (:mod:`agents.desk_api`) listens.

Message kinds (:data:`KINDS`): ``rung``, ``connected`` (the screen pop), ``ended``,
``seat_state``, ``pause_limit`` (the seat-lifecycle rules call :meth:`DeskStreams.pause_limit`)
and ``draft_incomplete`` (the draft sweeper). A ``connected`` message may carry the caller's
number: never log a message's data.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KINDS", "DeskMessage", "DeskStreams", "Resume", "SeatLog"]

KINDS = ("rung", "connected", "ended", "seat_state", "pause_limit", "draft_incomplete")

#: Messages kept per seat for a reconnecting desktop (``HOTLINE_DESK_REPLAY``).
DEFAULT_REPLAY = 256


@dataclass(frozen=True, slots=True)
class DeskMessage:
    """One message of a seat's stream. ``at``: Asterisk's event time (epoch seconds);
    ``data``: the kind's fields (JSON-ready)."""

    seq: int
    kind: str
    at: float
    data: dict[str, Any]
    #: ``time.perf_counter()`` when what the message tells was learned (the screen pop's
    #: latency is measured from it); never sent.
    t0: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "at": self.at, **self.data}


@dataclass(frozen=True, slots=True)
class Resume:
    """What a desktop that saw up to ``after`` gets: the ``missed`` messages, in order, or
    ``snapshot_needed`` (then ``missed`` is empty and :meth:`DeskStreams.snapshot` answers)."""

    missed: tuple[DeskMessage, ...]
    snapshot_needed: bool


Listener = Callable[[DeskMessage], None]


@dataclass(slots=True)
class SeatLog:
    """One seat's numbered messages (the newest :attr:`replay` kept) and its present."""

    interface: str
    replay: int
    last_seq: int = 0
    kept: deque[DeskMessage] = field(default_factory=deque)
    listeners: list[Listener] = field(default_factory=list)
    #: The present, for a snapshot: the seat's state and the screen pop of the call on it.
    state: str = "unknown"
    state_at: float = 0.0
    call: dict[str, Any] | None = None
    #: Calls (uniqueid) whose draft is still open at this seat, oldest first.
    open_drafts: dict[str, None] = field(default_factory=dict)

    def append(self, kind: str, at: float, data: dict[str, Any], t0: float = 0.0) -> DeskMessage:
        self.last_seq += 1
        msg = DeskMessage(self.last_seq, kind, at, data, t0)
        self.kept.append(msg)
        if len(self.kept) > self.replay:
            self.kept.popleft()
        for listener in tuple(self.listeners):
            listener(msg)
        return msg

    def resume(self, after: int | None) -> Resume:
        if after is None or after > self.last_seq or after < 0:
            return Resume((), True)  # a fresh desktop, or numbers from another process
        if after == self.last_seq:
            return Resume((), False)
        oldest = self.kept[0].seq if self.kept else self.last_seq + 1
        if after + 1 < oldest:
            return Resume((), True)  # the gap fell out of the replay buffer
        return Resume(tuple(m for m in self.kept if m.seq > after), False)


class DeskStreams:
    """Every seat's :class:`SeatLog`, made on first use.

    >>> desk = DeskStreams(replay=2)
    >>> got = []
    >>> stop = desk.listen("SIP/8001", got.append)
    >>> desk.seat_state("SIP/8001", 1.0, "ready")
    >>> desk.rung("SIP/8001", 2.0, uniqueid="1.1", queue="hotline")
    >>> [m.seq for m in got], desk.resume("SIP/8001", 1).missed[0].kind
    ([1, 2], 'rung')
    """

    __slots__ = ("_logs", "replay")

    def __init__(self, *, replay: int = DEFAULT_REPLAY) -> None:
        if replay < 1:
            raise ValueError(f"replay: at least 1 message, not {replay}")
        self.replay = replay
        self._logs: dict[str, SeatLog] = {}

    def log(self, interface: str) -> SeatLog:
        found = self._logs.get(interface)
        if found is None:
            found = self._logs[interface] = SeatLog(interface, self.replay)
        return found

    def has_listeners(self, interface: str) -> bool:
        found = self._logs.get(interface)
        return bool(found and found.listeners)

    @property
    def anyone_listening(self) -> bool:
        return any(lg.listeners for lg in self._logs.values())

    def listen(self, interface: str, listener: Listener) -> Callable[[], None]:
        """``listener(message)`` for every new message of the seat; returns the function
        that stops it. Call :meth:`resume` right after, with no await in between: then no
        message falls between the missed ones and the live ones."""
        seat = self.log(interface)
        seat.listeners.append(listener)

        def stop() -> None:
            if listener in seat.listeners:
                seat.listeners.remove(listener)

        return stop

    def resume(self, interface: str, after: int | None) -> Resume:
        return self.log(interface).resume(after)

    def snapshot(self, interface: str) -> dict[str, Any]:
        """The seat's present, replacing the messages up to ``seq`` (the next message a live
        desktop gets is ``seq + 1``)."""
        seat = self.log(interface)
        return {
            "seq": seat.last_seq,
            "kind": "snapshot",
            "seat": interface,
            "state": seat.state,
            "state_at": seat.state_at,
            "call": seat.call,
            "open_drafts": list(seat.open_drafts),
        }

    # -- what happened at a seat (fed from the controller's notices) ------------------------

    def rung(self, interface: str, at: float, *, uniqueid: str, queue: str) -> None:
        self.log(interface).append("rung", at, {"call": uniqueid, "queue": queue})

    def connected(
        self, interface: str, at: float, pop: dict[str, Any], *, t0: float = 0.0
    ) -> DeskMessage:
        """The call connected at the seat; ``pop`` is the screen pop (with ``call``, the
        call's uniqueid, also its draft's id when ``draft`` is true). ``t0``: see
        :attr:`DeskMessage.t0`."""
        seat = self.log(interface)
        seat.call = pop
        call = str(pop.get("call", ""))
        if call and pop.get("draft"):
            seat.open_drafts[call] = None
        return seat.append("connected", at, pop, t0)

    def ended(
        self, interface: str, at: float, *, uniqueid: str, talk_s: float, reason: str
    ) -> None:
        seat = self.log(interface)
        if seat.call is not None and seat.call.get("call") == uniqueid:
            seat.call = None
        seat.append("ended", at, {"call": uniqueid, "talk_s": round(talk_s, 3), "reason": reason})

    def seat_state(
        self, interface: str, at: float, state: str, *, reason: str = "", until: float = 0.0
    ) -> None:
        seat = self.log(interface)
        seat.state, seat.state_at = state, at
        data: dict[str, Any] = {"state": state}
        if reason:
            data["reason"] = reason
        if until:
            data["until"] = until
        seat.append("seat_state", at, data)

    def pause_limit(self, interface: str, at: float, *, reason: str, limit_s: float) -> None:
        """The seat has been paused (for ``reason``) longer than its limit: the hook the
        seat-lifecycle rules call."""
        self.log(interface).append("pause_limit", at, {"reason": reason, "limit_s": limit_s})

    def draft_submitted(self, interface: str, uniqueid: str) -> None:
        self.log(interface).open_drafts.pop(uniqueid, None)

    def draft_incomplete(self, interface: str, at: float, *, uniqueid: str) -> None:
        """The call's draft was not submitted within the wrap-up limit (the sweeper)."""
        seat = self.log(interface)
        seat.open_drafts.pop(uniqueid, None)
        seat.append("draft_incomplete", at, {"call": uniqueid})
