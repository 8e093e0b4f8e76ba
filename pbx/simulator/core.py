"""The embedded PBX's call logic: queues, members and callers, with no sockets.

It does what Asterisk 20's ``app_queue`` does for the calls a 12345 hotline sees, and reports
it as the AMI events Asterisk sends (header names and order copied from the recorded traces in
``/work/shared/asterisk/traces``), through one sink: ``emit(headers: dict)``. Time comes from a
:class:`~pbx.simulator.clock.ScaledClock`; every state change happens in a clock callback, so a
run is deterministic for a given seed and epoch.

What is modelled (see the traces' ``.md`` files and the README):

* A caller is a Local channel pair ``Local/12345@callers-XXXXXXXX;1`` (the phone side) and
  ``;2`` (runs ``Queue()``); ``Linkedid`` is the ``;1``'s ``Uniqueid``.
* A member is rung through its own Local pair ``Local/8001@agents-XXXXXXXX;1/;2``. Members
  that are paused, busy, ringing (``ringinuse=no``) or in wrap-up are not rung; wrap-up has no
  event and shows ``Status 1`` (README s13).
* ``QueueCallerLeave`` comes before ``AgentConnect`` at the same instant (s4); ``RingTime`` is
  seconds in ``AgentConnect`` and milliseconds in ``AgentRingNoAnswer`` (s12).
* A caller who hangs up while waiting: ``Hangup`` of ``;1``, (a ring in progress is cancelled:
  ``DialEnd CANCEL`` twice), ``QueueCallerAbandon``, ``QueueCallerLeave``, ``Hangup`` of ``;2``.
* Queue counters as app_queue keeps them: ``Holdtime``/``TalkTime`` are integer rolling averages
  ``(old*3 + new) / 4``; ``Completed`` and the member's ``CallsTaken``/``LastCall`` move when
  the call ends; ``ServicelevelPerf`` = completed within ``ServiceLevel`` / completed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pbx.simulator.clock import ScaledClock, TimerHandle

__all__ = [
    "RES_EXISTS",
    "RES_NOSUCHQUEUE",
    "RES_NOT_DYNAMIC",
    "RES_OKAY",
    "STRATEGIES",
    "Caller",
    "Channel",
    "Member",
    "PbxCore",
    "Queue",
]

Emit = Callable[[dict[str, str]], None]

RES_OKAY = 0
RES_EXISTS = -1
RES_OUTOFMEMORY = -2
RES_NOSUCHQUEUE = -3
RES_NOT_DYNAMIC = -4

_STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
_CAUSE_TXT = {0: "Unknown", 16: "Normal Clearing", 26: "Answered elsewhere"}

# Caller states
WAITING = "waiting"  # in the queue, not ringing anyone
RINGING = "ringing"  # in the queue, ringing one or more members
RETRY = "retry"  # in the queue, pausing `retry` seconds after a ring timed out
TALKING = "talking"
DONE = "done"


@dataclass(slots=True)
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    priority: int = 1
    state: int = 0
    cid_num: str = "<unknown>"
    cid_name: str = "<unknown>"
    conn_num: str = "<unknown>"
    conn_name: str = "<unknown>"
    language: str = "en"
    accountcode: str = ""

    def headers(self, out: dict[str, str], prefix: str = "") -> None:
        """Append the standard channel header block (``Dest``-prefixed if asked) to ``out``."""
        p = prefix
        out[p + "Channel"] = self.name
        out[p + "ChannelState"] = str(self.state)
        out[p + "ChannelStateDesc"] = _STATE_DESC.get(self.state, "Unknown")
        out[p + "CallerIDNum"] = self.cid_num
        out[p + "CallerIDName"] = self.cid_name
        out[p + "ConnectedLineNum"] = self.conn_num
        out[p + "ConnectedLineName"] = self.conn_name
        out[p + "Language"] = self.language
        out[p + "AccountCode"] = self.accountcode
        out[p + "Context"] = self.context
        out[p + "Exten"] = self.exten
        out[p + "Priority"] = str(self.priority)
        out[p + "Uniqueid"] = self.uniqueid
        out[p + "Linkedid"] = self.linkedid


@dataclass(slots=True, eq=False)
class Member:
    queue: str
    interface: str
    name: str
    state_interface: str
    membership: str = "dynamic"
    penalty: int = 0
    calls_taken: int = 0
    last_call: int = 0
    last_pause: int = 0
    login_time: int = 0
    paused: bool = False
    paused_reason: str = ""
    wrapuptime: int = 0  # 0 = the queue's
    ringinuse: bool = False
    # live state
    leg: Leg | None = None  # ringing
    call: Caller | None = None  # talking
    wrap_until: float = 0.0

    @property
    def in_call(self) -> bool:
        return self.call is not None

    @property
    def status(self) -> int:
        # Local channels show AST_DEVICE_INUSE (2) while ringing as well as while talking
        # (the traces never show 6 "Ringing" for these seats).
        return 2 if (self.leg is not None or self.call is not None) else 1

    def blob(self, out: dict[str, str]) -> None:
        """The member header set of QueueMemberStatus/Added/Removed/Pause."""
        out["Queue"] = self.queue
        out["MemberName"] = self.name
        out["Interface"] = self.interface
        out["StateInterface"] = self.state_interface
        out["Membership"] = self.membership
        out["Penalty"] = str(self.penalty)
        out["CallsTaken"] = str(self.calls_taken)
        out["LastCall"] = str(self.last_call)
        out["LastPause"] = str(self.last_pause)
        out["LoginTime"] = str(self.login_time)
        out["InCall"] = "1" if self.in_call else "0"
        out["Status"] = str(self.status)
        out["Paused"] = "1" if self.paused else "0"
        out["PausedReason"] = self.paused_reason
        out["Ringinuse"] = "1" if self.ringinuse else "0"
        out["Wrapuptime"] = str(self.wrapuptime)


@dataclass(slots=True, eq=False)
class Leg:
    """One ring attempt of one member for one caller."""

    caller: Caller
    member: Member
    chan1: Channel
    chan2: Channel
    start: float
    timer: TimerHandle | None = None


@dataclass(slots=True, eq=False)
class Caller:
    num: str
    name: str
    patience: float
    talk: float
    hangup_by: str  # "agent" or "caller": who ends an answered call
    chan1: Channel
    chan2: Channel
    queue: str = ""
    state: str = WAITING
    join_time: float = 0.0
    original_position: int = 0
    priority: int = 0
    legs: list[Leg] = field(default_factory=list)
    member: Member | None = None
    agent_leg: Leg | None = None
    connect_time: float = 0.0
    completed_in_sl: bool = False
    member_removed: bool = False
    abandon_timer: TimerHandle | None = None
    timer: TimerHandle | None = None
    on_done: Callable[[Caller, str], None] | None = None
    outcome: str = ""


@dataclass(slots=True, eq=False)
class Queue:
    name: str
    strategy: str = "rrmemory"
    timeout: float = 15.0  # member ring timeout
    retry: float = 1.0
    wrapuptime: float = 0.0
    servicelevel: int = 20
    weight: int = 0
    maxlen: int = 0
    members: dict[str, Member] = field(default_factory=dict)  # key: interface.lower()
    callers: list[Caller] = field(default_factory=list)
    # app_queue counters
    holdtime: int = 0
    talktime: int = 0
    completed: int = 0
    abandoned: int = 0
    completed_in_sl: int = 0
    abandoned_in_sl: int = 0
    rrpos: int = 0


# -- strategies -------------------------------------------------------------------------
# A strategy gets the queue, the members that may be rung now (in queue order, with their
# position) and the caller; it returns the members to ring (ringall: all of them).
Strategy = Callable[[Queue, list[tuple[int, Member]], Caller, random.Random], list[Member]]


def _rrmemory(q: Queue, avail: list[tuple[int, Member]], caller: Caller, rng: random.Random):
    # app_queue: members at or after rrpos come first, then wrap around; rrpos moves past
    # the member rung.
    chosen = next(((p, m) for p, m in avail if p >= q.rrpos), avail[0])
    q.rrpos = chosen[0] + 1
    return [chosen[1]]


def _linear(q, avail, caller, rng):
    return [avail[0][1]]


def _leastrecent(q, avail, caller, rng):
    return [min(avail, key=lambda pm: (pm[1].last_call, pm[0]))[1]]


def _fewestcalls(q, avail, caller, rng):
    return [min(avail, key=lambda pm: (pm[1].calls_taken, pm[0]))[1]]


def _random(q, avail, caller, rng):
    return [avail[rng.randrange(len(avail))][1]]


def _ringall(q, avail, caller, rng):
    # Asterisk rings them in reverse order of adding (README s11).
    return [m for _, m in reversed(avail)]


STRATEGIES: dict[str, Strategy] = {
    "rrmemory": _rrmemory,
    "rrordered": _rrmemory,
    "linear": _linear,
    "leastrecent": _leastrecent,
    "fewestcalls": _fewestcalls,
    "random": _random,
    "ringall": _ringall,
}


def _avg(old: int, new: int) -> int:
    """app_queue's rolling average: ``((old << 2) - old + new) >> 2``."""
    return ((old << 2) - old + new) >> 2


