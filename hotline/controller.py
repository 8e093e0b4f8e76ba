"""The controller: feeds Asterisk's typed events into the live state and turns every answered
call into a ticket draft. Pure: no I/O.

It publishes what it learns on its :class:`~hotline.bus.Bus` (DESIGN, principle 8), for the
subscribers the composition root registers (the ticket writer, metrics, the desktops):
:class:`routing.notices.CallJoined`, ``CallRung``, ``CallAnswered``, ``CallAbandoned``,
``CallEnded``, then the call's :class:`tickets.service.TicketDraft`; and
:class:`agents.seats.SeatChanged` when a seat's state changes, and Asterisk's own
:class:`pbx.events.AgentRingNoAnswer` (the seat lifecycle's auto-pause counts them). For
one event the seats' notices come first, then the call's. A notice nobody subscribed to is not
even built.

After every (re)login the AMI link hands it a :class:`~pbx.events.Snapshot` of what Asterisk
reports (:meth:`Controller.reconcile`); the rule for counting the calls that came and went
while the link was down is :meth:`routing.calls.CallBoard.reconcile`'s.

An Asterisk restart is told from a short link drop by any of: a ``Shutdown`` event or an
``Uptime`` that went backwards (seen by the link: ``Snapshot.restart_hint``), Asterisk's queue
counters going backwards, or a new ``Uniqueid`` epoch: Asterisk's Uniqueid is
``<time>.<sequence>``, the sequence counting channels since the process started, so a live
channel created *later* than the newest channel we saw but with a *smaller* sequence number
was made by a new process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import UTC, datetime

from agents.operator import Decides
from agents.seats import LOGGED_OUT, SeatBoard, SeatChanged
from config.centres import DEFAULT_CENTRE
from hotline.bus import Bus
from pbx import events as ev
from routing import notices as nt
from routing.calls import (
    GUESSED,
    CallAbandoned,
    CallAnswered,
    CallBoard,
    CallEnded,
    CallOffered,
    CallTransferred,
    Outcome,
    ReconcileReport,
)
from tickets.service import TicketDraft

__all__ = ["Controller"]

log = logging.getLogger(__name__)


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _uid_parts(uid: str) -> tuple[int, int] | None:
    """An Asterisk Uniqueid's (time, sequence): ``1795966467.5`` -> (1795966467, 5); a
    system-name prefix (``pbx1-1795966467.5``) is skipped. ``None`` if it has no such shape."""
    head, dot, seq = uid.rpartition(".")
    if not dot or not seq.isdigit():
        return None
    i = len(head)
    while i > 0 and head[i - 1].isdigit():
        i -= 1
    if i == len(head):
        return None
    return int(head[i:]), int(seq)


class Controller:
    """The live picture of calls and seats, and the counters of what became of each call.

    Instant-resolution rate = tickets resolved during the call / answered calls that have
    ended (an answered call still talking has no outcome yet).
    """

    def __init__(
        self,
        *,
        operator: Decides,
        on_ticket: Callable[[TicketDraft], object] | None = None,
        wrapup_s: Mapping[str, float] | float = 0.0,
        on_anomaly: Callable[[str], None] = lambda reason: None,
        bus: Bus | None = None,
        service_level_s: float = 20.0,
        short_abandon_s: float = 5.0,
        after_call_codes: Collection[str] = ("after_call_work",),
        centre: str = DEFAULT_CENTRE,
    ) -> None:
        """``service_level_s``, ``short_abandon_s``: the thresholds of the service level and
        of a short abandon (``routing.calls``); ``after_call_codes``: the pause reasons that
        are a call's after-call work (``agents.seats``); ``centre``: this controller's centre
        (config/centres.yaml), which every ticket it writes carries."""
        self.centre = centre
        self.calls = CallBoard(service_level_s=service_level_s, short_abandon_s=short_abandon_s)
        self.seats = SeatBoard(wrapup_s, after_call_codes)
        self.operator = operator
        #: Where the notices go (see the module's docstring).
        self.bus = bus if bus is not None else Bus()
        self._publish = self.bus.publish
        self._wants = self.bus.wants
        if on_ticket is not None:  # shorthand for a subscription to the ticket drafts
            self.bus.subscribe(TicketDraft, on_ticket, name="on_ticket")
        #: The seat states last published (only while someone subscribes to SeatChanged),
        #: and since when (event time): the supervisors' board's time in state.
        self._seat_state: dict[str, str] = {}
        self._seat_since: dict[str, float] = {}
        self._on_anomaly = on_anomaly
        self.calls_ended = 0
        self.resolved_on_call = 0
        self.last_event_at = 0.0
        #: The newest Uniqueid seen in a ``QueueCallerJoin``, as (time, sequence).
        self.newest_uid: tuple[int, int] = (-1, -1)
        #: A ``Shutdown`` seen since the last ``FullyBooted``.
        self._shutdown_seen = False
        self.restarts = 0
        self.syncs = 0
        self.last_report: ReconcileReport | None = None
        self._snap_at = 0.0
        #: Set while Asterisk's queue_log feeds the backfill: a call the resync only guessed
        #: answered (``routing.calls.GUESSED``) then gets no draft; the backfill writes the
        #: ticket of the call the queue_log says was answered.
        self.defer_guessed_tickets = False

    @property
    def instant_resolution_ratio(self) -> float:
        return self.resolved_on_call / self.calls_ended if self.calls_ended else 0.0

    def resolution_changed(self, resolved: bool) -> None:
        """An ended call's outcome changed after its ticket draft (an operator submitted it
        during wrap-up): the instant-resolution count follows."""
        self.resolved_on_call += 1 if resolved else -1

    def handle(self, event: ev.DomainEvent) -> None:
        at = event.at
        if at > self.last_event_at:
            self.last_event_at = at
        touched = self.seats.apply(event)
        if touched and self._wants(SeatChanged):
            self._seats_changed(touched, at)
        if type(event) is ev.AgentRingNoAnswer and self._wants(ev.AgentRingNoAnswer):
            self._publish(event)  # the seat lifecycle's auto-pause counts them
        calls = self.calls
        unknown = calls.unknown_calls
        outcome = calls.apply(event)
        if outcome is None:
            if calls.unknown_calls != unknown:
                # no caller data: the event's kind, queue and Uniqueid, to find what it was
                log.warning(
                    "%s in queue %s names call %s, which is not known",
                    type(event).__name__,
                    getattr(event, "queue", "?"),
                    getattr(event, "uniqueid", "?"),
                )
                self._on_anomaly("unknown_call")
            elif type(event) is ev.AgentCalled:
                if self._wants(nt.CallRung) and event.uniqueid in calls.waiting.get(
                    event.queue, ()
                ):
                    self._publish(
                        nt.CallRung(
                            at, event.queue, event.uniqueid, event.interface, event.member_name
                        )
                    )
            elif type(event) is ev.FullyBooted:
                calls.mark_login(restarted=self._boot_says_restart(event))  # type: ignore[arg-type]
            elif type(event) is ev.PbxShutdown:
                self._shutdown_seen = True
            return
        t = type(outcome)
        if isinstance(outcome, (CallOffered, CallTransferred)):
            offered = outcome if isinstance(outcome, CallOffered) else outcome.offered
            self._note_uid(offered.call.uniqueid)
            if isinstance(outcome, CallTransferred):
                was = outcome.ended.call.interface or ""
                moved = self.seats.call_transferred(was, offered.call.uniqueid, at)
                if moved and self._wants(SeatChanged):
                    self._seats_changed((was,), at)
        elif t is CallEnded:
            if outcome.reason == "hangup":  # type: ignore[union-attr]
                self._on_anomaly("lost_agent_complete")
        elif t is CallAbandoned and type(event) is ev.ChannelHungUp:
            self._on_anomaly("lost_caller_abandon")
        self._outcome(outcome, at)

    def _boot_says_restart(self, event: ev.FullyBooted) -> bool:
        """Whether Asterisk restarted since the last login: a ``Shutdown`` came, or the link
        found the boot's process newer (``FullyBooted.restarted``)."""
        restarted, self._shutdown_seen = self._shutdown_seen, False
        return restarted or event.restarted

    def _outcome(self, outcome: Outcome, at: float) -> None:
        """Publish what one outcome of the call board means; an ended call's ticket draft."""
        t = type(outcome)
        if isinstance(outcome, CallTransferred):  # the call ends here, goes on there
            self._outcome(outcome.ended, at)
            self._outcome(outcome.offered, at)
            return
        if t is CallEnded:
            self._ended(outcome)  # type: ignore[arg-type]
            return
        wants = self._wants
        call = outcome.call
        if t is CallOffered:
            if wants(nt.CallJoined):
                self._publish(
                    nt.CallJoined(
                        call.joined_at,
                        call.queue,
                        call.uniqueid,
                        call.linkedid,
                        call.caller_num,
                        call.caller_name,
                    )
                )
        elif t is CallAnswered:
            if wants(nt.CallAnswered):
                answered = call.answered_at if call.answered_at is not None else at
                self._publish(
                    nt.CallAnswered(
                        answered,
                        call.queue,
                        call.uniqueid,
                        call.linkedid,
                        call.interface or "",
                        call.member_name or call.interface or "",
                        max(0.0, answered - call.joined_at),
                    )
                )
        elif wants(nt.CallAbandoned):
            left = outcome.at  # type: ignore[union-attr]
            self._publish(
                nt.CallAbandoned(
                    left, call.queue, call.uniqueid, call.linkedid, max(0.0, left - call.joined_at)
                )
            )

    def _seats_changed(self, interfaces: Iterable[str], at: float) -> None:
        """Publish a :class:`SeatChanged` for each of these seats whose state is not the one
        last published."""
        seats = self.seats.seats
        last, since = self._seat_state, self._seat_since
        for iface in interfaces:
            seat = seats.get(iface)
            if seat is None:
                since.pop(iface, None)
                if last.pop(iface, None) is not None:
                    self._publish(SeatChanged(at, iface, iface, LOGGED_OUT))
                continue
            state = seat.state(at)
            if last.get(iface) != state:
                # a wrap-up ends with no event: ready since it ran out
                ran_out = last.get(iface) == "wrapup" and state == "ready"
                since[iface] = min(at, seat.wrapup_until) if ran_out else at
                last[iface] = state
                self._publish(
                    SeatChanged(
                        at,
                        iface,
                        seat.name,
                        state,
                        seat.paused_reason if state == "paused" else "",
                        seat.wrapup_until if state == "wrapup" else 0.0,
                    )
                )

    def _all_seats_changed(self, at: float) -> None:
        if self._wants(SeatChanged):
            self._seats_changed([*self.seats.seats, *self._seat_state], at)

    def seat_since(self, interface: str, now: float) -> float | None:
        """When the seat's present state began (event time), as far as this process saw it;
        ``None`` before it has seen the seat, or when no one subscribes to
        :class:`SeatChanged` (the desk always does). A wrap-up that ran out (Asterisk sends no event
        for it) began being ready when it ran out."""
        seat = self.seats.seats.get(interface)
        if seat is None:
            return None
        state, last = seat.state(now), self._seat_state.get(interface)
        if last is None:
            return None
        if state != last:
            if last == "wrapup" and state == "ready":
                return seat.wrapup_until
            return None
        return self._seat_since.get(interface)

    def _note_uid(self, uid: str) -> None:
        parts = _uid_parts(uid)
        if parts is not None and parts > self.newest_uid:
            self.newest_uid = parts

    def _new_epoch(self, channels: list[ev.ChannelInfo]) -> bool:
        t0, s0 = self.newest_uid
        if t0 < 0:
            return False
        for c in channels:
            parts = _uid_parts(c.uniqueid)
            if parts is not None and parts[0] > t0 and parts[1] < s0:
                return True
        return False

    def reconcile(self, snap: ev.Snapshot) -> ReconcileReport:
        """Take what Asterisk reported after a (re)login (see the module's docstring)."""
        restarted = snap.restart_hint or bool(snap.channels and self._new_epoch(snap.channels))
        rep = self.calls.reconcile(
            snap, restarted=restarted, member_of=self.seats.member_of(), settle=False
        )
        if rep.restarted:
            self.restarts += 1
            self.newest_uid = (-1, -1)
        for c in snap.channels or ():
            self._note_uid(c.uniqueid)
        self.seats.reconcile(snap.members, self.calls.talking, snap.at)
        self._all_seats_changed(snap.at)
        for outcome in rep.outcomes:
            self._outcome(outcome, snap.at)
        if snap.at > self.last_event_at:
            self.last_event_at = snap.at
        self.syncs += 1
        self.last_report = rep
        self._snap_at = snap.at
        return rep

    def after_resync(self) -> ReconcileReport | None:
        """The events held back during the resync are applied: decide the calls put aside
        (:meth:`routing.calls.CallBoard.settle`), write their tickets, and log the resync."""
        rep = self.last_report
        if rep is None:
            return None
        for outcome in self.calls.settle(self._snap_at):
            self._outcome(outcome, self._snap_at)
        for iface, seat in list(self.seats.seats.items()):
            if seat.call is not None and seat.call not in self.calls.talking:
                self.seats.clear_call(iface, self._snap_at)
        self._all_seats_changed(max(self._snap_at, self.last_event_at))
        log.log(
            logging.WARNING if rep.restarted else logging.INFO,
            "resync %d%s: %d waiting newly seen, %d answered / %d abandoned / %d ended while "
            "away, %d talking adopted, %d abandoned and %d answered never seen (no ticket), "
            "%d cut off by the restart",
            self.syncs,
            " after an Asterisk RESTART" if rep.restarted else "",
            rep.new_waiting,
            rep.answered_in_gap,
            rep.abandoned_in_gap,
            rep.ended_in_gap,
            rep.adopted_talking,
            rep.unseen_abandoned,
            rep.unseen_answered,
            rep.cut_off,
        )
        return rep

    def _ended(self, ended: CallEnded) -> None:
        call = ended.call
        if ended.reason == GUESSED and self.defer_guessed_tickets:
            self._publish_ended(ended)
            return
        decision = self.operator.decide(call.linkedid)
        self.calls_ended += 1
        if decision.resolved_on_call:
            self.resolved_on_call += 1
        answered_at, ended_at = self._publish_ended(ended)
        self._publish(
            TicketDraft(
                caller_num=call.caller_num,
                caller_name=call.caller_name,
                queue=call.queue,
                seat=call.member_name or call.interface or "",
                linkedid=call.linkedid,
                call_uniqueid=call.uniqueid,
                joined_at=_utc(call.joined_at),
                answered_at=_utc(answered_at),
                ended_at=_utc(ended_at),
                kind=decision.kind,
                resolved_on_call=decision.resolved_on_call,
                centre=self.centre,
            )
        )

    def _publish_ended(self, ended: CallEnded) -> tuple[float, float]:
        """Publish :class:`routing.notices.CallEnded`; the call's (answered, ended) times."""
        call = ended.call
        assert call.answered_at is not None
        # Event times are Asterisk's, resync times ours: keep them in order for the ticket.
        answered_at = max(call.answered_at, call.joined_at)
        ended_at = max(ended.at, answered_at)
        if self._wants(nt.CallEnded):
            self._publish(
                nt.CallEnded(
                    ended_at,
                    call.queue,
                    call.uniqueid,
                    call.linkedid,
                    call.interface or "",
                    ended_at - answered_at,
                    ended.reason,
                )
            )
        return answered_at, ended_at
