"""The controller: feeds Asterisk's typed events into the live state and turns every answered
call into a ticket draft. Pure: no I/O; the ticket drafts go to a sink (the ticket writer).

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
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from agents.operator import SimulatedOperator
from agents.seats import SeatBoard
from pbx import events as ev
from routing.calls import CallAbandoned, CallBoard, CallEnded, ReconcileReport
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
        operator: SimulatedOperator,
        on_ticket: Callable[[TicketDraft], None],
        wrapup_s: Mapping[str, float] | float = 0.0,
        on_anomaly: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self.calls = CallBoard()
        self.seats = SeatBoard(wrapup_s)
        self.operator = operator
        self._on_ticket = on_ticket
        self._on_anomaly = on_anomaly
        self.calls_ended = 0
        self.resolved_on_call = 0
        self.last_event_at = 0.0
        #: The newest Uniqueid seen in a ``QueueCallerJoin``, as (time, sequence).
        self.newest_uid: tuple[int, int] = (-1, -1)
        self.restarts = 0
        self.syncs = 0
        self.last_report: ReconcileReport | None = None
        self._snap_at = 0.0

    @property
    def instant_resolution_ratio(self) -> float:
        return self.resolved_on_call / self.calls_ended if self.calls_ended else 0.0

    def handle(self, event: ev.DomainEvent) -> None:
        at = event.at
        if at > self.last_event_at:
            self.last_event_at = at
        self.seats.apply(event)
        calls = self.calls
        unknown = calls.unknown_calls
        outcome = calls.apply(event)
        if outcome is None:
            if calls.unknown_calls != unknown:
                self._on_anomaly("unknown_call")
            elif type(event) is ev.CallerJoined:
                self._note_uid(event.uniqueid)
            elif type(event) is ev.FullyBooted:
                calls.mark_login()
            return
        t = type(outcome)
        if t is CallEnded:
            if outcome.reason == "hangup":  # type: ignore[union-attr]
                self._on_anomaly("lost_agent_complete")
            self._ended(outcome)  # type: ignore[arg-type]
        elif t is CallAbandoned and type(event) is ev.ChannelHungUp:
            self._on_anomaly("lost_caller_abandon")

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
        self.seats.reconcile(snap.members, self.calls.talking)
        for outcome in rep.outcomes:
            if type(outcome) is CallEnded:
                self._ended(outcome)
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
            if type(outcome) is CallEnded:
                self._ended(outcome)
        for iface, seat in list(self.seats.seats.items()):
            if seat.call is not None and seat.call not in self.calls.talking:
                self.seats.clear_call(iface)
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
        decision = self.operator.decide(call.linkedid)
        self.calls_ended += 1
        if decision.resolved_on_call:
            self.resolved_on_call += 1
        assert call.answered_at is not None
        # Event times are Asterisk's, resync times ours: keep them in order for the ticket.
        answered_at = max(call.answered_at, call.joined_at)
        ended_at = max(ended.at, answered_at)
        self._on_ticket(
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
            )
        )