class PbxCore:
    """Queues, members and callers; every change is reported through ``emit``."""

    def __init__(
        self,
        clock: ScaledClock,
        emit: Emit,
        *,
        ring_time_s: float = 2.0,
        caller_exten: str = "12345",
        rng_seed: int = 0,
    ) -> None:
        self.clock = clock
        self.emit = emit
        self.ring_time_s = ring_time_s
        self.caller_exten = caller_exten
        self.queues: dict[str, Queue] = {}
        self.rng = random.Random(rng_seed)  # for the "random" strategy only
        self._chan_seq = 0
        self._uid_seq = 0
        self.stats: dict[str, int] = dict(
            offered=0, answered=0, abandoned=0, waiting=0, talking=0, finished=0
        )
        self.started = clock.now()

    # -- helpers -----------------------------------------------------------------------
    def _event(self, name: str, privilege: str) -> dict[str, str]:
        return {
            "Event": name,
            "Privilege": privilege,
            "Timestamp": f"{self.clock.now():.6f}",
        }

    def _new_pair(self, exten: str, context: str, linkedid: str | None) -> tuple[Channel, Channel]:
        now = int(self.clock.now())
        n = self._chan_seq
        self._chan_seq += 1
        base = f"Local/{exten}@{context}-{n:08x}"
        uid1 = f"{now}.{self._uid_seq}"
        uid2 = f"{now}.{self._uid_seq + 1}"
        self._uid_seq += 2
        link = linkedid or uid1
        c1 = Channel(base + ";1", uid1, link, context, exten, 1, 0)
        c2 = Channel(base + ";2", uid2, link, context, exten, 1, 4)
        return c1, c2

    def _chan_event(self, name: str, ch: Channel, **extra: str) -> None:
        h = self._event(name, "call,all")
        ch.headers(h)
        h.update(extra)
        self.emit(h)

    def _hangup(self, ch: Channel, cause: int) -> None:
        self._chan_event("Hangup", ch, Cause=str(cause), **{"Cause-txt": _CAUSE_TXT[cause]})

    def _dial_event(self, name: str, caller: Caller, leg: Leg, **extra: str) -> None:
        h = self._event(name, "call,all")
        caller.chan2.headers(h)
        leg.chan1.headers(h, "Dest")
        h.update(extra)
        self.emit(h)

    def _caller_event(self, name: str, caller: Caller, q: Queue, **extra: str) -> None:
        h = self._event(name, "agent,all")
        caller.chan2.headers(h)
        h["Queue"] = q.name
        h.update(extra)
        self.emit(h)

    def _agent_event(self, name: str, caller: Caller, leg: Leg | None, m: Member, **extra: str):
        h = self._event(name, "agent,all")
        caller.chan2.headers(h)
        if leg is not None:
            leg.chan1.headers(h, "Dest")
        h["Queue"] = m.queue
        h["Interface"] = m.interface
        h["MemberName"] = m.name
        h.update(extra)
        self.emit(h)

    def _member_event(self, name: str, m: Member) -> None:
        h = self._event(name, "agent,all")
        m.blob(h)
        self.emit(h)

    # -- configuration -----------------------------------------------------------------
    def add_queue(self, name: str, **settings: Any) -> Queue:
        q = Queue(name, **settings)
        if q.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {q.strategy!r}; known: {sorted(STRATEGIES)}")
        self.queues[name] = q
        return q

    def add_member(
        self,
        queue: str,
        interface: str,
        *,
        name: str = "",
        state_interface: str = "",
        penalty: int = 0,
        paused: bool = False,
        reason: str = "",
        membership: str = "dynamic",
        wrapuptime: int = 0,
        event: bool = True,
    ) -> int:
        q = self.queues.get(queue)
        if q is None:
            return RES_NOSUCHQUEUE
        key = interface.lower()
        if key in q.members:
            return RES_EXISTS
        now = int(self.clock.now())
        m = Member(
            queue=q.name,
            interface=interface,
            name=name or interface,
            state_interface=state_interface or interface,
            membership=membership,
            penalty=penalty,
            login_time=now,
            paused=paused,
            paused_reason=reason if paused else "",
            last_pause=now if paused else 0,
            wrapuptime=wrapuptime,
        )
        q.members[key] = m
        if event:
            self._member_event("QueueMemberAdded", m)
        self._dispatch(q)
        return RES_OKAY

    def remove_member(self, queue: str, interface: str) -> int:
        q = self.queues.get(queue)
        if q is None:
            return RES_NOSUCHQUEUE
        m = q.members.get(interface.lower())
        if m is None:
            return RES_EXISTS
        if m.membership == "static":
            return RES_NOT_DYNAMIC
        del q.members[interface.lower()]
        if m.leg is not None:
            self._cancel_leg(m.leg, cause=0)
        if m.call is not None:
            m.call.member_removed = True  # README s9: that call never counts as Completed
        self._member_event("QueueMemberRemoved", m)
        self._dispatch(q)
        return RES_OKAY

    def pause_member(
        self, interface: str, paused: bool, *, queue: str | None = None, reason: str = ""
    ) -> bool:
        """Pause or unpause ``interface`` in ``queue`` (all its queues if None); False if absent."""
        key = interface.lower()
        if queue:
            q = self.queues.get(queue)
            targets = [q.members[key]] if q is not None and key in q.members else []
        else:
            targets = [q.members[key] for q in self.queues.values() if key in q.members]
        if not targets:
            return False
        now = int(self.clock.now())
        for m in targets:
            m.paused = paused
            m.paused_reason = reason if paused else ""
            if paused:
                m.last_pause = now
            self._member_event("QueueMemberPause", m)
            if not paused:
                # A waiting caller notices an unpaused member on its next poll (README s10).
                q = self.queues[m.queue]
                self.clock.call_later(q.retry, self._dispatch, q)
        return True

    # -- callers -----------------------------------------------------------------------
    def caller_arrive(
        self,
        queue: str,
        num: str,
        name: str,
        *,
        patience: float,
        talk: float,
        hangup_by: str = "agent",
        priority: int = 0,
        on_done: Callable[[Caller, str], None] | None = None,
    ) -> Caller:
        """A call comes in: its channels appear and it joins ``queue`` at once."""
        q = self.queues[queue]
        c1, c2 = self._new_pair(self.caller_exten, "callers", None)
        caller = Caller(num, name, patience, talk, hangup_by, c1, c2, queue=q.name)
        caller.priority = priority
        caller.on_done = on_done
        self._chan_event("Newchannel", c1)
        self._chan_event("Newchannel", c2)
        pres = {"CID-CallingPres": "0 (Presentation Allowed, Not Screened)"}
        c1.cid_num, c1.cid_name = num, name
        self._chan_event("NewCallerid", c1, **pres)
        c2.cid_num, c2.cid_name = num, name
        c2.conn_num, c2.conn_name = num, name
        self._chan_event("NewCallerid", c2, **pres)
        # Originate answered; ;2 runs the dialplan up to Queue(), ;1 runs caller-sim.
        for ch in (c1, c2):
            ch.state = 6
            ch.conn_num, ch.conn_name = num, name
        c1.context, c1.exten, c1.priority = "caller-sim", "s", 7
        c2.priority = 8
        # Join, in priority order (higher first, FIFO within a priority).
        pos = len(q.callers)
        while pos > 0 and q.callers[pos - 1].priority < priority:
            pos -= 1
        q.callers.insert(pos, caller)
        caller.join_time = self.clock.now()
        caller.original_position = pos + 1
        caller.state = WAITING
        self.stats["offered"] += 1
        self.stats["waiting"] += 1
        self._caller_event(
            "QueueCallerJoin", caller, q, Position=str(pos + 1), Count=str(len(q.callers))
        )
        caller.abandon_timer = self.clock.call_later(patience, self._abandon, caller)
        self._dispatch(q)
        return caller

    def _available(self, q: Queue, now: float) -> list[tuple[int, Member]]:
        out = []
        for pos, m in enumerate(q.members.values()):
            if m.paused or m.leg is not None or m.call is not None or now < m.wrap_until:
                continue
            out.append((pos, m))
        return out

    def _dispatch(self, q: Queue) -> None:
        """Ring members for waiting callers, first caller first, while members are free."""
        if not q.callers:
            return
        strategy = STRATEGIES[q.strategy]
        now = self.clock.now()
        for caller in list(q.callers):
            if caller.state != WAITING:
                continue
            avail = self._available(q, now)
            if not avail:
                return
            members = strategy(q, avail, caller, self.rng)
            if members:
                self._ring(q, caller, members)

    def _ring(self, q: Queue, caller: Caller, members: list[Member]) -> None:
        caller.state = RINGING
        now = self.clock.now()
        pres = {"CID-CallingPres": "0 (Presentation Allowed, Not Screened)"}
        for m in members:
            ext = m.state_interface.split("/", 1)[-1].split("@", 1)[0] or "s"
            ctx = m.state_interface.split("@", 1)[1] if "@" in m.state_interface else "agents"
            a1, a2 = self._new_pair(ext, ctx, caller.chan1.uniqueid)
            leg = Leg(caller, m, a1, a2, now)
            m.leg = leg
            caller.legs.append(leg)
            self._chan_event("Newchannel", a1)
            self._chan_event("Newchannel", a2)
            a1.cid_num, a1.cid_name = caller.num, caller.name
            self._chan_event("NewCallerid", a1, **pres)
            a2.cid_num, a2.cid_name = caller.num, caller.name
            a2.conn_num, a2.conn_name = caller.num, caller.name
            self._chan_event("NewCallerid", a2, **pres)
            a1.conn_num, a1.conn_name = caller.num, caller.name
            a1.exten = caller.chan2.exten  # as Asterisk reports the dialled ;1 (DestExten)
            self._agent_event("AgentCalled", caller, leg, m)
            self._dial_event("DialBegin", caller, leg, DialString=m.interface.split("/", 1)[-1])
            self._member_event("QueueMemberStatus", m)
            if self.ring_time_s < q.timeout:
                leg.timer = self.clock.call_later(self.ring_time_s, self._answer, leg)
            else:
                leg.timer = self.clock.call_later(q.timeout, self._ring_timeout, leg)

    def _drop_leg(self, leg: Leg) -> None:
        if leg.timer is not None:
            leg.timer.cancel()
            leg.timer = None
        if leg in leg.caller.legs:
            leg.caller.legs.remove(leg)
        if leg.member.leg is leg:
            leg.member.leg = None

    def _cancel_leg(self, leg: Leg, cause: int) -> None:
        """Stop ringing one member (answered elsewhere, caller gone, member removed)."""
        caller = leg.caller
        self._drop_leg(leg)
        self._dial_event("DialEnd", caller, leg, DialStatus="CANCEL")
        self._dial_event("DialEnd", caller, leg, DialStatus="CANCEL")  # Asterisk sends it twice
        self._hangup(leg.chan1, cause)
        self._member_event("QueueMemberStatus", leg.member)
        self._hangup(leg.chan2, cause)
        if caller.state == RINGING and not caller.legs:
            caller.state = WAITING

    def _ring_timeout(self, leg: Leg) -> None:
        caller, m = leg.caller, leg.member
        q = self.queues.get(m.queue)
        ring_ms = round((self.clock.now() - leg.start) * 1000)
        self._drop_leg(leg)
        self._agent_event("AgentRingNoAnswer", caller, leg, m, RingTime=str(ring_ms))
        self._dial_event("DialEnd", caller, leg, DialStatus="NOANSWER")
        self._dial_event("DialEnd", caller, leg, DialStatus="CANCEL")
        self._hangup(leg.chan1, 0)
        self._hangup(leg.chan2, 0)
        self._member_event("QueueMemberStatus", m)
        if q is None:
            return
        if caller.state == RINGING and not caller.legs:
            caller.state = RETRY
            caller.timer = self.clock.call_later(q.retry, self._retry, caller)
        self._dispatch(q)

    def _retry(self, caller: Caller) -> None:
        caller.timer = None
        if caller.state == RETRY:
            caller.state = WAITING
            q = self.queues.get(caller.queue)
            if q is not None:
                self._dispatch(q)

    def _answer(self, leg: Leg) -> None:
        caller, m = leg.caller, leg.member
        q = self.queues[caller.queue]
        now = self.clock.now()
        self._drop_leg(leg)
        leg.chan1.state = 6
        leg.chan2.state = 6
        self._dial_event("DialEnd", caller, leg, DialStatus="ANSWER")
        for other in list(caller.legs):
            self._cancel_leg(other, cause=26)
        if caller.abandon_timer is not None:
            caller.abandon_timer.cancel()
            caller.abandon_timer = None
        pos = q.callers.index(caller) + 1
        q.callers.remove(caller)
        caller.state = TALKING
        caller.member = m
        caller.agent_leg = leg
        caller.connect_time = now
        m.call = caller
        hold = int(now - caller.join_time)
        caller.completed_in_sl = hold <= q.servicelevel
        q.holdtime = _avg(q.holdtime, hold)
        self.stats["waiting"] -= 1
        self.stats["talking"] += 1
        self.stats["answered"] += 1
        self._caller_event(
            "QueueCallerLeave", caller, q, Position=str(pos), Count=str(len(q.callers))
        )
        self._agent_event(
            "AgentConnect",
            caller,
            leg,
            m,
            HoldTime=str(hold),
            RingTime=str(int(now - leg.start)),
        )
        caller.timer = self.clock.call_later(caller.talk, self._end_call, caller)
        self._dispatch(q)

    def _end_call(self, caller: Caller) -> None:
        caller.timer = None
        m = caller.member
        leg = caller.agent_leg
        assert m is not None and leg is not None
        q = self.queues.get(caller.queue)
        now = self.clock.now()
        talk = int(now - caller.connect_time)
        hold = int(caller.connect_time - caller.join_time)
        m.call = None
        counted = q is not None and not caller.member_removed
        if counted:
            assert q is not None
            q.completed += 1
            if caller.completed_in_sl:
                q.completed_in_sl += 1
            q.talktime = _avg(q.talktime, talk)
            m.calls_taken += 1
            m.last_call = int(now)
            wrap = m.wrapuptime or (q.wrapuptime if q else 0)
            m.wrap_until = now + wrap
        complete = dict(HoldTime=str(hold), TalkTime=str(talk), Reason=caller.hangup_by)
        if caller.hangup_by == "caller":
            self._hangup(caller.chan1, 16)
            self._agent_event("AgentComplete", caller, leg, m, **complete)
            self._hangup(caller.chan2, 16)
            self._hangup(leg.chan1, 16)
            self._hangup(leg.chan2, 16)
            self._member_event("QueueMemberStatus", m)
        else:
            self._agent_event("AgentComplete", caller, leg, m, **complete)
            self._hangup(leg.chan2, 16)
            self._hangup(leg.chan1, 16)
            self._hangup(caller.chan2, 16)
            self._member_event("QueueMemberStatus", m)
            self._hangup(caller.chan1, 16)
        self.stats["talking"] -= 1
        self._finish(caller, "answered")
        if q is not None:
            if m.wrap_until > now:
                self.clock.call_at(m.wrap_until, self._dispatch, q)
            self._dispatch(q)

    def _abandon(self, caller: Caller) -> None:
        caller.abandon_timer = None
        if caller.state not in (WAITING, RINGING, RETRY):
            return
        q = self.queues[caller.queue]
        now = self.clock.now()
        if caller.timer is not None:
            caller.timer.cancel()
            caller.timer = None
        self._hangup(caller.chan1, 16)
        legs = list(caller.legs)
        for leg in legs:
            self._drop_leg(leg)
            self._dial_event("DialEnd", caller, leg, DialStatus="CANCEL")
            self._dial_event("DialEnd", caller, leg, DialStatus="CANCEL")
            self._hangup(leg.chan1, 0)
        pos = q.callers.index(caller) + 1
        q.callers.remove(caller)
        hold = int(now - caller.join_time)
        q.abandoned += 1
        if hold <= q.servicelevel:
            q.abandoned_in_sl += 1
        self._caller_event(
            "QueueCallerAbandon",
            caller,
            q,
            Position=str(pos),
            OriginalPosition=str(caller.original_position),
            HoldTime=str(hold),
        )
        self._caller_event(
            "QueueCallerLeave", caller, q, Position=str(pos), Count=str(len(q.callers))
        )
        self._hangup(caller.chan2, 16)
        for leg in legs:
            self._member_event("QueueMemberStatus", leg.member)
            self._hangup(leg.chan2, 0)
        self.stats["waiting"] -= 1
        self.stats["abandoned"] += 1
        self._finish(caller, "abandoned")
        if legs:
            self._dispatch(q)

    def _finish(self, caller: Caller, outcome: str) -> None:
        caller.state = DONE
        caller.outcome = outcome
        self.stats["finished"] += 1
        if caller.on_done is not None:
            caller.on_done(caller, outcome)

    # -- list actions ------------------------------------------------------------------
    def queue_status(self, queue: str = "", member: str = "") -> list[dict[str, str]]:
        """The QueueParams/QueueMember/QueueEntry items of ``QueueStatus`` (no ActionID)."""
        now = self.clock.now()
        items: list[dict[str, str]] = []
        for q in self.queues.values():
            if queue and q.name != queue:
                continue
            sl = 100.0 * q.completed_in_sl / q.completed if q.completed else 0.0
            tot = q.completed + q.abandoned
            sl2 = 100.0 * (q.completed_in_sl + q.abandoned_in_sl) / tot if tot else 0.0
            items.append(
                {
                    "Event": "QueueParams",
                    "Queue": q.name,
                    "Max": str(q.maxlen),
                    "Strategy": q.strategy,
                    "Calls": str(len(q.callers)),
                    "Holdtime": str(q.holdtime),
                    "TalkTime": str(q.talktime),
                    "Completed": str(q.completed),
                    "Abandoned": str(q.abandoned),
                    "ServiceLevel": str(q.servicelevel),
                    "ServicelevelPerf": f"{sl:2.1f}",
                    "ServicelevelPerf2": f"{sl2:2.1f}",
                    "Weight": str(q.weight),
                }
            )
            for m in q.members.values():
                if member and member.lower() not in (m.interface.lower(), m.name.lower()):
                    continue
                items.append(
                    {
                        "Event": "QueueMember",
                        "Queue": q.name,
                        "Name": m.name,
                        "Location": m.interface,
                        "StateInterface": m.state_interface,
                        "Membership": m.membership,
                        "Penalty": str(m.penalty),
                        "CallsTaken": str(m.calls_taken),
                        "LastCall": str(m.last_call),
                        "LastPause": str(m.last_pause),
                        "LoginTime": str(m.login_time),
                        "InCall": "1" if m.in_call else "0",
                        "Status": str(m.status),
                        "Paused": "1" if m.paused else "0",
                        "PausedReason": m.paused_reason,
                        "Wrapuptime": str(m.wrapuptime),
                    }
                )
            for pos, c in enumerate(q.callers, 1):
                items.append(
                    {
                        "Event": "QueueEntry",
                        "Queue": q.name,
                        "Position": str(pos),
                        "Channel": c.chan2.name,
                        "Uniqueid": c.chan2.uniqueid,
                        "CallerIDNum": c.num,
                        "CallerIDName": c.name,
                        "ConnectedLineNum": c.chan2.conn_num,
                        "ConnectedLineName": c.chan2.conn_name,
                        "Wait": str(int(now - c.join_time)),
                        "Priority": str(c.priority),
                    }
                )
        return items

    def queue_summary(self, queue: str = "") -> list[dict[str, str]]:
        now = self.clock.now()
        items = []
        for q in self.queues.values():
            if queue and q.name != queue:
                continue
            avail = len(self._available(q, now))
            longest = int(now - q.callers[0].join_time) if q.callers else 0
            if q.callers:
                longest = max(int(now - c.join_time) for c in q.callers)
            items.append(
                {
                    "Event": "QueueSummary",
                    "Queue": q.name,
                    "LoggedIn": str(len(q.members)),
                    "Available": str(avail),
                    "Callers": str(len(q.callers)),
                    "HoldTime": str(q.holdtime),
                    "TalkTime": str(q.talktime),
                    "LongestHoldTime": str(longest),
                }
            )
        return items
