"""Calls in queues: the pure live state of every call from joining a queue until it ends.

The definitions of the figures live here, once (README, "Definitions"):

* **offered**: callers that joined a queue (``QueueCallerJoin``), or that a resync found waiting
  in a queue without our having seen them join;
* **answered**: offered calls connected to an operator (``AgentConnect``);
* **abandoned**: offered calls that left the queue unanswered: the caller hung up, or the
  queue's maximum wait ran out (Asterisk sends ``QueueCallerAbandon`` for both);
* **answer rate** = answered / offered, per queue (not defined, None, while nothing was offered);
* **mean wait** = the time callers spent in the queue (joining to answer, or joining to
  abandoning), summed over answered and abandoned calls, divided by their number.

So at any moment ``offered = answered + abandoned + waiting`` for each queue.

The supervisors' figures (README, "Definitions"), each on these counters (:class:`QueueStats`):

* **abandon reason**: ``caller`` when the caller's channel was asked to hang up before its
  ``QueueCallerAbandon`` (a ``HangupRequest``/``SoftHangupRequest`` of that channel: the
  caller hung up), ``timeout`` when Queue() let the caller go with the line still up (its
  maximum wait ran out, or the queue emptied: the queue_log's ``EXITWITHTIMEOUT``/
  ``EXITEMPTY``), ``unknown`` when the controller did not see the call leave (decided at a
  resync, or after the hang-up grace). ``abandoned`` is their sum. One known misreading: an
  AMI ``Hangup`` action on a waiting caller's channel sends no request event first
  (Asterisk's ``ast_softhangup_nolock``), so it counts as a timeout.
* **short abandon**: an abandoned call (any reason) whose wait was under ``short_abandon_s``.
  It stays inside *abandoned* and *offered*: the city's answer rate is answered / offered,
  with no call left out.
* **completed**: answered calls that ended (``AgentComplete``, a transfer out of the queue,
  or ended by the controller: hang-up grace, resync, restart), as app_queue's
  ``callscompleted``. Answered callers the controller never saw (counted from Asterisk's
  counters after a link outage) are answered but not completed: their wait and talk are
  unknown.
* **service level** (app_queue's ``servicelevelperf``) = completed calls answered within the
  threshold / completed calls; **SL2** (``servicelevelperf2``) = (completed calls answered
  within + abandoned calls that left within) / (completed + abandoned). "Within" is
  app_queue's test ``hold <= servicelevel`` on its whole-second hold time: the
  ``HoldTime`` of the ``AgentConnect`` or ``QueueCallerAbandon`` (the figure app_queue
  compares); without one, the wait in whole seconds. An answered call counts when it ends,
  as app_queue counts it. Abandons whose wait is unknown count as not within.
* **average speed of answer** = the waits (join to answer) of answered calls / answered.
* **talk** of a completed call: Asterisk's ``TalkTime``; when the call ended without one,
  answer to end as the controller saw them. The handle time adds the seat's after-call work
  (``agents.seats``).

**After a reconnect** (:meth:`CallBoard.reconcile`, README "Reconnect and resync") the calls
that came and went while the link was down are counted from what Asterisk reports:
``QueueStatus`` (waiting callers, and each queue's ``Completed``/``Abandoned`` counters) and
``CoreShowChannels`` (live channels and their bridges). Each call is counted once: a caller
already counted is never counted again, and the counter deltas only cover calls we did not see.

**Callers cut off by an Asterisk restart**: a waiting caller counts as *abandoned* and a
talking one as *answered* (its ticket is written, ended at the restart), as Asterisk's own
shutdown does (``QueueCallerAbandon``/``AgentComplete`` for each, README s17).

:class:`CallBoard` takes typed events (``pbx.events``) and returns what they meant for the
rest of the backend (:class:`CallAnswered`, :class:`CallEnded`, :class:`CallAbandoned`). It does
no I/O and reads no clock: the times come in the events.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from pbx import events as ev

__all__ = [
    "ABANDON_REASONS",
    "Call",
    "CallAbandoned",
    "CallAnswered",
    "CallBoard",
    "CallEnded",
    "CallOffered",
    "CallTransferred",
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
    #: The login generation under which we first saw it (see :meth:`CallBoard.mark_login`).
    gen: int = 0
    #: The caller's channel (``QueueCallerJoin``'s ``Channel``; "" when a resync did not say).
    channel: str = ""
    #: The queue priority (``QUEUE_PRIO``) the IVR gave the call, or a resync's ``QueueEntry``
    #: reported (0, Queue()'s default, when neither said).
    priority: int = 0
    #: A hang-up of the caller's channel was asked while it waited (the abandon's reason).
    hangup_asked: bool = False
    #: app_queue's whole-second hold time at the answer (-1 before it is answered).
    hold_s: int = -1


#: ``hotline_calls_abandoned_total``'s reasons (see the module's definitions).
ABANDON_REASONS = ("caller", "timeout", "unknown")


@dataclass(slots=True)
class QueueStats:
    offered: int = 0
    answered: int = 0
    #: Every abandon, of any reason (the sum of the three below).
    abandoned: int = 0
    #: Seconds in queue of the answered and abandoned calls, summed.
    wait_total_s: float = 0.0
    abandoned_caller: int = 0
    abandoned_timeout: int = 0
    abandoned_unknown: int = 0
    #: Abandons whose wait was under the short-abandon threshold (inside ``abandoned``).
    abandoned_short: int = 0
    #: Abandons within the service level (app_queue's ``callsabandonedinsl``).
    abandoned_in_sl: int = 0
    #: Answered calls that ended (app_queue's ``callscompleted``), and of them those answered
    #: within the service level (``callscompletedinsl``).
    completed: int = 0
    completed_in_sl: int = 0
    #: Waits (join to answer) of the answered calls, summed.
    answer_wait_s: float = 0.0
    #: Talk seconds of the completed calls, summed.
    talk_s: float = 0.0

    @property
    def service_level_ratio(self) -> float | None:
        """app_queue's ``servicelevelperf`` as a ratio; None before a call completed."""
        return self.completed_in_sl / self.completed if self.completed else None

    @property
    def service_level2_ratio(self) -> float | None:
        """app_queue's ``servicelevelperf2`` as a ratio; None before a call completed or
        was abandoned."""
        n = self.completed + self.abandoned
        return (self.completed_in_sl + self.abandoned_in_sl) / n if n else None

    @property
    def average_speed_of_answer_s(self) -> float | None:
        """Waits of answered calls / answered calls; None before one was answered."""
        return self.answer_wait_s / self.answered if self.answered else None

    def abandoned_by_reason(self) -> tuple[int, int, int]:
        """(caller, timeout, unknown), in :data:`ABANDON_REASONS`' order."""
        return (self.abandoned_caller, self.abandoned_timeout, self.abandoned_unknown)

    @property
    def answer_ratio(self) -> float | None:
        """answered / offered; None (not defined) before the first offered call."""
        return self.answered / self.offered if self.offered else None

    @property
    def mean_wait_s(self) -> float | None:
        """Seconds in queue over the calls that left it; None (not defined) before one has."""
        left = self.answered + self.abandoned
        return self.wait_total_s / left if left else None


