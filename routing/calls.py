"""Calls in queues: the pure live state of every call from joining a queue until it ends.

The definitions of the figures live here, once (README, "Definitions"):

* **offered**: callers that joined a queue (``QueueCallerJoin``), or that a resync found waiting
  in a queue without our having seen them join;
* **answered**: offered calls connected to an operator (``AgentConnect``);
* **abandoned**: offered calls that left the queue unanswered: the caller hung up, or the
  queue's maximum wait ran out (Asterisk sends ``QueueCallerAbandon`` for both);
* **answer rate** = answered / offered, per queue (0 while nothing was offered);
* **mean wait** = the time callers spent in the queue (joining to answer, or joining to
  abandoning), summed over answered and abandoned calls, divided by their number.

So at any moment ``offered = answered + abandoned + waiting`` for each queue.

:class:`CallBoard` takes typed events (``pbx.events``) and returns what they meant for the
rest of the backend (:class:`CallAnswered`, :class:`CallEnded`, :class:`CallAbandoned`). It does
no I/O and reads no clock: the times come in the events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pbx import events as ev

__all__ = [
    "Call",
    "CallAbandoned",
    "CallAnswered",
    "CallBoard",
    "CallEnded",
    "Outcome",
    "QueueStats",
]


@dataclass(slots=True)
class Call:
    """One caller in one queue, from joining until the call ends."""

    uniqueid: str
    linkedid: str
    queue: str
    caller_num: str
    caller_name: str
    joined_at: float
    answered_at: float | None = None
    interface: str | None = None
    member_name: str | None = None


@dataclass(slots=True)
class QueueStats:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    #: Seconds in queue of the answered and abandoned calls, summed.
    wait_total_s: float = 0.0

    @property
    def answer_ratio(self) -> float:
        return self.answered / self.offered if self.offered else 0.0

    @property
    def mean_wait_s(self) -> float:
        left = self.answered + self.abandoned
        return self.wait_total_s / left if left else 0.0


@dataclass(frozen=True, slots=True)
class CallAnswered:
    call: Call


@dataclass(frozen=True, slots=True)
class CallAbandoned:
    call: Call
    at: float


@dataclass(frozen=True, slots=True)
class CallEnded:
    """An answered call is over (``AgentComplete``): the moment its ticket is written."""

    call: Call
    at: float
    talk_time: int
    reason: str


Outcome = CallAnswered | CallAbandoned | CallEnded


@dataclass(slots=True)
class CallBoard:
    """Waiting and talking calls, and the counters of each queue."""

    waiting: dict[str, dict[str, Call]] = field(default_factory=dict)
    talking: dict[str, Call] = field(default_factory=dict)
    stats: dict[str, QueueStats] = field(default_factory=dict)
    #: Events that named a call we do not know (after a restart, or a stray frame).
    unknown_calls: int = 0

    def queue_stats(self, queue: str) -> QueueStats:
        st = self.stats.get(queue)
        if st is None:
            st = self.stats[queue] = QueueStats()
            self.waiting.setdefault(queue, {})
        return st

    def waiting_count(self, queue: str) -> int:
        return len(self.waiting.get(queue, ()))

    def apply(self, event: ev.DomainEvent) -> Outcome | None:
        """Take one event; return what it meant, if anything."""
        match event:
            case ev.CallerJoined():
                return self._join(event)
            case ev.AgentConnected():
                return self._connect(event)
            case ev.AgentCompleted():
                return self._complete(event)
            case ev.CallerAbandoned():
                return self._abandon(event)
        return None

    def _join(self, e: ev.CallerJoined) -> None:
        st = self.queue_stats(e.queue)
        q = self.waiting[e.queue]
        if e.uniqueid in q:
            return None  # a repeated frame: already counted
        q[e.uniqueid] = Call(
            uniqueid=e.uniqueid,
            linkedid=e.linkedid,
            queue=e.queue,
            caller_num=e.caller_num,
            caller_name=e.caller_name,
            joined_at=e.at,
        )
        st.offered += 1
        return None

    def _connect(self, e: ev.AgentConnected) -> CallAnswered | None:
        call = self.waiting.get(e.queue, {}).pop(e.uniqueid, None)
        if call is None:
            self.unknown_calls += 1
            return None
        call.answered_at = e.at
        call.interface = e.interface
        call.member_name = e.member_name
        self.talking[e.uniqueid] = call
        st = self.queue_stats(e.queue)
        st.answered += 1
        st.wait_total_s += max(0.0, e.at - call.joined_at)
        return CallAnswered(call)

    def _complete(self, e: ev.AgentCompleted) -> CallEnded | None:
        call = self.talking.pop(e.uniqueid, None) if e.uniqueid else None
        if call is None:
            # Asterisk sometimes sends AgentComplete without the channel headers: the call
            # is the one this member was talking on in this queue.
            for uid, c in self.talking.items():
                if c.queue == e.queue and c.interface == e.interface:
                    call = self.talking.pop(uid)
                    break
        if call is None:
            self.unknown_calls += 1
            return None
        return CallEnded(call, e.at, e.talk_time, e.reason)

    def _abandon(self, e: ev.CallerAbandoned) -> CallAbandoned | None:
        call = self.waiting.get(e.queue, {}).pop(e.uniqueid, None)
        if call is None:
            self.unknown_calls += 1
            return None
        st = self.queue_stats(e.queue)
        st.abandoned += 1
        st.wait_total_s += max(0.0, e.at - call.joined_at)
        return CallAbandoned(call, e.at)

    def seen_waiting(
        self,
        *,
        queue: str,
        uniqueid: str,
        linkedid: str,
        caller_num: str,
        caller_name: str,
        joined_at: float,
    ) -> bool:
        """A resync (``QueueStatus``) found this caller waiting. Counts it as offered only if
        we had not seen it join; returns whether it was new."""
        st = self.queue_stats(queue)
        q = self.waiting[queue]
        if uniqueid in q or uniqueid in self.talking:
            return False
        q[uniqueid] = Call(uniqueid, linkedid, queue, caller_num, caller_name, joined_at)
        st.offered += 1
        return True

    def totals(self) -> QueueStats:
        t = QueueStats()
        for st in self.stats.values():
            t.offered += st.offered
            t.answered += st.answered
            t.abandoned += st.abandoned
            t.wait_total_s += st.wait_total_s
        return t
