"""The controller: feeds Asterisk's typed events into the live state and turns every answered
call into a ticket draft. Pure: no I/O; the ticket drafts go to a sink (the ticket writer).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from agents.operator import SimulatedOperator
from agents.seats import SeatBoard
from pbx import events as ev
from pbx.codec import Frame
from routing.calls import CallBoard, CallEnded
from tickets.service import TicketDraft

__all__ = ["Controller"]

log = logging.getLogger(__name__)


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


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
    ) -> None:
        self.calls = CallBoard()
        self.seats = SeatBoard(wrapup_s)
        self.operator = operator
        self._on_ticket = on_ticket
        self.calls_ended = 0
        self.resolved_on_call = 0
        self.last_event_at = 0.0

    @property
    def instant_resolution_ratio(self) -> float:
        return self.resolved_on_call / self.calls_ended if self.calls_ended else 0.0

    def handle(self, event: ev.DomainEvent) -> None:
        at = event.at
        if at > self.last_event_at:
            self.last_event_at = at
        self.seats.apply(event)
        outcome = self.calls.apply(event)
        if type(outcome) is CallEnded:
            self._ended(outcome)

    def _ended(self, ended: CallEnded) -> None:
        call = ended.call
        decision = self.operator.decide(call.linkedid)
        self.calls_ended += 1
        if decision.resolved_on_call:
            self.resolved_on_call += 1
        assert call.answered_at is not None
        self._on_ticket(
            TicketDraft(
                caller_num=call.caller_num,
                caller_name=call.caller_name,
                queue=call.queue,
                seat=call.member_name or call.interface or "",
                linkedid=call.linkedid,
                call_uniqueid=call.uniqueid,
                joined_at=_utc(call.joined_at),
                answered_at=_utc(call.answered_at),
                ended_at=_utc(ended.at),
                kind=decision.kind,
                resolved_on_call=decision.resolved_on_call,
            )
        )

    def resync(self, items: Iterable[ev.DomainEvent | Frame], now: float) -> int:
        """Take a ``QueueStatus`` answer: members into the seats, and waiting callers we had
        not seen join into the queues (counted as offered). Returns how many callers were new.
        """
        new = 0
        for item in items:
            if isinstance(item, Frame):
                if item.event != "QueueEntry":
                    continue
                uid = item.get("Uniqueid")
                queue = item.get("Queue")
                if not uid or not queue:
                    continue
                try:
                    wait = max(0, int(item.get("Wait", "0") or 0))
                except ValueError:
                    wait = 0
                new += self.calls.seen_waiting(
                    queue=queue,
                    uniqueid=uid,
                    linkedid=item.get("Linkedid") or uid,
                    caller_num=item.get("CallerIDNum"),
                    caller_name=item.get("CallerIDName"),
                    joined_at=now - wait,
                )
            else:
                self.seats.apply(item)
        return new