def rounded(value: float | None, ndigits: int) -> float | None:
    """A figure rounded for a report, None (not defined) kept as None (JSON ``null``)."""
    return None if value is None else round(value, ndigits)


@dataclass(frozen=True, slots=True)
class CallOffered:
    """A caller is newly offered: it joined, or a resync found it waiting or talking."""

    call: Call


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
    #: Asterisk's ``TalkTime``; ``None`` when it sent none we could read.
    talk_time: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class CallTransferred:
    """A talking caller joined a queue again (``QueueCallerJoin`` of its channel after its
    ``AgentConnect``): it was transferred (an AMI ``Redirect`` into another queue keeps the
    channel, so its Uniqueid and Linkedid). Its answered call is over (``ended``, reason
    ``transfer``) and it is offered anew in the queue it joined (``offered``).

    Asterisk counts the first call completed at the redirect (``QueueStatus`` right after it),
    but sends that queue's ``AgentComplete`` only when the caller finally hangs up (README,
    the ``actions`` recording): that late event is dropped (see ``CallBoard._complete``)."""

    ended: CallEnded
    offered: CallOffered


Outcome = CallOffered | CallAnswered | CallAbandoned | CallEnded | CallTransferred

#: ``CallEnded.reason`` of a call that went on in another queue (:class:`CallTransferred`).
TRANSFER = "transfer"

#: ``CallEnded.reason`` of a call we held as waiting that the resync took as answered and
#: ended from Asterisk's counters alone (rule 4): right in number, but possibly not this
#: call (another caller may have been the one answered). With the queue_log at hand the
#: backfill writes the ticket of the call that really was, so the controller drafts none.
GUESSED = "guessed"


