"""The operators' desk wired into the process: the controller's notices into each seat's
stream (:class:`agents.desk_stream.DeskStreams`), the screen pop put together, the drafts
stored as calls connect and end, and swept when left past the wrap-up limit.

Why here: the screen pop joins what three packages know (the call from ``routing``'s notices,
the seat from ``agents``, the caller's tickets from ``tickets``) and what the IVR recorded;
only the composition root may know all of them.

**Who decides a ticket's kind and outcome.** A seat *has an operator* while a stream of a
user with that seat is open, and for ``HOTLINE_DESK_PRESENCE_GRACE_S`` after it closed (a
desktop that reconnects keeps its calls). A call answered at such a seat gets a draft; the
controller's ticket draft at the call's end then takes the operator's submission if it came
during the call, else ``unclassified`` and not resolved, and the submission that comes later
(in wrap-up) updates the stored ticket (``tickets.drafts.submit``). At a seat with no
operator the :class:`agents.operator.SimulatedOperator` decides, as before.

**Instant-resolution rate** (``hotline_instant_resolution_ratio``) = tickets resolved on the
call / answered calls that ended; at a seat with an operator "resolved" is the operator's
submission with an answer, and a draft never submitted (incomplete) is not resolved.

**Screen pop** (``connected``): the call (its Uniqueid, also the draft's id), Linkedid, queue,
the caller's number masked (``138****1234``; the full number too only with
``HOTLINE_DESK_FULL_NUMBER``: callbacks go through the system, so an operator needs no
digits), the caller's name, seconds waited in the queue, the IVR's path and language (what it
set for the call: ``IVR_MENU``, ``IVR_LANG``, ``IVR_DISTRICT``, ``IVR_KIND``, ``IVR_QUEUE``;
``null`` when the call did not go through our IVR), the caller's earlier tickets (newest
first, ``HOTLINE_DESK_EARLIER_TICKETS``) and ``repeat_caller`` (a ticket within
``HOTLINE_REPEAT_CALLER_DAYS``). The tickets are read when the caller joins the queue, while
someone is signed in anywhere, so the pop goes out on the ``AgentConnect`` itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agents.desk_stream import DeskMessage, DeskStreams
from agents.operator import Decision, SimulatedOperator
from agents.seats import SeatChanged
from config.centres import DEFAULT_CENTRE
from hotline.bus import Bus
from routing import notices as nt
from tickets import drafts
from tickets.api import mask_number
from tickets.draft_writer import DraftWriter
from tickets.models import OperatorDraft

__all__ = ["Desk", "DeskSettings"]

log = logging.getLogger(__name__)

#: Calls remembered for their IVR path and their earlier tickets (a busy hour is ~3,000).
MEMORY = 10_000
#: Screen-pop latencies kept (seconds, newest last).
LATENCIES = 100_000


@dataclass(frozen=True, slots=True)
class DeskSettings:
    earlier_tickets: int = 5
    repeat_days: float = 30.0
    full_number: bool = False
    wrapup_limit_s: float = 300.0
    sweep_s: float = 10.0
    presence_grace_s: float = 60.0
    #: The controller's centre: its drafts are (centre, call) (config/centres.yaml).
    centre: str = DEFAULT_CENTRE


@dataclass(slots=True)
class _Joined:
    caller_num: str
    caller_name: str
    history: asyncio.Task[drafts.CallHistory] | None = None


@dataclass(slots=True)
class _HumanCall:
    seat: str
    uniqueid: str
    ended: bool = False
    decision: Decision | None = None


def _number(raw: str) -> str:
    """The caller's number, or ``""`` when withheld (Asterisk's ``<unknown>``): a withheld
    number has no history, or every withheld caller would share one."""
    return raw if raw and raw != "<unknown>" and any(c.isdigit() for c in raw) else ""


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class Desk:
    def __init__(
        self,
        streams: DeskStreams,
        *,
        simulated: SimulatedOperator,
        sessions: Callable[[], async_sessionmaker[AsyncSession] | None],
        now: Callable[[], float],
        seat_state: Callable[[str], str],
        resolution_changed: Callable[[bool], None],
        settings: DeskSettings | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.streams = streams
        self.simulated = simulated
        self._sessions = sessions
        self.now = now
        self._seat_state = seat_state
        self._resolution_changed = resolution_changed
        self.settings = settings or DeskSettings()
        self._mono = monotonic
        #: Seat -> the person signed in there (``SignedIn``), and open streams per seat.
        self._people: dict[str, Any] = {}
        self._open: dict[str, int] = {}
        self._left: dict[str, float] = {}
        #: Waiting callers (uniqueid) -> their number, name and earlier tickets.
        self._joined: dict[str, _Joined] = {}
        #: Linkedid -> what the IVR set for the call (insertion-ordered, the newest kept).
        self._ivr: dict[str, dict[str, str]] = {}
        #: Linkedid -> an answered call at a seat with an operator.
        self._human: dict[str, _HumanCall] = {}
        self.writer: DraftWriter | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Seconds from the notice of the answer to the pop's send, per pop sent.
        self.pop_latencies: deque[float] = deque(maxlen=LATENCIES)
        #: Calls the simulated operator decided (their seat had no operator).
        self.fallback_decisions = 0

    # -- wiring --------------------------------------------------------------------------

    def subscribe(self, bus: Bus) -> None:
        bus.subscribe(nt.CallJoined, self._joined_call, name="desk")
        bus.subscribe(nt.CallRung, self._rung, name="desk")
        bus.subscribe(nt.CallAnswered, self._answered, name="desk")
        bus.subscribe(nt.CallAbandoned, self._abandoned, name="desk")
        bus.subscribe(nt.CallEnded, self._ended, name="desk")
        bus.subscribe(SeatChanged, self._seat_changed, name="desk")

    def start(self) -> None:
        sessions = self._sessions()
        assert sessions is not None
        self.writer = DraftWriter(sessions, centre=self.settings.centre)
        self.writer.start()
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_loop())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            try:
                await self._sweeper
            except asyncio.CancelledError:
                pass
        for task in list(self._tasks):
            task.cancel()
        if self.writer is not None:
            await self.writer.stop()

    def sessions(self) -> async_sessionmaker[AsyncSession]:
        made = self._sessions()
        if made is None:
            raise HTTPException(503, "the store is not open yet")
        return made

    async def flush(self) -> None:
        if self.writer is not None and self.writer.pending:
            await self.writer.drain(10.0)

    # -- presence (the stream's attach and detach) ----------------------------------------

    def attach(self, who: Any) -> None:
        seat = who.seat
        self._people[seat] = who
        self._open[seat] = self._open.get(seat, 0) + 1
        self._left.pop(seat, None)
        log_ = self.streams.log(seat)
        if log_.state == "unknown":
            log_.state, log_.state_at = self._seat_state(seat), self.now()

    def detach(self, who: Any) -> None:
        seat = who.seat
        left = self._open.get(seat, 0) - 1
        if left > 0:
            self._open[seat] = left
            return
        self._open.pop(seat, None)
        self._left[seat] = self._mono()

    def present(self, seat: str) -> bool:
        """Whether someone is at the seat (see the module's docstring)."""
        if seat in self._open:
            return True
        left = self._left.get(seat)
        if left is None:
            return False
        if self._mono() - left <= self.settings.presence_grace_s:
            return True
        del self._left[seat]
        self._people.pop(seat, None)
        return False

    @property
    def streams_open(self) -> int:
        return sum(self._open.values())

    @property
    def busy(self) -> bool:
        """Screen pops still waiting for the caller's history, or drafts not yet stored."""
        pending = self.writer.pending if self.writer is not None else 0
        return bool(pending) or any(not t.done() for t in self._tasks)

    @property
    def anyone_present(self) -> bool:
        return bool(self._open) or any(self.present(s) for s in list(self._left))

    def sent(self, msg: DeskMessage) -> None:
        if msg.kind == "connected" and msg.t0:
            self.pop_latencies.append(time.perf_counter() - msg.t0)

    # -- the IVR's record ------------------------------------------------------------------

    def ivr_finished(self, linkedid: str, variables: dict[str, str]) -> None:
        """What the IVR set for a call on its way to a queue (its ``Finish``)."""
        if not linkedid or "IVR_QUEUE" not in variables:
            return
        ivr = self._ivr
        ivr[linkedid] = {
            "menu": variables.get("IVR_MENU", ""),
            "language": variables.get("IVR_LANG", ""),
            "district": variables.get("IVR_DISTRICT", ""),
            "kind": variables.get("IVR_KIND", ""),
            "queue": variables.get("IVR_QUEUE", ""),
        }
        if len(ivr) > MEMORY:
            del ivr[next(iter(ivr))]

    # -- who decides (the controller's operator) -------------------------------------------

    def decide(self, linkedid: str) -> Decision:
        call = self._human.get(linkedid)
        if call is None:
            self.fallback_decisions += 1
            return self.simulated.decide(linkedid)
        call.ended = True
        return call.decision or Decision(kind="unclassified", resolved_on_call=False)

    def submitted(self, draft: OperatorDraft, repeated: bool) -> None:
        """A draft was submitted (``tickets.drafts_api``)."""
        self.streams.draft_submitted(draft.seat, draft.call_uniqueid)
        if repeated:
            return
        resolved = bool(draft.resolved_on_call)
        call = self._human.get(draft.linkedid)
        # after a transfer the Linkedid's call may be another seat's: not this draft's
        mine = call is not None and call.seat == draft.seat
        if call is not None and mine and not call.ended:
            call.decision = Decision(kind=str(draft.kind), resolved_on_call=resolved)
            return
        if mine:
            self._human.pop(draft.linkedid, None)
        if resolved:  # its ticket draft counted it unresolved at the call's end
            self._resolution_changed(True)

    # -- the controller's notices ---------------------------------------------------------

    def _joined_call(self, n: nt.CallJoined) -> None:
        name = "" if n.caller_name == "<unknown>" else n.caller_name
        joined = _Joined(_number(n.caller_num), name)
        if self.anyone_present and self.settings.earlier_tickets:
            joined.history = self._spawn(self._history(n.caller_num))
        self._joined[n.uniqueid] = joined
        if len(self._joined) > MEMORY:
            old = self._joined.pop(next(iter(self._joined)))
            if old.history is not None:
                old.history.cancel()

    def _abandoned(self, n: nt.CallAbandoned) -> None:
        joined = self._joined.pop(n.uniqueid, None)
        if joined is not None and joined.history is not None:
            joined.history.cancel()
        self._ivr.pop(n.linkedid, None)

    def _rung(self, n: nt.CallRung) -> None:
        if self.present(n.interface):
            self.streams.rung(n.interface, n.at, uniqueid=n.uniqueid, queue=n.queue)

    def _seat_changed(self, n: SeatChanged) -> None:
        if self.present(n.interface):
            self.streams.seat_state(
                n.interface, n.at, n.state, reason=n.paused_reason, until=n.wrapup_until
            )

    def _answered(self, n: nt.CallAnswered) -> None:
        t0 = time.perf_counter()
        joined = self._joined.pop(n.uniqueid, None)
        ivr = self._ivr.pop(n.linkedid, None)
        seat = n.interface
        if not seat or not self.present(seat):
            if joined is not None and joined.history is not None:
                joined.history.cancel()
            return
        who = self._people.get(seat)
        # A transferred call answered again keeps its Uniqueid, and a draft is one per
        # Uniqueid: the first operator's. This operator's part is a ticket of its own,
        # not classified by them (no draft to submit).
        transferred = n.linkedid in self._human
        if who is not None and self.writer is not None:
            self._human[n.linkedid] = _HumanCall(seat, n.uniqueid)
        if who is not None and self.writer is not None and not transferred:
            self.writer.opened(
                drafts.DraftOpened(
                    call_uniqueid=n.uniqueid,
                    linkedid=n.linkedid,
                    operator_id=who.user_id,
                    seat=seat,
                    queue=n.queue,
                    answered_at=_utc(n.at),
                    created_at=_utc(self.now()),
                    centre=self.settings.centre,
                )
            )
        caller = joined.caller_num if joined else ""
        pop: dict[str, Any] = {
            "call": n.uniqueid,
            "linkedid": n.linkedid,
            "queue": n.queue,
            "draft": who is not None and not transferred,
            "caller": mask_number(caller),
            "caller_name": joined.caller_name if joined else "",
            "waited_s": round(n.wait_s, 1),
            "ivr": ivr,
        }
        if self.settings.full_number:
            pop["caller_number"] = caller
        history = joined.history if joined else None
        if history is None:
            history = self._spawn(self._history(caller))
        if history.done() and not history.cancelled() and history.exception() is None:
            self._pop(seat, n.at, pop, history.result(), t0)
            return

        async def when_ready() -> None:
            try:
                found = await history
            except Exception:  # the store is down: the pop goes without the history
                found = None
            self._pop(seat, n.at, pop, found, t0)

        self._spawn(when_ready())

    def _pop(
        self,
        seat: str,
        at: float,
        pop: dict[str, Any],
        history: drafts.CallHistory | None,
        t0: float,
    ) -> None:
        pop["earlier_tickets"] = list(history.tickets) if history else None
        pop["repeat_caller"] = history.repeat_caller if history else None
        self.streams.connected(seat, at, pop, t0=t0)

    def _ended(self, n: nt.CallEnded) -> None:
        if n.linkedid in self._human or self.present(n.interface):
            if n.interface:
                self.streams.ended(
                    n.interface, n.at, uniqueid=n.uniqueid, talk_s=n.talk_s, reason=n.reason
                )
            if n.linkedid in self._human and self.writer is not None:
                self.writer.ended(n.uniqueid, _utc(n.at))

    # -- background work ------------------------------------------------------------------

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _history(self, caller_num: str) -> drafts.CallHistory:
        if not caller_num:
            return drafts.CallHistory((), False)
        s = self.settings
        async with self.sessions()() as session:
            return await drafts.caller_history(
                session,
                caller_num,
                now=_utc(self.now()),
                limit=s.earlier_tickets,
                repeat_days=s.repeat_days,
            )

    async def sweep(self) -> int:
        """Mark the drafts left past the wrap-up limit incomplete; tell their seats."""
        async with self.sessions()() as session:
            swept = await drafts.sweep_incomplete(
                session, _utc(self.now()), self.settings.wrapup_limit_s, self.settings.centre
            )
        at = self.now()
        for seat, uid in swept:
            self.streams.draft_incomplete(seat, at, uniqueid=uid)
        gone = {uid for _, uid in swept}
        for linkedid, call in list(self._human.items()):
            if call.uniqueid in gone:
                del self._human[linkedid]
        return len(swept)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_s)
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("sweeping the drafts failed (%s); next time", type(e).__name__)
