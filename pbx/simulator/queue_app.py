"""Queue() of the embedded PBX, up to the ring: a caller joins a queue, checks whether it is its
turn, and on its turn rings the best member(s) by the queue's strategy; a ring unanswered within
the queue's ``timeout`` gives ``AgentRingNoAnswer`` and the caller waits ``retry`` seconds.

As app_queue's ``wait_our_turn``/``try_calling``: a waiting caller looks again on its own 1 s
grid from its join time (``RECHECK``; ``recheck_s``), or, with ``recheck_s`` 0, at once on
every change (an ideal queue). What happens once a member answers, or the caller gives up, is
in :mod:`.queue_outcomes`.
"""

from __future__ import annotations

from pbx.simulator.event_builder import PRESENTATION
from pbx.simulator.members import MemberManagement
from pbx.simulator.model import RETRY, RINGING, WAITING, Caller, Leg, Member, Queue, fmt_num

__all__ = ["QueueApplication"]


class QueueApplication(MemberManagement):
    """Joining a queue, waiting for one's turn, and ringing members."""

    def _enter_queue(self, caller: Caller) -> None:
        """Queue(${QUEUE},,,,${MAXWAIT}) for a caller whose ;2 is up."""
        c2 = caller.chan2
        q = self.queues.get(caller.queue)
        c2.priority = 8
        c2.app, c2.appdata = "Queue", f"{caller.queue},,,,{fmt_num(caller.maxwait)}"
        c2.dest_exten, c2.dest_context = caller.exten, "callers"
        prio = c2.vars.get("QUEUE_PRIO", "")
        try:
            caller.priority = int(prio) if prio else caller.priority
        except ValueError:
            pass
        if "MAXWAIT" in c2.vars and caller.maxwait is None:
            try:
                caller.maxwait = float(c2.vars["MAXWAIT"]) or None
            except ValueError:
                caller.maxwait = None
        if q is None:  # Queue() of a missing queue returns -1: the channel hangs up
            self._leave_dialplan(caller, "", "")
            return
        now = self.clock.now()
        for v in ("ANSWEREDTIME", "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS"):
            self._varset(c2, v, "")
        self._varset(c2, "QUEUEWAIT", "")
        self._varset(c2, "QUEUEWAIT_MS", "")
        if q.joinempty and self._empty(q, q.joinempty, now):
            self._leave_dialplan(caller, q.name, "JOINEMPTY")
            return
        if q.maxlen and len(q.callers) >= q.maxlen:
            self._leave_dialplan(caller, q.name, "FULL")
            return
        # Join, in priority order (higher first, FIFO within a priority).
        pos = len(q.callers)
        while pos > 0 and q.callers[pos - 1].priority < caller.priority:
            pos -= 1
        q.callers.insert(pos, caller)
        caller.join_time = now
        if self.patience_in_queue and caller.patience is not None and caller.abandon_timer is None:
            caller.abandon_timer = self.clock.call_later(caller.patience, self._abandon, caller)
        caller.anchor = now
        caller.original_position = pos + 1
        caller.state = WAITING
        self.stats["waiting"] += 1
        self._caller_event(
            "QueueCallerJoin", caller, q, Position=str(pos + 1), Count=str(len(q.callers))
        )
        if self.queue_log is not None:
            self._log_enter(caller)
        self._chan_event("MusicOnHoldStart", c2, Class="default")
        if caller.maxwait:
            caller.expire_timer = self.clock.call_later(caller.maxwait, self._expire, caller)
        self._look_for_member(caller)

    def _schedule_recheck(self, caller: Caller) -> None:
        """Recheck on the caller's own 1 s grid (app_queue's RECHECK in wait_our_turn)."""
        if caller.state != WAITING or caller.timer is not None:
            return
        now = self.clock.now()
        if self.recheck_s <= 0:
            caller.timer = self.clock.call_at(now, self._recheck_due, caller)
            return
        step = self.recheck_s
        k = int((now - caller.anchor) // step) + 1
        caller.timer = self.clock.call_at(caller.anchor + k * step, self._recheck_due, caller)

    def _wake_waiting_callers(self, q: Queue) -> None:
        """Something changed in ``q``: every idle waiting caller looks again at its next recheck."""
        for c in q.callers:
            if c.state == WAITING and c.timer is None:
                self._schedule_recheck(c)

    def _recheck_due(self, caller: Caller) -> None:
        caller.timer = None
        if caller.state == WAITING:
            self._look_for_member(caller)

    def _is_our_turn(self, q: Queue, caller: Caller, now: float) -> bool:
        """app_queue's is_our_turn: the caller's position among the non-ringing callers
        ahead of it is below the number of available members (autofill), or it is first.
        Members are counted only as far as that answer needs (``idx + 1``)."""
        idx = 0
        for c in q.callers:
            if c is caller:
                break
            if c.state != RINGING:
                idx += 1
        if not q.autofill:
            return idx == 0 and self._num_available(q, now, 1) > 0
        return self._num_available(q, now, idx + 1) > idx

    def _look_for_member(self, caller: Caller) -> None:
        """One pass of wait_our_turn / try_calling for a waiting caller."""
        q = self.queues[caller.queue]
        now = self.clock.now()
        if self._is_our_turn(q, caller, now):
            if self._try_calling(q, caller, now):
                return
            # nobody could be rung: wait `retry`, then look again
            self._enter_retry(q, caller)
            return
        if q.leavewhenempty and self._empty(q, q.leavewhenempty, now):
            self._queue_exit(caller, "LEAVEEMPTY")
            return
        # Keep looking on the 1 s grid while a member may free itself in time (wrap-up ends,
        # a ring is answered elsewhere); otherwise a change in the queue wakes us. Without the
        # grid (recheck_s=0) the wake-ups alone suffice (a wrap-up's end wakes the queue, see
        # _count_completed); re-checking "now" would spin at one virtual instant for ever.
        if self.recheck_s <= 0:
            return
        if q.leavewhenempty or self._any_in_wrapup(q, now):
            self._schedule_recheck(caller)

    def _enter_retry(self, q: Queue, caller: Caller) -> None:
        caller.state = RETRY
        caller.timer = self.clock.call_later(q.retry, self._retry, caller)

    def _retry(self, caller: Caller) -> None:
        caller.timer = None
        if caller.state != RETRY:
            return
        caller.state = WAITING
        caller.anchor = self.clock.now()
        q = self.queues.get(caller.queue)
        if q is None:
            return
        if q.leavewhenempty and self._empty(q, q.leavewhenempty, caller.anchor):
            self._queue_exit(caller, "LEAVEEMPTY")
            return
        self._look_for_member(caller)

    def _metric(self, q: Queue, m: Member, pos: int, now: float) -> int:
        pen = m.penalty * 1000000
        s = q.strategy
        if s == "ringall":
            return pen
        if s in ("rrmemory", "rrordered"):
            if pos < q.rrpos:
                return 1000 + pos + pen
            if pos > q.rrpos:
                q.wrapped = True
            return pos + pen
        if s == "linear":
            if pos < q.linpos:
                return 1000 + pos + pen
            return pos + pen
        if s == "random":
            return self.rng.randrange(1000) + pen
        if s == "wrandom":
            return self.rng.randrange((1 + m.penalty) * 1000)
        if s == "fewestcalls":
            return m.calls_taken + pen
        if s == "leastrecent":
            return (0 if not m.last_call else 1000000 - int(now - m.last_call)) + pen
        raise ValueError(s)

    def _weight_blocks(self, q: Queue, m: Member, now: float) -> bool:
        """app_queue's compare_weight (checked by can_ring_entry): ``m`` is kept for another of
        its queues with a higher weight where at least as many callers wait as members are
        free."""
        key = m.interface.lower()
        for other in self.queues.values():
            if other is q or other.weight <= q.weight or not other.callers:
                continue
            if key in other.members and len(other.callers) >= self._num_available(other, now):
                return True
        return False

    def _try_calling(self, q: Queue, caller: Caller, now: float) -> bool:
        members = list(q.members.values())
        if q.strategy in ("rrmemory", "rrordered") and _rr_uniform(members):
            return self._try_calling_rr(q, caller, members, now)
        cands: list[tuple[int, int, Member]] = []  # (metric, order, member)
        q.wrapped = False
        for pos, m in enumerate(members):
            cands.append((self._metric(q, m, pos, now), pos, m))
        # the "outgoing" list is built by prepending: ringall rings in reverse order
        order = sorted(cands, key=lambda t: (t[0], -t[1] if q.strategy == "ringall" else t[1]))
        rung: list[Member] = []
        tried: set[int] = set()
        for metric, pos, m in order:
            if pos in tried:
                continue
            if q.strategy == "ringall":
                level = [(mt, p, mm) for mt, p, mm in order if mt <= metric and p not in tried]
                for _, p, mm in level:
                    tried.add(p)
                    if self._ringable(q, mm, now) and not self._weight_blocks(q, mm, now):
                        rung.append(mm)
                if rung:
                    break
                continue
            tried.add(pos)
            if self._ringable(q, m, now) and not self._weight_blocks(q, m, now):
                rung.append(m)
                break
        if q.strategy in ("rrmemory", "rrordered"):
            rest = [(mt, p) for mt, p, _ in order if p not in tried]
            if rung and rest:
                q.rrpos = min(rest)[1] % 1000
            else:
                q.rrpos = 0 if q.wrapped else q.rrpos + 1
            q.wrapped = False
        elif q.strategy == "linear" and rung:
            q.linpos = members.index(rung[0]) + 1
        if not rung:
            return False
        self._ring(q, caller, rung)
        return True

    def _try_calling_rr(self, q: Queue, caller: Caller, members: list[Member], now: float):
        """:meth:`_try_calling` for round robin when every member has the same penalty (and
        fewer than 1,000): the metrics order the members ``rrpos .. n-1`` then ``0 ..
        rrpos-1``, so the first ringable one from ``rrpos`` on is the one the sorted list
        would give, and ``rrpos`` moves as it would (to the next in that order), without
        computing and sorting every member's metric on each look."""
        n = len(members)
        r = q.rrpos
        wrapped = r < n - 1  # a member after rrpos: _metric's q.wrapped
        order = [*range(r, n), *range(min(r, n))]
        rung: Member | None = None
        k = 0
        while k < n:
            m = members[order[k]]
            if self._ringable(q, m, now):
                rung = m
                break
            k += 1
        q.wrapped = False
        if rung is not None and k + 1 < n:
            q.rrpos = order[k + 1] % 1000
        else:
            q.rrpos = 0 if wrapped else r + 1
        if rung is None:
            return False
        self._ring(q, caller, [rung])
        return True

    def _seat(self, m: Member) -> str:
        return self._dialled(m)[0]

    @staticmethod
    def _dialled(m: Member) -> tuple[str, str]:
        """The extension and context a ring of ``m`` dials: app_queue's ``ring_entry``
        requests the member's *interface* (its state interface only tells its device
        state), and a ``Local/exten@context/options`` one is named as core_local.c's
        ``local_alloc`` names it: options after the last ``/`` dropped, context
        ``default`` when none is given. A seat of another technology (``SIP/8001``) is
        modelled as ``Local/8001@agents``."""
        tech, _, resource = m.interface.partition("/")
        if tech.lower() != "local":
            return resource.split("@", 1)[0] or "s", "agents"
        if "/" in resource:
            resource = resource[: resource.rindex("/")]
        exten, _, context = resource.partition("@")
        return exten or "s", context or "default"

    def _seat_setting(self, caller: Caller, m: Member, var: str, seat_var: str) -> str:
        seat = f"SEAT_{self._seat(m)}_{seat_var}"
        return caller.chan2.vars.get(var) or self.globals.get(seat, "")

    def _ring(self, q: Queue, caller: Caller, members: list[Member]) -> None:
        caller.state = RINGING
        now = self.clock.now()
        c2 = caller.chan2
        legs: list[Leg] = []
        for m in members:
            ext, ctx = self._dialled(m)
            a1, a2 = self._new_pair(ext, ctx, c2.linkedid)
            self.owners[a1.name] = caller
            self.owners[a2.name] = caller
            leg = Leg(caller, m, a1, a2, now)
            m.leg = leg
            caller.legs.append(leg)
            legs.append(leg)
            self._chan_event("Newchannel", a1)
            self._chan_event("Newchannel", a2)
            a1.cid_num, a1.cid_name = caller.num, caller.name
            self._chan_event("NewCallerid", a1, **PRESENTATION)
            if caller.talk:
                self._varset(a1, "__TALK", f"{caller.talk:g}")
            dialed = m.interface.split("/", 1)[-1]
            self._varset(a1, "DIALEDPEERNUMBER", dialed)
            self._varset(a2, "DIALEDPEERNUMBER", dialed)
            a2.cid_num, a2.cid_name = caller.num, caller.name
            a2.conn_num, a2.conn_name = caller.num, caller.name
            self._chan_event("NewCallerid", a2, **PRESENTATION)
            self._chan_event("NewConnectedLine", a2)
            self._local_bridge(a1, a2)
            a1.exten = c2.exten  # as Asterisk reports the dialled ;1 (DestExten)
            a1.app, a1.appdata = "AppQueue", "(Outgoing Line)"
            a2.app, a2.appdata = "Ringing", ""
            self._agent_event("AgentCalled", caller, leg, m)
            self._dial_event("DialBegin", c2, a1, DialString=dialed)
            caller.dialed.append(a1.name)
        for leg in legs:
            a1 = leg.chan1
            a1.conn_num, a1.conn_name = caller.num, caller.name
            self._newstate(a1, 5)
            self._chan_event("NewConnectedLine", a1)
        for leg in reversed(legs):
            self._dial_event("DialState", c2, leg.chan1, DialStatus="RINGING")
        for leg in legs:
            m = leg.member
            self._member_event("QueueMemberStatus", m)
            answer = self._seat_setting(caller, m, "AGENT_ANSWER", "ANSWER").lower()
            ring_s = self._seat_setting(caller, m, "AGENT_RING", "RING")
            try:
                ring = float(ring_s) if ring_s else self.ring_time_s
            except ValueError:
                ring = self.ring_time_s
            limit = q.timeout
            if caller.maxwait:
                limit = min(limit, max(0.0, caller.join_time + caller.maxwait - now))
            if answer != "no" and ring < limit:
                leg.timer = self.clock.call_later(ring, self._answer, leg)
            else:
                leg.timer = self.clock.call_later(limit, self._ring_timeout, leg)

    def _drop_leg(self, leg: Leg) -> None:
        if leg.timer is not None:
            leg.timer.cancel()
            leg.timer = None
        if leg in leg.caller.legs:
            leg.caller.legs.remove(leg)
        if leg.member.leg is leg:
            leg.member.leg = None

    def _leg_gone(self, leg: Leg, cause: int) -> None:
        """The agent Local pair of a leg that was never answered goes away."""
        a1, a2 = leg.chan1, leg.chan2
        self._hangup_request("HangupRequest", a2, cause)
        self._hangup(a1, cause)
        self._hangup_request("SoftHangupRequest", a2, 16)
        self._hangup(a2, cause)
        self._cdr(a2)

    def _cancel_leg(self, leg: Leg, cause: int) -> None:
        """Stop ringing one member (answered elsewhere, caller gone, member removed)."""
        caller = leg.caller
        self._drop_leg(leg)
        self._dial_event("DialEnd", caller.chan2, leg.chan1, DialStatus="CANCEL")
        self._dial_event("DialEnd", caller.chan2, leg.chan1, DialStatus="CANCEL")  # twice
        self._leg_gone(leg, cause)
        self._member_event("QueueMemberStatus", leg.member)
        if caller.state == RINGING and not caller.legs:
            caller.state = WAITING
        self._device_freed(leg.member)

    def _device_freed(self, m: Member) -> None:
        """A device became free: the callers of every queue it serves may look again."""
        key = m.dev.key
        for q in self.queues.values():
            if q.callers and any(mm.dev.key == key for mm in q.members.values()):
                self._wake_waiting_callers(q)

    def _ring_timeout(self, leg: Leg) -> None:
        caller, m = leg.caller, leg.member
        q = self.queues.get(m.queue)
        ring_ms = round((self.clock.now() - leg.start) * 1000)
        self._drop_leg(leg)
        self._agent_event("AgentRingNoAnswer", caller, leg, m, RingTime=str(ring_ms))
        if self.queue_log is not None:
            self._log_ring_ended("RINGNOANSWER", caller, leg, ring_ms)
        self._dial_event("DialEnd", caller.chan2, leg.chan1, DialStatus="NOANSWER")
        self._dial_event("DialEnd", caller.chan2, leg.chan1, DialStatus="CANCEL")
        self._leg_gone(leg, 0)
        self._member_event("QueueMemberStatus", m)
        if q is not None and caller.state == RINGING and not caller.legs:
            now = self.clock.now()
            if caller.maxwait and now >= caller.join_time + caller.maxwait:
                self._queue_exit(caller, "TIMEOUT")
            elif q.leavewhenempty and self._empty(q, q.leavewhenempty, now):
                self._queue_exit(caller, "LEAVEEMPTY")
            else:
                self._enter_retry(q, caller)
        self._device_freed(m)


def _rr_uniform(members: list[Member]) -> bool:
    """Whether round robin's order is plain rotation: one penalty, fewer than 1,000 members
    (``_metric`` adds 1,000 to the positions before ``rrpos``)."""
    if not members or len(members) >= 1000:
        return False
    pen = members[0].penalty
    for m in members:
        if m.penalty != pen:
            return False
    return True