@dataclass(slots=True)
class ReconcileReport:
    """What one :meth:`CallBoard.reconcile` found (for the log and the tests)."""

    restarted: bool = False
    new_waiting: int = 0  # callers found waiting that we had not seen join
    answered_in_gap: int = 0  # known waiting callers found talking
    adopted_talking: int = 0  # unknown callers found talking in a queue
    abandoned_in_gap: int = 0  # known waiting callers that left unanswered
    ended_in_gap: int = 0  # known calls that ended while we were away (tickets written)
    unseen_abandoned: int = 0  # callers we never saw, abandoned (from Asterisk's counter)
    unseen_answered: int = 0  # callers we never saw, answered and ended: no ticket possible
    cut_off: int = 0  # known calls lost in an Asterisk restart
    outcomes: list[Outcome] = field(default_factory=list)


#: Seconds (event time) a call may stay held after its channel hung up before it is ended
#: without its closing queue event.
HANGUP_GRACE_S = 30.0


def _channel_base(name: str) -> str:
    """``Local/8001@agents-0000000a;1`` -> ``Local/8001@agents``; ``PJSIP/8001-0000001f`` ->
    ``PJSIP/8001``: the device a queue member's ``StateInterface`` names."""
    base, sep, _ = name.rpartition("-")
    return base if sep else name


#: Linkedids whose IVR priority is remembered until their caller joins a queue.
_PRIORITY_MEMORY = 10_000


