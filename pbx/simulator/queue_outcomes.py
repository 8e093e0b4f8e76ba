"""How a call leaves Queue() in the embedded PBX: a member answers (the bridge, the talk
time), the call ends (the seat or the citizen hangs up; the counters and the wrap-up of
``update_queue``), the caller abandons (patience, or an AMI Hangup), or Queue() returns with the
caller still up (``MAXWAIT``: ``TIMEOUT``; ``leavewhenempty``: ``LEAVEEMPTY``; ``joinempty``,
``FULL``) and the dialplan hangs up after ``UserEvent(QueueResult)``.

Counters as app_queue keeps them: ``Holdtime``/``TalkTime`` are integer rolling averages
``(old*3 + new) / 4``; ``Completed`` and the member's ``CallsTaken``/``LastCall`` move when the
call ends.
"""

from __future__ import annotations

import uuid

from pbx.simulator.model import (
    DONE,
    PREQUEUE,
    RETRY,
    RINGING,
    TALKING,
    WAITING,
    Caller,
    Channel,
    Leg,
    Member,
    Queue,
    rolling_average,
)
from pbx.simulator.queue_app import QueueApplication

__all__ = ["QueueOutcomes"]


class QueueOutcomes(QueueApplication):
    """Answer, talk, hang up, abandon, time out: the ends of a queued call."""

    def _answer(self, leg: Leg) -> None:
        caller, m = leg.caller, leg.member
        q = self.queues[caller.queue]
        now = self.clock.now()
        self._drop_leg(leg)
        a1, a2, c2 = leg.chan1, leg.chan2, caller.chan2
        a2.priority = 13
        a2.app, a2.appdata = "Answer", ""
        self._newstate(a2, 6)
        self._newstate(a1, 6)
        self._dial_event("DialEnd", c2, a1, DialStatus="ANSWER")
        for other in list(caller.legs):
            self._cancel_leg(other, cause=26)
        self._cancel_timers(caller, "abandon_timer", "expire_timer")
        self._chan_event("MusicOnHoldStop", c2)
        pos = q.callers.index(caller) + 1
        q.callers.remove(caller)
        caller.state = TALKING
        caller.member = m
        caller.agent_leg = leg
        caller.connect_time = now
        m.call = caller
        hold = int(now - caller.join_time)
        caller.completed_in_sl = q.within_servicelevel(hold)
        q.holdtime = rolling_average(q.holdtime, hold)
        self.stats["waiting"] -= 1
        self.stats["talking"] += 1
        if not caller.counted:
            self.stats["answered"] += 1
            caller.counted = True
        if self.varset == "all":
            for ch in (c2, a1):
                for k, v in (
                    ("MEMBERINTERFACE", m.interface),
                    ("MEMBERNAME", m.name),
                    ("MEMBERCALLS", str(m.calls_taken)),
                    ("MEMBERLASTCALL", str(m.last_call)),
                    ("MEMBERPENALTY", str(m.penalty)),
                    ("MEMBERDYNAMIC", "1" if m.membership == "dynamic" else "0"),
                    ("MEMBERREALTIME", "0"),
                ):
                    self._varset(ch, k, v)
            for ch in (c2, a1):
                self._varset(ch, "QEHOLDTIME", str(hold))
                self._varset(ch, "QEORIGINALPOS", str(caller.original_position))
            for ch in (c2, a1):
                self._queue_vars(ch, q)
        self._caller_event(
            "QueueCallerLeave", caller, q, Position=str(pos), Count=str(len(q.callers))
        )
        self._varset(c2, "QUEUEPOSITION", str(pos))
        self._varset(c2, "QUEUEWAIT", str(hold))
        self._varset(c2, "QUEUEWAIT_MS", str(int((now - caller.join_time) * 1000)))
        if self.queue_log is not None:
            self._log_connect(caller, leg)
        self._agent_event(
            "AgentConnect",
            caller,
            leg,
            m,
            HoldTime=str(hold),
            RingTime=str(int(now - leg.start)),
        )
        bridge = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        caller.bridge_id = bridge
        self._bridge_event("BridgeCreate", bridge, 0)
        a1.bridge = c2.bridge = bridge
        self._bridge_event("BridgeEnter", bridge, 1, a1)
        self._bridge_event("BridgeEnter", bridge, 2, c2)
        self._varset(a1, "BRIDGEPEER", c2.name, "some")
        self._varset(c2, "BRIDGEPEER", a1.name, "some")
        talk = caller.talk
        seat_talk = self.globals.get(f"SEAT_{self._seat(m)}_TALK", "")
        if not talk and seat_talk:
            try:
                talk = float(seat_talk)
            except ValueError:
                pass
        a2.priority = 15
        a2.app, a2.appdata = "Wait", f"{talk:g}"
        by = self._end_call_agent if caller.hangup_by != "caller" else self._end_call_caller
        caller.timer = self.clock.call_later(talk, by, caller)
        self._device_freed(m)  # other queues' callers: this device is busy now (wakes no one)

    def _queue_vars(self, ch: Channel, q: Queue) -> None:
        sl = q.servicelevel_perf()
        for k, v in (
            ("QUEUENAME", q.name),
            ("QUEUEMAX", str(q.maxlen)),
            ("QUEUESTRATEGY", q.strategy),
            ("QUEUECALLS", str(len(q.callers))),
            ("QUEUEHOLDTIME", str(q.holdtime)),
            ("QUEUETALKTIME", str(q.talktime)),
            ("QUEUECOMPLETED", str(q.completed)),
            ("QUEUEABANDONED", str(q.abandoned)),
            ("QUEUESRVLEVEL", str(q.servicelevel)),
            ("QUEUESRVLEVELPERF", f"{sl:.1f}"),
        ):
            self._varset(ch, k, v)

    def _count_completed(self, caller: Caller, now: float) -> tuple[int, int]:
        """update_queue at the end of a call: counters, CallsTaken/LastCall and wrap-up."""
        m = caller.member
        assert m is not None
        q = self.queues.get(caller.queue)
        talk = int(now - caller.connect_time)
        hold = int(caller.connect_time - caller.join_time)
        if q is not None and not caller.member_removed:
            q.completed += 1
            if caller.completed_in_sl:
                q.completed_in_sl += 1
            q.talktime = rolling_average(q.talktime, talk)
            m.calls_taken += 1
            m.last_call = int(now)
            m.dev.last_call_end = now
            wrap = self._wrapuptime(q, m)
            m.wrap_until = now + wrap
            if wrap:
                # callers waiting in any of the device's queues look again once it is over
                self.clock.call_at(int(now) + wrap, self._device_freed, m)
        return hold, talk

    def _unbridge(self, caller: Caller, first: Channel, second: Channel) -> None:
        bridge = caller.bridge_id
        self._varset(first, "BRIDGEPEER", "", "some")
        self._varset(second, "BRIDGEPEER", "", "some")
        self._bridge_event("BridgeLeave", bridge, 1, first)
        self._bridge_event("BridgeLeave", bridge, 0, second)
        first.bridge = second.bridge = ""

    def _end_talk(self, caller: Caller) -> tuple[Member, Leg, int, int]:
        """The talk of an answered call ends, whoever ends it: app_queue's counters move and
        the seat is off the call. Returns the member, its leg, the hold and talk seconds."""
        m, leg = caller.member, caller.agent_leg
        assert m is not None and leg is not None
        hold, talk = self._count_completed(caller, self.clock.now())
        m.call = None
        return m, leg, hold, talk

    def _agent_leg_gone(self, m: Member, leg: Leg) -> None:
        """The seat's Local pair of an answered call hangs up (;1, bridged, then ;2 ending its
        dialplan) once the bridge is gone; the seat shows free again."""
        a1, a2 = leg.chan1, leg.chan2
        self._hangup_request("HangupRequest", a1, 16)
        self._hangup(a1, 16)
        self._hangup_request("SoftHangupRequest", a2, 16)
        self._hangup(a2, 16)
        self._cdr(a2)
        self._member_event("QueueMemberStatus", m)
        self.stats["talking"] -= 1

    def _end_call_agent(self, caller: Caller) -> None:
        """The seat hangs up after its talk time (the recorded traces' case)."""
        caller.timer = None
        m, leg, hold, talk = self._end_talk(caller)
        a1, a2, c2 = leg.chan1, leg.chan2, caller.chan2
        a2.priority = 16
        a2.app, a2.appdata = "Hangup", ""
        self._hangup_request("SoftHangupRequest", a2, 16)
        self._hangup_request("HangupRequest", a1, 16)
        if self.queue_log is not None:
            self._log_completed("COMPLETEAGENT", caller, m)
        self._agent_event(
            "AgentComplete", caller, leg, m, HoldTime=str(hold), TalkTime=str(talk), Reason="agent"
        )
        self._hangup(a2, 16)
        self._cdr(a2)
        q = self.queues.get(caller.queue)
        if q is not None:
            self._queue_vars(c2, q)
        self._unbridge(caller, a1, c2)
        self._hangup(a1, 16)
        if self.post_call is not None:
            # Queue(...,c): the caller stays on for the survey; the seat is free right now.
            self._bridge_event("BridgeDestroy", caller.bridge_id, 0)
            caller.bridge_id = ""
            self._member_event("QueueMemberStatus", m)
            self.stats["talking"] -= 1
            self._device_freed(m)
            self._run_survey(caller)
            return
        self._caller_gone(caller, first_2=True)
        self._member_event("QueueMemberStatus", m)
        self.stats["talking"] -= 1
        self._finish(caller, "answered")
        self._device_freed(m)

    def _end_call_caller(self, caller: Caller) -> None:
        """The citizen hangs up first (``AgentComplete Reason: caller``)."""
        caller.timer = None
        m, leg, hold, talk = self._end_talk(caller)
        a1, c1, c2 = leg.chan1, caller.chan1, caller.chan2
        self._hangup_request("SoftHangupRequest", c1, 16)
        self._hangup_request("HangupRequest", c2, 16)
        self._hangup(c1, 16)
        self._cdr(c1)
        if self.queue_log is not None:
            self._log_completed("COMPLETECALLER", caller, m)
        self._agent_event(
            "AgentComplete", caller, leg, m, HoldTime=str(hold), TalkTime=str(talk), Reason="caller"
        )
        self._unbridge(caller, c2, a1)
        self._run_deferred(caller)
        self._hangup(c2, 16)
        self._queue_side_cdrs(caller)
        self._bridge_event("BridgeDestroy", caller.bridge_id, 0)
        self._agent_leg_gone(m, leg)
        self._finish(caller, "answered")
        self._device_freed(m)

    def _log_completed(self, event: str, caller: Caller, m: Member) -> None:
        self._log_complete(
            event,
            caller.chan2.uniqueid,
            caller.queue,
            m,
            caller.join_time,
            caller.connect_time,
            caller.original_position,
        )

    def _queue_side_cdrs(self, caller: Caller) -> None:
        c2 = caller.chan2
        for d in caller.dialed or [""]:
            self._cdr(c2, d)

    def _caller_gone(self, caller: Caller, first_2: bool) -> None:
        """The caller's Local pair hangs up (;2 ends its dialplan, then ;1 follows)."""
        c1, c2 = caller.chan1, caller.chan2
        self._run_deferred(caller)
        self._hangup_request("SoftHangupRequest", c2, 16)
        self._hangup_request("HangupRequest", c1, 16)
        self._hangup(c2, 16)
        if caller.bridge_id:
            self._bridge_event("BridgeDestroy", caller.bridge_id, 0)
        self._queue_side_cdrs(caller)
        self._cdr(c1)
        self._hangup_request("SoftHangupRequest", c1, 16)
        self._hangup(c1, 16)

    def _run_deferred(self, caller: Caller) -> None:
        pending, caller.deferred = caller.deferred, []
        for fn in pending:
            fn()

    def _leave_queue(self, caller: Caller) -> tuple[Queue, int]:
        q = self.queues[caller.queue]
        pos = q.callers.index(caller) + 1
        q.callers.remove(caller)
        self.stats["waiting"] -= 1
        return q, pos

    def _record_abandon(self, caller: Caller, q: Queue, pos: int) -> None:
        hold = int(self.clock.now() - caller.join_time)
        q.abandoned += 1
        if q.within_servicelevel(hold):
            q.abandoned_in_sl += 1
        self._caller_event(
            "QueueCallerAbandon",
            caller,
            q,
            Position=str(pos),
            OriginalPosition=str(caller.original_position),
            HoldTime=str(hold),
        )

    def _cancel_timers(self, caller: Caller, *names: str) -> None:
        """Cancel the caller's timers of those names: ``timer`` (its next step: a recheck, a
        retry, the end of the talk), ``abandon_timer`` (its patience), ``expire_timer``
        (Queue()'s MAXWAIT)."""
        for name in names:
            t = getattr(caller, name)
            if t is not None:
                t.cancel()
                setattr(caller, name, None)

    def _stop_timers(self, caller: Caller) -> None:
        self._cancel_timers(caller, "timer", "abandon_timer", "expire_timer")

    def _abandon(self, caller: Caller, cause: int = 16, by_action: bool = False) -> None:
        """The caller's phone gives up (patience) or its channel is hung up."""
        caller.abandon_timer = None
        if caller.state == PREQUEUE:
            self._stop_timers(caller)
            self._cancel_agi_step(caller)
            c1, c2 = caller.chan1, caller.chan2
            self._hangup_request("SoftHangupRequest", c1, 16)
            self._hangup_request("HangupRequest", c2, 16)
            self._hangup(c1, 16)
            self._cdr(c1)
            self._hangup(c2, cause)
            self._cdr(c2)
            self.stats["abandoned"] += 1
            self._finish(caller, "abandoned")
            return
        if caller.state not in (WAITING, RINGING, RETRY):
            return
        self._stop_timers(caller)
        c1, c2 = caller.chan1, caller.chan2
        if by_action:  # AMI Hangup of ;2: it goes first, ;1 follows
            self._hangup_request("SoftHangupRequest", c2, 0)
        else:
            self._hangup_request("SoftHangupRequest", c1, 16)
            self._hangup_request("HangupRequest", c2, 16)
            self._hangup(c1, 16)
            self._cdr(c1)
        self._chan_event("MusicOnHoldStop", c2)
        legs = list(caller.legs)
        if self.queue_log is not None:
            self._log_rings_canceled(caller)
        for leg in legs:
            self._drop_leg(leg)
            self._dial_event("DialEnd", c2, leg.chan1, DialStatus="CANCEL")
            self._dial_event("DialEnd", c2, leg.chan1, DialStatus="CANCEL")
            self._hangup_request("HangupRequest", leg.chan2, 0)
            self._hangup(leg.chan1, 0)
        q, pos = self._leave_queue(caller)
        self._record_abandon(caller, q, pos)
        if self.queue_log is not None:
            self._log_left("ABANDON", caller, q.name, pos)
        self._caller_event(
            "QueueCallerLeave", caller, q, Position=str(pos), Count=str(len(q.callers))
        )
        if by_action:
            self._hangup(c2, cause)
            self._queue_side_cdrs(caller)
            self._hangup_request("HangupRequest", c1, 16)
            self._hangup_request("SoftHangupRequest", c1, 16)
            self._hangup(c1, 16)
            self._cdr(c1)
        else:
            self._hangup_request("SoftHangupRequest", c2, 16)
            self._hangup(c2, cause)
            self._queue_side_cdrs(caller)
        for leg in legs:
            self._member_event("QueueMemberStatus", leg.member)
            self._hangup_request("SoftHangupRequest", leg.chan2, 16)
            self._hangup(leg.chan2, 0)
            self._cdr(leg.chan2)
        self.stats["abandoned"] += 1
        self._finish(caller, "abandoned")
        for leg in legs:
            self._device_freed(leg.member)
        self._wake_waiting_callers(q)

    def _log_rings_canceled(self, caller: Caller) -> None:
        """The caller leaves while members ring: RINGCANCELED for each (wait_for_answer's
        ``canceled_by_caller``)."""
        now = self.clock.now()
        for leg in caller.legs:
            self._log_ring_ended("RINGCANCELED", caller, leg, int((now - leg.start) * 1000))

    def _expire(self, caller: Caller) -> None:
        """Queue()'s own timeout (MAXWAIT): checked when not ringing, or when the ring ends."""
        caller.expire_timer = None
        if caller.state in (WAITING, RETRY):
            self._queue_exit(caller, "TIMEOUT")

    def _queue_exit(self, caller: Caller, status: str) -> None:
        """Queue() returns with the caller still up: TIMEOUT or LEAVEEMPTY (README s10)."""
        self._cancel_timers(caller, "timer", "expire_timer")
        q, pos = self._leave_queue(caller)
        self._record_abandon(caller, q, pos)
        if self.queue_log is not None:
            event = "EXITWITHTIMEOUT" if status == "TIMEOUT" else "EXITEMPTY"
            self._log_left(event, caller, q.name, pos)
        self._chan_event("MusicOnHoldStop", caller.chan2)
        self._caller_event(
            "QueueCallerLeave", caller, q, Position=str(pos), Count=str(len(q.callers))
        )
        self._wake_waiting_callers(q)
        self._leave_dialplan(caller, q.name, status)

    def _leave_dialplan(self, caller: Caller, queue: str, status: str) -> None:
        """After Queue(): UserEvent(QueueResult) and Hangup(), as extensions.conf does."""
        c2 = caller.chan2
        if caller.abandon_timer is not None:
            caller.abandon_timer.cancel()
            caller.abandon_timer = None
        if status:
            self._varset(c2, "QUEUESTATUS", status, "some")
            c2.priority = 9
            c2.app, c2.appdata = "UserEvent", f"QueueResult,Queue: {queue},Status: {status}"
            h = self._event("UserEvent", "user,all")
            c2.headers(h)
            h.update(UserEvent="QueueResult", Queue=queue, Status=status)
            self.emit(h)
        self._caller_gone(caller, first_2=True)
        self.stats["abandoned"] += 1
        self._finish(caller, status.lower() or "failed")

    def _ivr_hangup(self, caller: Caller) -> None:
        """The AGI script hung the caller's channel up before Queue()."""
        self._stop_timers(caller)
        c1, c2 = caller.chan1, caller.chan2
        self._hangup_request("SoftHangupRequest", c2, 16)
        self._hangup(c2, 16)
        self._cdr(c2)
        self._hangup_request("HangupRequest", c1, 16)
        self._hangup(c1, 16)
        self._cdr(c1)
        self.stats["offered"] -= 1  # it never reached a queue
        self.stats["served_by_ivr"] += 1
        self._finish(caller, "ivr")

    def _finish(self, caller: Caller, outcome: str) -> None:
        caller.state = DONE
        caller.outcome = outcome
        self.stats["finished"] += 1
        if caller.on_done is not None:
            cb = caller.on_done
            # traffic streams count answered/abandoned/ivr; a timeout is an abandon for them
            cb(caller, outcome if outcome in ("answered", "ivr") else "abandoned")