@dataclass(slots=True)
class CallBoard:
    """Waiting and talking calls, and the counters of each queue."""

    #: The service-level threshold (app_queue's ``servicelevel``), seconds.
    service_level_s: float = 20.0
    #: An abandon whose wait is under this is also a short abandon, seconds.
    short_abandon_s: float = 5.0
    waiting: dict[str, dict[str, Call]] = field(default_factory=dict)
    talking: dict[str, Call] = field(default_factory=dict)
    stats: dict[str, QueueStats] = field(default_factory=dict)
    #: Events that named a call we do not know (after a restart, or a stray frame).
    unknown_calls: int = 0
    #: Per queue ``[Completed, Abandoned]`` as Asterisk reported them at the last resync, and
    #: the ``AgentComplete``/``QueueCallerAbandon`` events of calls we held seen since (an
    #: event for a call we never held is left to the next resync's counter delta).
    pbx_base: dict[str, list[int]] = field(default_factory=dict)
    #: Answered calls Asterisk counted that we never saw (no ticket could be written).
    tickets_unknowable: int = 0
    #: Calls whose channel hung up before their closing queue event: uniqueid -> hang-up time.
    _hung: dict[str, float] = field(default_factory=dict)
    #: Logins so far (a call remembers the one it was first seen under).
    generation: int = 0
    # Between reconcile() and settle(): calls put aside, and Asterisk's unexplained counts.
    _limbo: dict[str, Call] = field(default_factory=dict)
    _gone_talking: set[str] = field(default_factory=set)
    _deltas: dict[str, list[int]] = field(default_factory=dict)
    _report: ReconcileReport | None = None
    #: A login was marked and no resync has reconciled since (see :meth:`mark_login`).
    _unsynced_login: bool = False
    #: (uniqueid, queue) of calls transferred out of a queue whose late ``AgentComplete``
    #: has not come yet (see :class:`CallTransferred`): the member's interface and when the
    #: call was answered there, to know that event when it comes without channel headers.
    _transferred: dict[tuple[str, str], tuple[str | None, float | None]] = field(
        default_factory=dict
    )
    #: Linkedid -> the queue priority the IVR gave the call (:meth:`note_priority`).
    _priorities: dict[str, int] = field(default_factory=dict)

    def queue_stats(self, queue: str) -> QueueStats:
        st = self.stats.get(queue)
        if st is None:
            st = self.stats[queue] = QueueStats()
            self.waiting.setdefault(queue, {})
        return st

    def waiting_count(self, queue: str) -> int:
        return len(self.waiting.get(queue, ()))

    def waiting_by_priority(self, queue: str) -> dict[int, int]:
        """Callers waiting in ``queue`` now, by queue priority."""
        out: dict[int, int] = {}
        for c in self.waiting.get(queue, {}).values():
            out[c.priority] = out.get(c.priority, 0) + 1
        return out

    def note_priority(self, linkedid: str, value: int | str) -> None:
        """The IVR gave the call of ``linkedid`` this queue priority (``QUEUE_PRIO``; a value
        that is not a whole number, or none, is ignored): its caller gets it when it joins a
        queue (also when it is already waiting: the IVR's end and the join may come in
        either order)."""
        try:
            priority = int(value)
        except ValueError:
            return
        memo = self._priorities
        memo[linkedid] = priority
        if len(memo) > _PRIORITY_MEMORY:
            del memo[next(iter(memo))]
        for q in self.waiting.values():
            for c in q.values():
                if c.linkedid == linkedid:
                    c.priority = priority

    def longest_wait_s(self, queue: str, now: float) -> float:
        """How long the caller waiting longest in ``queue`` has waited (0 with none)."""
        waits = [now - c.joined_at for c in self.waiting.get(queue, {}).values()]
        return max(0.0, *waits) if waits else 0.0

    def apply(self, event: ev.DomainEvent) -> Outcome | None:
        """Take one event; return what it meant, if anything."""
        match event:
            case ev.CallerJoined():
                return self._join(event)  # CallOffered for a new caller, None for a repeat
            case ev.AgentConnected():
                return self._connect(event)
            case ev.AgentCompleted():
                return self._complete(event)
            case ev.CallerAbandoned():
                return self._abandon(event)
            case ev.ChannelHungUp():
                return self._hangup(event)
            case ev.HangupRequested():
                self._hangup_asked(event.uniqueid)
        return None

    def _hangup_asked(self, uniqueid: str) -> None:
        for q in self.waiting.values():
            call = q.get(uniqueid)
            if call is not None:
                call.hangup_asked = True
                return

    def _hold(self, hold_time: int | None, wait: float) -> int:
        """app_queue's whole-second hold time: Asterisk's figure, else the wait's seconds."""
        return hold_time if hold_time is not None else int(wait)

    def _count_abandon(
        self, st: QueueStats, reason: str, wait: float | None, hold_time: int | None = None
    ) -> None:
        """One abandon of ``reason``; ``wait`` None when it is not known."""
        st.abandoned += 1
        if reason == "caller":
            st.abandoned_caller += 1
        elif reason == "timeout":
            st.abandoned_timeout += 1
        else:
            st.abandoned_unknown += 1
        if wait is None:
            return
        st.wait_total_s += wait
        if wait < self.short_abandon_s:
            st.abandoned_short += 1
        if self._hold(hold_time, wait) <= self.service_level_s:
            st.abandoned_in_sl += 1

    def _count_answer(self, call: Call, st: QueueStats, hold_time: int | None) -> None:
        wait = max(0.0, (call.answered_at or call.joined_at) - call.joined_at)
        st.answered += 1
        st.wait_total_s += wait
        st.answer_wait_s += wait
        call.hold_s = self._hold(hold_time, wait)

    def _ended(
        self, call: Call, at: float, talk_time: int | None, reason: str, talk_s: float | None = None
    ) -> CallEnded:
        """An answered call is over: counted as completed (its talk: ``talk_s``, else
        answer to end), and its :class:`CallEnded`."""
        st = self.queue_stats(call.queue)
        st.completed += 1
        if 0 <= call.hold_s <= self.service_level_s:
            st.completed_in_sl += 1
        if talk_s is None:
            talk_s = max(0.0, at - (call.answered_at if call.answered_at is not None else at))
        st.talk_s += talk_s
        return CallEnded(call, at, talk_time, reason)

    def _seen(self, queue: str, index: int) -> None:
        base = self.pbx_base.get(queue)
        if base is not None:
            base[index] += 1

    def _join(self, e: ev.CallerJoined) -> CallOffered | CallTransferred | None:
        st = self.queue_stats(e.queue)
        q = self.waiting[e.queue]
        if e.uniqueid in q:
            return None  # a repeated frame: already counted
        talking = self.talking.get(e.uniqueid)
        ended: CallEnded | None = None
        if talking is not None:
            answered = talking.answered_at
            if answered is None or e.at <= answered:
                return None  # a repeated frame of its first join
            ended = self._transfer_out(talking, e.at)
        call = q[e.uniqueid] = Call(
            uniqueid=e.uniqueid,
            linkedid=e.linkedid,
            queue=e.queue,
            caller_num=e.caller_num,
            caller_name=e.caller_name,
            joined_at=e.at,
            gen=self.generation,
            channel=e.channel,
            priority=self._priorities.get(e.linkedid, 0),
        )
        st.offered += 1
        offered = CallOffered(call)
        return offered if ended is None else CallTransferred(ended, offered)

    def _transfer_out(self, call: Call, at: float) -> CallEnded:
        """A talking call left its queue for another: it ends there, as Asterisk counts it."""
        del self.talking[call.uniqueid]
        self._hung.pop(call.uniqueid, None)
        self._seen(call.queue, 2)
        transferred = self._transferred
        transferred[(call.uniqueid, call.queue)] = (call.interface, call.answered_at)
        if len(transferred) > 10_000:  # callers that never hung up: keep memory bounded
            del transferred[next(iter(transferred))]
        talk = int(max(0.0, at - (call.answered_at or at)))
        return self._ended(call, at, talk, TRANSFER)

    def _connect(self, e: ev.AgentConnected) -> CallAnswered | None:
        call = self.waiting.get(e.queue, {}).pop(e.uniqueid, None)
        if call is None:
            self.unknown_calls += 1
            return None
        call.answered_at = e.at
        call.interface = e.interface
        call.member_name = e.member_name
        self.talking[e.uniqueid] = call
        self._count_answer(call, self.queue_stats(e.queue), e.hold_time)
        return CallAnswered(call)

    def _complete(self, e: ev.AgentCompleted) -> CallEnded | None:
        # A figure Asterisk left out (or sent malformed) counts as 0 where a time is derived
        # from it; the call ends all the same.
        talk = e.talk_time or 0
        if self._transferred and (e.uniqueid, e.queue) in self._transferred:
            # The late AgentComplete of a call transferred out of this queue: it ended at
            # the transfer (the call it names may be talking in the other queue now).
            del self._transferred[(e.uniqueid, e.queue)]
            return None
        call = self.talking.pop(e.uniqueid, None) if e.uniqueid else None
        if call is None and not e.uniqueid:
            # Asterisk sometimes sends AgentComplete without the channel headers (the caller's
            # channel was gone when app_queue looked it up): the call is the one this member
            # was talking on in this queue, or one transferred out of it (its AgentComplete
            # comes at the caller's final hang-up, often headerless, and the member may be on
            # a new call in the queue by then): the one answered when the event's TalkTime
            # says it was.
            uid, transferred = self._headerless_complete(e, talk)
            if transferred:  # the same caller may be talking in the other queue now
                del self._transferred[(uid, e.queue)]
                return None
            call = self.talking.pop(uid) if uid else None
        if call is None and self._limbo:
            call = self._limbo.pop(e.uniqueid, None)
            if call is not None:  # answered while we were away, ended after the snapshot
                self._answer_now(call, max(call.joined_at, e.at - talk), None)
                self.talking.pop(call.uniqueid, None)
        if call is None and e.uniqueid:
            # A call we hold as waiting whose AgentConnect we missed (it was lost while the
            # link was down, and this event came on the new link before its resync's
            # snapshot): it was answered and has ended. Asterisk counted it as completed, so
            # it must be ended here (and seen), not left to the hang-up grace as abandoned
            # and then counted again from the counters.
            waiting = self.waiting.get(e.queue)
            call = waiting.pop(e.uniqueid, None) if waiting else None
            if call is not None:
                self._answer_now(call, max(call.joined_at, e.at - talk), e.interface)
                call.member_name = e.member_name
                self.talking.pop(call.uniqueid, None)
        if call is None and self._report is not None and e.uniqueid:
            # Between a resync's snapshot and its settle: a caller talking when Asterisk took
            # the queue snapshot, unknown to us, whose call ended before the channel list was
            # taken. Offered and answered now; its ticket is written.
            call = Call(
                e.uniqueid,
                e.linkedid or e.uniqueid,
                e.queue,
                e.caller_num,
                e.caller_name,
                e.at - talk - (e.hold_time or 0),
                gen=self.generation,
            )
            self.queue_stats(e.queue).offered += 1
            self._answer_now(call, e.at - talk, e.interface)
            call.member_name = e.member_name
            self.talking.pop(call.uniqueid, None)
            self._report.adopted_talking += 1
        if call is None:
            self.unknown_calls += 1
            return None
        if self._hung:
            self._hung.pop(call.uniqueid, None)
        self._seen(call.queue, 2)
        return self._ended(call, e.at, e.talk_time, e.reason, e.talk_time)

    def _headerless_complete(self, e: ev.AgentCompleted, talk: int) -> tuple[str, bool]:
        """The uniqueid of the call a headerless ``AgentComplete`` ends ("" for none) and
        whether it was transferred out of the queue: among the calls talking at the member in
        the queue and those transferred out of it from that member, the one whose answer time
        is nearest the event's time less its TalkTime (whole seconds); a call talking now
        wins a tie (and when TalkTime is missing)."""
        best = ""
        best_gap = float("inf")
        started = e.at - talk
        for uid, c in self.talking.items():
            if c.queue == e.queue and c.interface == e.interface:
                gap = abs((c.answered_at or e.at) - started) if e.talk_time is not None else 0
                if gap < best_gap:
                    best, best_gap = uid, gap
        transferred = False
        if e.talk_time is None:
            return best, transferred
        for (uid, queue), (interface, answered_at) in self._transferred.items():
            if queue == e.queue and interface == e.interface and answered_at is not None:
                gap = abs(answered_at - started)
                if gap < best_gap - 1.0:  # clearly nearer than the call talking now
                    best, best_gap, transferred = uid, gap, True
        return best, transferred

    def _abandon(self, e: ev.CallerAbandoned) -> CallAbandoned | None:
        call = self.waiting.get(e.queue, {}).pop(e.uniqueid, None)
        if call is None and self._limbo:
            call = self._limbo.pop(e.uniqueid, None)
        if call is None:
            self.unknown_calls += 1
            return None
        if self._hung:
            self._hung.pop(call.uniqueid, None)
        self._seen(e.queue, 3)
        reason = "caller" if call.hangup_asked else "timeout"
        wait = max(0.0, e.at - call.joined_at)
        self._count_abandon(self.queue_stats(e.queue), reason, wait, e.hold_time)
        return CallAbandoned(call, e.at)

    def _hangup(self, e: ev.ChannelHungUp) -> Outcome | None:
        """A channel hung up. If it is a call we still hold, the ``AgentComplete`` or
        ``QueueCallerAbandon`` should follow soon (under load a headerless ``AgentComplete``
        can come after the caller's ``Hangup``, README s5); a call still held
        :data:`HANGUP_GRACE_S` later lost that event and is ended then (answered: ended, with
        its ticket; waiting: abandoned), so that no call stays in the live state for ever."""
        uid = e.uniqueid
        hung = self._hung
        if uid in self.talking or any(uid in q for q in self.waiting.values()):
            hung[uid] = e.at
        if self._unsynced_login:
            # Logged in, not yet resynced: what we hold may be stale (events were lost while
            # the link was down), and the resync about to come decides those calls from
            # Asterisk's state and counters; ending one here on a guess would count it twice.
            return None
        while hung:
            first = next(iter(hung))
            if hung[first] > e.at - HANGUP_GRACE_S:
                return None
            del hung[first]
            call = self.talking.pop(first, None)
            if call is not None:
                return self._ended(call, max(e.at, call.answered_at or e.at), 0, "hangup")
            for q in self.waiting.values():
                call = q.pop(first, None)
                if call is not None:
                    return self._abandon_now(call, e.at, "unknown")
        return None

    def _answer_now(self, call: Call, at: float, interface: str | None) -> CallAnswered:
        call.answered_at = max(at, call.joined_at)
        call.interface = interface
        call.member_name = interface
        self.talking[call.uniqueid] = call
        self._count_answer(call, self.queue_stats(call.queue), None)
        return CallAnswered(call)

    def _abandon_now(self, call: Call, at: float, reason: str) -> CallAbandoned:
        wait = max(0.0, at - call.joined_at)
        self._count_abandon(self.queue_stats(call.queue), reason, wait)
        return CallAbandoned(call, at)

    def mark_login(self, restarted: bool = False) -> None:
        """A new login (``FullyBooted``): calls held from before it belong to an older
        generation (cut off if Asterisk turns out to have restarted), and the queue events seen
        from now on are the new connection's.

        A login whose resync never came (the link dropped before or during it) does not move
        the mark: the calls seen since the mark are of the Asterisk that answered that login,
        which is still the one running unless this login shows a restart (``restarted``: a
        ``Shutdown`` since, or the ``Uptime`` went back). Moving it would cut off, and count
        again, live calls of a restarted Asterisk seen between its first login and the one
        whose resync succeeded."""
        if self._unsynced_login and not restarted:
            return
        self._unsynced_login = True
        self.generation += 1
        for base in self.pbx_base.values():
            base[4], base[5] = base[2], base[3]

    def reconcile(
        self,
        snap: ev.Snapshot,
        *,
        restarted: bool = False,
        member_of: dict[str, str] | None = None,
        settle: bool = True,
    ) -> ReconcileReport:
        """Bring the calls in line with what Asterisk reports after a (re)login.

        ``member_of`` maps a device (``Local/8001@agents``, ``PJSIP/8001``) to its member
        interface, to name the seat of a call answered while we were away. The rule, per
        queue (README, "Reconnect and resync"):

        1. *Restart* (``restarted``; or Asterisk's counters went backwards): every call held
           from before the login was lost by Asterisk: a waiting one is abandoned, a talking one
           ends (its ticket is written). The new process's counters, less what we saw of it
           since the login, are calls we did not see.
        2. A call waiting that we never saw join is offered; an unknown caller's channel
           talking inside ``Queue()`` is offered and answered (its ticket comes at its
           ``AgentComplete``).
        3. A held waiting call no longer in the queue whose channel is bridged was answered
           (and talks on); whose channel lives on unbridged left the queue unanswered
           (a timeout).
        4. A held call whose channel is gone is put aside until the events that arrived after
           the snapshot are applied (its ``AgentComplete`` or ``QueueCallerAbandon`` may be
           among them), then :meth:`settle` decides what is left: a talking call ended (ticket);
           a waiting call is abandoned while Asterisk's ``Abandoned`` counter has unexplained
           abandons (the latest joined first: a queue answers the earliest first), else it was
           answered and has ended (ticket) while ``Completed`` has unexplained completions,
           else it is abandoned (no ticket is made up from a guess).
        5. Abandons and completions that Asterisk counted and that nothing explains are callers
           we never saw: offered and abandoned, or offered and answered (no ticket can be
           written: ``tickets_unknowable`` counts them).
        """
        if self._limbo or self._gone_talking:
            self.settle(snap.at)
        self._unsynced_login = False
        rep = ReconcileReport(restarted=restarted)
        at = snap.at
        member_of = member_of or {}
        channels = snap.channels
        alive: dict[str, ev.ChannelInfo] = {}
        bridges: dict[str, list[ev.ChannelInfo]] = {}
        if channels is not None:
            for c in channels:
                alive[c.uniqueid] = c
                if c.bridge_id:
                    bridges.setdefault(c.bridge_id, []).append(c)

        def peer_of(chan: ev.ChannelInfo) -> str | None:
            for c in bridges.get(chan.bridge_id, ()):
                if c.uniqueid != chan.uniqueid:
                    return member_of.get(_channel_base(c.channel))
            return None

        # Counters going backwards can only mean a new Asterisk process.
        if not restarted:
            for queue, p in snap.params.items():
                base = self.pbx_base.get(queue)
                if base is not None and (p.completed < base[0] or p.abandoned < base[1] + base[3]):
                    restarted = rep.restarted = True
                    break
        deltas: dict[str, list[int]] = {}
        for queue, p in snap.params.items():
            base = self.pbx_base.get(queue)
            if restarted:
                since = (base[2] - base[4], base[3] - base[5]) if base else (0, 0)
                deltas[queue] = [max(0, p.completed - since[0]), max(0, p.abandoned - since[1])]
            elif base is None:
                deltas[queue] = [0, 0]  # first sight of this queue: its past is not ours
            else:
                deltas[queue] = [
                    max(0, p.completed - base[0] - base[2]),
                    max(0, p.abandoned - base[1] - base[3]),
                ]
        out = rep.outcomes
        gen = self.generation
        if restarted:
            for q in self.waiting.values():
                for call in [c for c in q.values() if c.gen < gen]:
                    del q[call.uniqueid]
                    out.append(self._abandon_now(call, at, "unknown"))
                    rep.cut_off += 1
            for call in [c for c in self.talking.values() if c.gen < gen]:
                del self.talking[call.uniqueid]
                out.append(self._ended(call, max(at, call.answered_at or at), 0, "restart"))
                rep.cut_off += 1
        if self._hung:
            self._hung.clear()
        # held talking calls whose channel is gone: decided after the held events
        if channels is not None:
            for uid in self.talking:
                if uid not in alive:
                    self._gone_talking.add(uid)
        # held waiting calls no longer waiting
        entries = {(e.queue, e.uniqueid) for e in snap.entries}
        for queue, q in self.waiting.items():
            for call in [c for uid, c in q.items() if (queue, uid) not in entries]:
                del q[call.uniqueid]
                chan = alive.get(call.uniqueid)
                if chan is not None and chan.bridge_id:
                    out.append(self._answer_now(call, at, peer_of(chan)))
                    rep.answered_in_gap += 1
                elif chan is not None:  # its line still up: the queue let it go
                    out.append(self._abandon_now(call, at, "timeout"))
                    rep.abandoned_in_gap += 1
                    d = deltas.setdefault(queue, [0, 0])
                    if d[1] > 0:
                        d[1] -= 1
                else:
                    self._limbo[call.uniqueid] = call
        # callers waiting or talking that we never saw
        for e in snap.entries:
            its_channel = alive.get(e.uniqueid)
            if self.seen_waiting(
                queue=e.queue,
                uniqueid=e.uniqueid,
                linkedid=its_channel.linkedid if its_channel is not None else e.uniqueid,
                caller_num=e.caller_num,
                caller_name=e.caller_name,
                joined_at=at - (e.wait or 0),
                priority=e.priority,
            ):
                rep.new_waiting += 1
                out.append(CallOffered(self.waiting[e.queue][e.uniqueid]))
        for c in channels or ():
            if c.application != "Queue" or not c.bridge_id or c.uniqueid in self.talking:
                continue
            queue = c.application_data.split(",", 1)[0]
            if not queue or any(c.uniqueid in q for q in self.waiting.values()):
                continue
            call = Call(
                c.uniqueid, c.linkedid, queue, c.caller_num, c.caller_name, at - c.duration_s
            )
            call.gen = gen
            call.channel = c.channel
            self.queue_stats(queue).offered += 1
            out.append(CallOffered(call))
            out.append(self._answer_now(call, at, peer_of(c)))
            rep.adopted_talking += 1
        for queue, p in snap.params.items():
            self.pbx_base[queue] = [p.completed, p.abandoned, 0, 0, 0, 0]
        self._deltas = deltas
        self._report = rep  # until settle(): see _complete
        if settle:
            self.settle(at)
        return rep

    def settle(self, at: float) -> list[Outcome]:
        """Finish a :meth:`reconcile` once the events held back during it are applied: decide
        the calls put aside and count what Asterisk counted that nothing explains. Returns the
        outcomes (also appended to the reconcile's report)."""
        rep = self._report or ReconcileReport()
        out: list[Outcome] = []
        deltas = self._deltas
        for uid in self._gone_talking:
            call = self.talking.pop(uid, None)
            if call is not None:
                out.append(self._ended(call, max(at, call.answered_at or at), 0, "gone"))
                rep.ended_in_gap += 1
                d = deltas.get(call.queue)
                if d is not None and d[0] > 0:
                    d[0] -= 1
        self._gone_talking.clear()
        by_queue: dict[str, list[Call]] = {}
        for call in self._limbo.values():
            by_queue.setdefault(call.queue, []).append(call)
        self._limbo.clear()
        for queue, calls in by_queue.items():
            d = deltas.setdefault(queue, [0, 0])
            calls.sort(key=lambda c: c.joined_at)
            n_abandoned = min(len(calls), d[1])
            d[1] -= n_abandoned
            keep = len(calls) - n_abandoned
            for call in calls[keep:]:
                out.append(self._abandon_now(call, at, "unknown"))
                rep.abandoned_in_gap += 1
            for call in calls[:keep]:
                if d[0] > 0:
                    d[0] -= 1
                    out.append(self._answer_now(call, at, None))
                    self.talking.pop(call.uniqueid, None)
                    out.append(self._ended(call, at, 0, GUESSED))
                    rep.ended_in_gap += 1
                else:
                    out.append(self._abandon_now(call, at, "unknown"))
                    rep.abandoned_in_gap += 1
        for queue, (dc, da) in deltas.items():
            st = self.queue_stats(queue)
            if da > 0:
                st.offered += da
                for _ in range(da):
                    self._count_abandon(st, "unknown", None)
                rep.unseen_abandoned += da
            if dc > 0:
                st.offered += dc
                st.answered += dc
                rep.unseen_answered += dc
                self.tickets_unknowable += dc
        self._deltas = {}
        self._report = None
        rep.outcomes.extend(out)
        return out

    def seen_waiting(
        self,
        *,
        queue: str,
        uniqueid: str,
        linkedid: str,
        caller_num: str,
        caller_name: str,
        joined_at: float,
        priority: int = 0,
    ) -> bool:
        """A resync (``QueueStatus``) found this caller waiting. Counts it as offered only if
        we had not seen it join; returns whether it was new."""
        st = self.queue_stats(queue)
        q = self.waiting[queue]
        if uniqueid in q or uniqueid in self.talking:
            return False
        q[uniqueid] = Call(
            uniqueid,
            linkedid,
            queue,
            caller_num,
            caller_name,
            joined_at,
            gen=self.generation,
            priority=priority,
        )
        st.offered += 1
        return True

    def totals(self) -> QueueStats:
        t = QueueStats()
        for st in self.stats.values():
            for f in fields(QueueStats):
                setattr(t, f.name, getattr(t, f.name) + getattr(st, f.name))
        return t
