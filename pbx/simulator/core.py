"""The embedded PBX's call logic: queues, members, callers and their channels, with no sockets.

It does what Asterisk 20's ``app_queue`` does for the calls a 12345 hotline sees, and reports
it as the AMI events Asterisk sends (header names and order copied from the recorded traces in
``/work/shared/asterisk/traces``), through one sink: ``emit(headers: dict)``. Time comes from a
:class:`~pbx.simulator.clock.ScaledClock`; every state change happens in a clock callback, so a
run is deterministic for a given seed and epoch (the asynchronous pre-queue hook excepted).

The call model, after ``extensions.conf`` and ``app_queue.c``:

* A caller is a Local channel pair ``Local/12345@callers-XXXXXXXX;1`` (the phone side, running
  ``[caller-sim]``: it gives up after ``patience`` seconds unless bridged) and ``;2`` (runs the
  IVR step, then ``Queue()``); ``Linkedid`` is the ``;1``'s ``Uniqueid``. ``Local/q<queue>@callers``
  dials straight into ``<queue>``.
* Queue() as app_queue runs it: a waiting caller checks "is it my turn" (autofill: its position
  among non-ringing callers < the number of available members) when it joins and then on its own
  1 s grid (``RECHECK``) from its join time; on its turn ``try_calling`` gives every member a
  metric (``calc_metric``: penalty * 1000000 + the strategy's part) and rings the best one
  (ringall: every member sharing the best metric). A member not answering within the queue's
  ``timeout`` gets ``AgentRingNoAnswer``, then the caller waits ``retry`` seconds. Members that
  are paused, busy or ringing (``ringinuse=no``) or within ``wrapuptime`` of their last call are
  not rung. A member is one device shared by all its queues (skills).
* ``Queue(q,,,,MAXWAIT)`` ends with ``QueueCallerAbandon`` + ``QueueCallerLeave`` and the caller
  carries on: ``VarSet QUEUESTATUS=TIMEOUT``, ``UserEvent QueueResult``, hangup. ``joinempty`` /
  ``leavewhenempty`` follow ``parse_empty_options``/``get_member_status``.
* Counters as app_queue keeps them: ``Holdtime``/``TalkTime`` are integer rolling averages
  ``(old*3 + new) / 4``; ``Completed`` and the member's ``CallsTaken``/``LastCall`` move when the
  call ends; ``ServicelevelPerf`` = completed within ``ServiceLevel`` / completed.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pbx.simulator.clock import ScaledClock, TimerHandle

__all__ = [
    "RES_EXISTS",
    "RES_NOSUCHQUEUE",
    "RES_NOT_DYNAMIC",
    "RES_OKAY",
    "STRATEGIES",
    "VARSET_LEVELS",
    "Caller",
    "CallerInfo",
    "Channel",
    "Member",
    "PbxCore",
    "Queue",
    "parse_empty",
]

log = logging.getLogger(__name__)

Emit = Callable[[dict[str, str]], None]

RES_OKAY = 0
RES_EXISTS = -1
RES_OUTOFMEMORY = -2
RES_NOSUCHQUEUE = -3
RES_NOT_DYNAMIC = -4

VARSET_LEVELS = ("none", "some", "all")
STRATEGIES = (
    "ringall",
    "leastrecent",
    "fewestcalls",
    "random",
    "rrmemory",
    "rrordered",
    "linear",
    "wrandom",
)

_STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
_CAUSE_TXT = {0: "Unknown", 16: "Normal Clearing", 26: "Answered elsewhere"}
_PRES = {"CID-CallingPres": "0 (Presentation Allowed, Not Screened)"}

# empty_conditions of app_queue (joinempty / leavewhenempty)
EMPTY_PENALTY = 1 << 0
EMPTY_PAUSED = 1 << 1
EMPTY_INUSE = 1 << 2
EMPTY_RINGING = 1 << 3
EMPTY_UNAVAILABLE = 1 << 4
EMPTY_INVALID = 1 << 5
EMPTY_UNKNOWN = 1 << 6
EMPTY_WRAPUP = 1 << 7
_EMPTY_WORDS = {
    "paused": EMPTY_PAUSED,
    "penalty": EMPTY_PENALTY,
    "inuse": EMPTY_INUSE,
    "ringing": EMPTY_RINGING,
    "invalid": EMPTY_INVALID,
    "wrapup": EMPTY_WRAPUP,
    "unavailable": EMPTY_UNAVAILABLE,
    "unknown": EMPTY_UNKNOWN,
}
_TRUE = {"yes", "true", "y", "t", "1", "on"}
_FALSE = {"no", "false", "n", "f", "0", "off"}


def parse_empty(value: str | int | bool, joinempty: bool) -> int:
    """app_queue's ``parse_empty_options``: a joinempty/leavewhenempty value as condition bits."""
    if isinstance(value, bool):
        value = "yes" if value else "no"
    if isinstance(value, int):
        return value
    bits = 0
    for opt in (o.strip().lower() for o in value.split(",")):
        if opt in _EMPTY_WORDS:
            bits |= _EMPTY_WORDS[opt]
        elif opt == "loose":
            bits = EMPTY_PENALTY | EMPTY_INVALID
        elif opt == "strict":
            bits = EMPTY_PENALTY | EMPTY_INVALID | EMPTY_PAUSED | EMPTY_UNAVAILABLE
        elif (opt in _FALSE and joinempty) or (opt in _TRUE and not joinempty):
            bits = EMPTY_PENALTY | EMPTY_INVALID | EMPTY_PAUSED
        elif (opt in _FALSE and not joinempty) or (opt in _TRUE and joinempty):
            bits = 0
    return bits


# Caller states
PREQUEUE = "prequeue"  # channels up, IVR step (pre-queue hook) running
WAITING = "waiting"  # in the queue, not ringing anyone
RINGING = "ringing"  # in the queue, ringing one or more members
RETRY = "retry"  # in the queue, pausing `retry` seconds after a ring failed
TALKING = "talking"
SURVEY = "survey"  # the operator hung up; the caller's ;2 runs the post-call hook (survey)
DONE = "done"


@dataclass(slots=True, eq=False)
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
    vars: dict[str, str] = field(default_factory=dict)
    app: str = ""
    appdata: str = ""
    created: float = 0.0
    answered: float = 0.0
    bridge: str = ""
    dest_exten: str = ""  # Cdr Destination
    dest_context: str = ""
    dest_channel: str = ""

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
class Device:
    """A member's device (its StateInterface), shared by every queue the member is in."""

    key: str
    leg: Leg | None = None  # ringing
    call: Caller | None = None  # talking
    last_call_end: float = 0.0  # shared_lastcall = yes
    wrap_until: float = 0.0


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
    dev: Device = field(default_factory=lambda: Device(""))

    # the live state lives on the shared device
    @property
    def leg(self) -> Leg | None:
        return self.dev.leg

    @leg.setter
    def leg(self, value: Leg | None) -> None:
        self.dev.leg = value

    @property
    def call(self) -> Caller | None:
        return self.dev.call

    @call.setter
    def call(self, value: Caller | None) -> None:
        self.dev.call = value

    @property
    def wrap_until(self) -> float:
        return self.dev.wrap_until

    @wrap_until.setter
    def wrap_until(self, value: float) -> None:
        self.dev.wrap_until = value

    @property
    def in_call(self) -> bool:
        c = self.dev.call
        return c is not None and c.queue == self.queue

    @property
    def status(self) -> int:
        # Local channels show AST_DEVICE_INUSE (2) while ringing as well as while talking
        # (the traces never show 6 "Ringing" for these seats).
        return 2 if (self.dev.leg is not None or self.dev.call is not None) else 1

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
    patience: float | None
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
    # Queue() run
    exten: str = "12345"
    maxwait: float | None = None
    expire_timer: TimerHandle | None = None
    anchor: float = 0.0  # the 1 s recheck grid starts here
    attrs: dict[str, Any] = field(default_factory=dict)  # the traffic model's own attributes
    hook_task: asyncio.Task | None = None
    bridge_id: str = ""
    arrived: float = 0.0
    deferred: list[Callable[[], None]] = field(default_factory=list)  # at final hangup
    counted: bool = False  # "answered" already counted in stats (a redirect re-queues)
    dialed: list[str] = field(default_factory=list)  # agent ;1 channels rung (Cdr of ;2)


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
    joinempty: int = 0  # condition bits (parse_empty)
    leavewhenempty: int = 0
    ringinuse: bool = False
    autofill: bool = True
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
    wrapped: bool = False
    linpos: int = 0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; known: {sorted(STRATEGIES)}")
        self.joinempty = parse_empty(self.joinempty, True)
        self.leavewhenempty = parse_empty(self.leavewhenempty, False)


@dataclass(slots=True)
class CallerInfo:
    """What the pre-queue hook (the IVR's FastAGI step) gets about the caller's ``;2`` channel."""

    channel: str
    uniqueid: str
    linkedid: str
    caller_num: str
    caller_name: str
    exten: str
    context: str
    queue: str  # the queue the dialplan would use
    variables: dict[str, str]  # the channel's variables so far (Originate ones included)
    attrs: dict[str, Any]  # the traffic model's attributes of this caller
    agi_command: Callable[..., None] = lambda command, **kw: None

    @property
    def agi_request(self) -> dict[str, str]:
        """The ``agi_*`` environment Asterisk sends at the start of a FastAGI session."""
        return {
            "agi_network": "yes",
            "agi_request": "agi://127.0.0.1:4573/ivr",
            "agi_channel": self.channel,
            "agi_language": "en",
            "agi_type": "Local",
            "agi_uniqueid": self.uniqueid,
            "agi_version": "20.20.1",
            "agi_callerid": self.caller_num,
            "agi_calleridname": self.caller_name,
            "agi_callingpres": "0",
            "agi_callingani2": "0",
            "agi_callington": "0",
            "agi_callingtns": "0",
            "agi_dnid": "unknown",
            "agi_rdnis": "unknown",
            "agi_context": self.context,
            "agi_extension": self.exten,
            "agi_priority": "6",
            "agi_enhanced": "0.0",
            "agi_accountcode": "",
            "agi_threadid": "0",
        }


PreQueueHook = Callable[[CallerInfo], Awaitable[dict[str, str]]]
#: The survey after the call: same shape, run on the caller's ``;2`` once the operator hung up.
PostCallHook = PreQueueHook


def _avg(old: int, new: int) -> int:
    """app_queue's rolling average: ``((old << 2) - old + new) >> 2``."""
    return ((old << 2) - old + new) >> 2


def _fmt_time(t: float) -> str:
    return datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%d %H:%M:%S")


_LOCAL_RE = re.compile(r"^Local/([^@/]+)@([^/]+)(/n)?$", re.IGNORECASE)


class PbxCore:
    """Queues, members, callers and channels; every change is reported through ``emit``."""

    def __init__(
        self,
        clock: ScaledClock,
        emit: Emit,
        *,
        ring_time_s: float = 2.0,
        caller_exten: str = "12345",
        rng_seed: int = 0,
        varset: str = "some",
        default_queue: str = "hotline",
        pre_queue: PreQueueHook | None = None,
        recheck_s: float = 1.0,
        ivr_time_s: float = 0.0,
        patience_in_queue: bool = False,
        post_call: PostCallHook | None = None,
        survey_time_s: float = 0.0,
    ) -> None:
        if varset not in VARSET_LEVELS:
            raise ValueError(f"varset must be one of {VARSET_LEVELS}")
        self.clock = clock
        self.emit = emit
        self.ring_time_s = ring_time_s
        self.caller_exten = caller_exten
        self.varset = varset
        self.default_queue = default_queue
        #: app_queue's RECHECK: a waiting caller looks for a free member on its own grid of
        #: this many seconds. 0 = at once on every change (an ideal M/M/N+M queue).
        self.recheck_s = recheck_s
        #: The IVR step run for each caller's ``;2`` before Queue(); None = no AGI step.
        self.pre_queue: PreQueueHook | None = pre_queue
        #: Virtual seconds a caller spends in the IVR at the least (its prompts); the hook's
        #: answer is applied no earlier, so a seeded run does not depend on how fast the real
        #: FastAGI round trips were. A caller's own ``ivr_s`` attribute overrides it.
        self.ivr_time_s = ivr_time_s
        #: Whether a caller's patience runs from joining the queue (the traffic model's and
        #: Erlang-A's meaning: how long they will wait for an operator) rather than from the
        #: start of the call (what the recorded test dialplan's caller-sim does).
        self.patience_in_queue = patience_in_queue
        #: The survey step (``AGI(.../survey,${CHANNEL(linkedid)})``) run on the caller's ``;2``
        #: when the operator hung up first (``Queue(...,c)`` goes on); None = hang up at once.
        self.post_call: PostCallHook | None = post_call
        #: Virtual seconds the survey takes (its prompts), held like ``ivr_time_s``; 0 = the
        #: session's real duration. A caller's own ``survey_s`` attribute overrides it.
        self.survey_time_s = survey_time_s
        self.queues: dict[str, Queue] = {}
        self.devices: dict[str, Device] = {}
        self.channels: dict[str, Channel] = {}
        self.owners: dict[str, Caller] = {}  # channel name -> the call it belongs to
        self.globals: dict[str, str] = {
            "QUEUE": default_queue,
            "AGI_URL": "agi://127.0.0.1:4573/ivr",
            "DEFAULT_AGENT_RING": "1",
        }
        self.rng = random.Random(rng_seed)  # for the "random"/"wrandom" strategies only
        self._chan_seq = 0
        self._uid_seq = 0
        self._cmd_seq = 0
        self.calls_processed = 0
        self.stats: dict[str, int] = dict(
            offered=0,
            answered=0,
            abandoned=0,
            waiting=0,
            talking=0,
            finished=0,
            served_by_ivr=0,
        )
        self.started = clock.now()

    # -- event helpers -----------------------------------------------------------------
    def _event(self, name: str, privilege: str) -> dict[str, str]:
        return {
            "Event": name,
            "Privilege": privilege,
            "Timestamp": f"{self.clock.now():.6f}",
        }

    def _new_pair(self, exten: str, context: str, linkedid: str | None) -> tuple[Channel, Channel]:
        now = self.clock.now()
        n = self._chan_seq
        self._chan_seq += 1
        base = f"Local/{exten}@{context}-{n:08x}"
        uid1 = f"{int(now)}.{self._uid_seq}"
        uid2 = f"{int(now)}.{self._uid_seq + 1}"
        self._uid_seq += 2
        link = linkedid or uid1
        c1 = Channel(base + ";1", uid1, link, context, exten, 1, 0, created=now)
        c2 = Channel(base + ";2", uid2, link, context, exten, 1, 4, created=now)
        self.channels[c1.name] = c1
        self.channels[c2.name] = c2
        return c1, c2

    def _chan_event(self, name: str, ch: Channel, **extra: str) -> None:
        h = self._event(name, "call,all")
        ch.headers(h)
        h.update(extra)
        self.emit(h)

    def _newstate(self, ch: Channel, state: int) -> None:
        ch.state = state
        if state == 6 and not ch.answered:
            ch.answered = self.clock.now()
        self._chan_event("Newstate", ch)

    def _varset(self, ch: Channel, name: str, value: str, level: str = "all") -> None:
        ch.vars[name.lstrip("_")] = value
        if self.varset == "none" or (level == "all" and self.varset != "all"):
            return
        h = self._event("VarSet", "dialplan,all")
        ch.headers(h)
        h["Variable"] = name
        h["Value"] = value
        self.emit(h)

    def _hangup_req(self, name: str, ch: Channel, cause: int) -> None:
        self._chan_event(name, ch, Cause=str(cause))

    def _hangup(self, ch: Channel, cause: int) -> None:
        self._chan_event("Hangup", ch, Cause=str(cause), **{"Cause-txt": _CAUSE_TXT[cause]})
        self.channels.pop(ch.name, None)
        self.owners.pop(ch.name, None)

    def _cdr(self, ch: Channel, dest_channel: str = "", last_app: str = "", last_data: str = ""):
        now = self.clock.now()
        h = self._event("Cdr", "cdr,all")
        answered = ch.answered
        h.update(
            {
                "AccountCode": ch.accountcode,
                "Source": ch.cid_num if ch.cid_num != "<unknown>" else "",
                "Destination": ch.dest_exten or ch.exten,
                "DestinationContext": ch.dest_context or ch.context,
                "CallerID": f'"{ch.cid_name}" <{ch.cid_num}>',
                "Channel": ch.name,
                "DestinationChannel": dest_channel,
                "LastApplication": last_app or ch.app,
                "LastData": last_data if last_app else ch.appdata,
                "StartTime": _fmt_time(ch.created),
                "AnswerTime": _fmt_time(answered) if answered else "",
                "EndTime": _fmt_time(now),
                "Duration": str(int(now - ch.created)),
                "BillableSeconds": str(int(now - answered)) if answered else "0",
                "Disposition": "ANSWERED" if answered else "NO ANSWER",
                "AMAFlags": "DOCUMENTATION",
                "UniqueID": ch.uniqueid,
                "UserField": "",
            }
        )
        self.emit(h)

    def _dial_event(self, name: str, src: Channel | None, dest: Channel, **extra: str) -> None:
        h = self._event(name, "call,all")
        if src is not None:
            src.headers(h)
        dest.headers(h, "Dest")
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

    def _local_bridge(self, c1: Channel, c2: Channel) -> None:
        h = self._event("LocalBridge", "call,all")
        c1.headers(h, "LocalOne")
        c2.headers(h, "LocalTwo")
        h["Context"] = c2.context
        h["Exten"] = c2.exten
        h["LocalOptimization"] = "No"
        self.emit(h)

    def _bridge_event(self, name: str, bridge: str, n: int, ch: Channel | None = None) -> None:
        h = self._event(name, "call,all")
        h.update(
            {
                "BridgeUniqueid": bridge,
                "BridgeType": "basic",
                "BridgeTechnology": "simple_bridge",
                "BridgeCreator": "<unknown>",
                "BridgeName": "<unknown>",
                "BridgeNumChannels": str(n),
                "BridgeVideoSourceMode": "none",
            }
        )
        if ch is not None:
            ch.headers(h)
        self.emit(h)

    def agi_exec(self, ch: Channel, command: str, result_code: str = "200", result="Success"):
        """AGIExecStart/AGIExecEnd around one AGI command run on ``ch`` (SET VARIABLE sets it)."""
        self._cmd_seq += 1
        cid = str(100000000 + (self._cmd_seq * 7919) % 900000000)
        h = self._event("AGIExecStart", "agi,all")
        ch.headers(h)
        h["CommandId"] = cid
        h["Command"] = command
        self.emit(h)
        m = re.match(r'^SET VARIABLE\s+(\S+)\s+"?(.*?)"?$', command, re.IGNORECASE)
        if m:
            self._varset(ch, m.group(1), m.group(2), "some")
        h = self._event("AGIExecEnd", "agi,all")
        ch.headers(h)
        h.update(CommandId=cid, Command=command, ResultCode=result_code, Result=result)
        self.emit(h)

    # -- configuration -----------------------------------------------------------------
    def add_queue(self, name: str, **settings: Any) -> Queue:
        q = Queue(name, **settings)
        self.queues[name] = q
        return q

    def _device(self, state_interface: str) -> Device:
        key = state_interface.lower()
        dev = self.devices.get(key)
        if dev is None:
            dev = self.devices[key] = Device(key)
        return dev

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
        ringinuse: bool | None = None,
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
            ringinuse=q.ringinuse if ringinuse is None else ringinuse,
            dev=self._device(state_interface or interface),
        )
        q.members[key] = m
        if event:
            self._member_event("QueueMemberAdded", m)
        self._kick(q)
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
        leg = m.leg
        if leg is not None and leg.member is m:
            self._cancel_leg(leg, cause=0)
            if leg.caller.state == WAITING:
                self._schedule_check(leg.caller)
        if m.call is not None and m.call.member is m:
            m.call.member_removed = True  # README s9: that call never counts as Completed
        self._member_event("QueueMemberRemoved", m)
        self._kick(q)
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
            # A waiting caller notices the change on its next 1 s recheck (README s10).
            self._kick(self.queues[m.queue])
        return True

    # -- availability (app_queue's is_member_available / can_ring_entry) -----------------
    def _wrapuptime(self, q: Queue, m: Member) -> float:
        return m.wrapuptime or q.wrapuptime

    def _in_wrapup(self, q: Queue, m: Member, now: float) -> bool:
        wrap = self._wrapuptime(q, m)
        # app_queue: ``time(NULL) - wrapuptime < mem->lastcall``, in whole seconds
        last = m.dev.last_call_end
        return bool(wrap) and last > 0 and int(now) - wrap < int(last)

    def _ringable(self, q: Queue, m: Member, now: float) -> bool:
        if m.paused:
            return False
        dev = m.dev
        if (dev.leg is not None or dev.call is not None) and not m.ringinuse:
            return False
        if dev.leg is not None:  # one ring at a time per device
            return False
        return not self._in_wrapup(q, m, now)

    def _available(self, q: Queue, now: float) -> list[tuple[int, Member]]:
        return [(pos, m) for pos, m in enumerate(q.members.values()) if self._ringable(q, m, now)]

    def _num_available(self, q: Queue, now: float) -> int:
        n = 0
        single = not q.autofill or q.strategy == "ringall"
        for m in q.members.values():
            if self._ringable(q, m, now):
                n += 1
                if single:
                    break
        return n

    def _empty(self, q: Queue, conditions: int, now: float) -> bool:
        """app_queue's get_member_status: True when no member satisfies ``conditions``."""
        for m in q.members.values():
            busy = m.dev.leg is not None or m.dev.call is not None
            if busy and conditions & (EMPTY_INUSE | EMPTY_RINGING):
                continue
            if m.paused and conditions & EMPTY_PAUSED:
                continue
            if conditions & EMPTY_WRAPUP and self._in_wrapup(q, m, now):
                continue
            return False
        return True

    # -- strategies (app_queue's calc_metric) --------------------------------------------
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

    # -- callers: arrival --------------------------------------------------------------
    def caller_arrive(
        self,
        queue: str,
        num: str,
        name: str,
        *,
        patience: float | None,
        talk: float,
        hangup_by: str = "agent",
        priority: int = 0,
        maxwait: float | None = None,
        attrs: dict[str, Any] | None = None,
        variables: dict[str, str] | None = None,
        on_done: Callable[[Caller, str], None] | None = None,
        exten: str | None = None,
    ) -> Caller:
        """A call comes in: its channels appear, the IVR step runs, then it joins ``queue``."""
        if queue not in self.queues:
            raise KeyError(queue)
        if exten is None:
            exten = self.caller_exten if queue == self.default_queue else f"q{queue}"
        vars_ = dict(variables or {})
        if priority and "QUEUE_PRIO" not in vars_:
            vars_["QUEUE_PRIO"] = str(priority)
        caller = self._start_caller(
            exten, num, name, vars_, patience=patience, talk=talk, hangup_by=hangup_by
        )
        caller.queue = queue
        caller.maxwait = maxwait
        caller.attrs = dict(attrs or {})
        caller.on_done = on_done
        self._after_answer(caller)
        return caller

    def _start_caller(
        self,
        exten: str,
        num: str,
        name: str,
        variables: dict[str, str],
        *,
        patience: float | None,
        talk: float,
        hangup_by: str = "agent",
        on_response: Callable[[Channel], None] | None = None,
    ) -> Caller:
        c1, c2 = self._new_pair(exten, "callers", None)
        caller = Caller(num, name, patience, talk, hangup_by, c1, c2, exten=exten)
        caller.arrived = self.clock.now()
        self.owners[c1.name] = caller
        self.owners[c2.name] = caller
        self.calls_processed += 1
        self._chan_event("Newchannel", c1)
        self._chan_event("Newchannel", c2)
        for k, v in variables.items():
            self._varset(c1, k, v, "some")
        c1.cid_num, c1.cid_name = num, name
        self._chan_event("NewCallerid", c1, **_PRES)
        c1.conn_num, c1.conn_name = num, name
        self._chan_event("NewConnectedLine", c1)
        for k, v in variables.items():  # a Local channel copies ;1's variables to ;2
            self._varset(c2, k, v, "some")
        c2.cid_num, c2.cid_name = num, name
        self._chan_event("NewCallerid", c2, **_PRES)
        c2.conn_num, c2.conn_name = num, name
        self._chan_event("NewConnectedLine", c2)
        self._local_bridge(c1, c2)
        c1.dest_exten, c1.dest_context = "s", "caller-sim"
        originated = on_response is not None  # an incoming call has no Originate dial
        if originated:
            self._dial_event("DialBegin", None, c1, DialString=f"{exten}@callers/n")
        c2.priority = 2
        c2.app, c2.appdata = "Answer", ""
        self._newstate(c2, 6)
        if on_response is not None:
            on_response(c1)
        self._newstate(c1, 6)
        if originated:
            self._dial_event("DialEnd", None, c1, DialStatus="ANSWER")
        c1.context, c1.exten, c1.priority = "caller-sim", "s", 4
        c1.app, c1.appdata = "Wait", "" if patience is None else f"{patience:g}"
        self._varset(c1, "PBXSIDE", c2.name)
        if talk:
            self._varset(c2, "__TALK", f"{talk:g}")
        for var in ("AGENT_RING", "AGENT_ANSWER"):
            if var in variables:
                self._varset(c2, "__" + var, variables[var])
        return caller

    def _after_answer(self, caller: Caller) -> None:
        """Both halves are up: start the caller's patience, then the IVR step or Queue()."""
        if caller.patience is not None and not self.patience_in_queue:
            caller.abandon_timer = self.clock.call_later(caller.patience, self._abandon, caller)
        caller.state = PREQUEUE
        if not caller.queue:
            caller.queue = (
                caller.exten[1:]
                if caller.exten.startswith("q")
                else self.globals.get("QUEUE", self.default_queue)
            )
        self.stats["offered"] += 1
        if self.pre_queue is None:
            self._enter_queue(caller)
        else:
            self._run_hook(caller)

    def _run_hook(self, caller: Caller) -> None:
        """``AGI(${AGI_URL})`` on the caller's ``;2`` before ``Queue()`` (the IVR step)."""
        c2 = caller.chan2
        c2.priority = 6
        c2.app, c2.appdata = "AGI", self.globals.get("AGI_URL", "")
        assert self.pre_queue is not None
        self._agi_step(
            caller,
            self.pre_queue,
            state=PREQUEUE,
            modelled_s=float(caller.attrs.get("ivr_s", self.ivr_time_s)),
            then=self._hook_done,
            without_loop=lambda: self._enter_queue(caller),
            what="pre-queue",
        )

    def _agi_step(
        self,
        caller: Caller,
        hook: PreQueueHook,
        *,
        state: str,
        modelled_s: float,
        then: Callable[[Caller, dict[str, str], list[str], bool], None],
        without_loop: Callable[[], None],
        what: str,
    ) -> None:
        """Run an AGI step (the IVR before the queue, the survey after the call) through
        ``hook``, a real FastAGI session, while the caller is in ``state``; then call
        ``then(caller, variables, commands issued, ok)`` on the clock.

        With a modelled time (``modelled_s`` > 0) the clock holds at its end until the real
        session has answered, and ``then`` runs exactly there, so a seeded run is the same
        however slow the round trips were; without one, the session's real duration is its
        virtual duration.
        """
        c2 = caller.chan2
        issued: list[str] = []

        def agi_command(command: str, result_code: str = "200", result: str = "Success"):
            if caller.state == state:
                issued.append(command)
                self.agi_exec(c2, command, result_code, result)

        info = CallerInfo(
            channel=c2.name,
            uniqueid=c2.uniqueid,
            linkedid=c2.linkedid,
            caller_num=caller.num,
            caller_name=caller.name,
            exten=caller.exten,
            context="callers",
            queue=caller.queue,
            variables=dict(c2.vars),
            attrs=dict(caller.attrs),
            agi_command=agi_command,
        )
        not_before = self.clock.now() + modelled_s
        try:
            task = asyncio.ensure_future(hook(info))
        except RuntimeError:  # no running loop: no AGI step
            without_loop()
            return
        caller.hook_task = task
        hold = getattr(self.clock, "hold", None) if not_before > self.clock.now() else None
        token = hold(not_before) if hold is not None else None

        def done(t: asyncio.Task) -> None:
            if token is not None:
                self.clock.release(token)  # type: ignore[attr-defined]
            if caller.hook_task is not t:
                return
            caller.hook_task = None
            if t.cancelled() or caller.state != state:
                return
            exc = t.exception()
            result = {} if exc is not None else (t.result() or {})
            if exc is not None:
                log.warning("%s hook failed for %s: %r", what, c2.name, exc)
            at = not_before if token is not None else max(self.clock.now(), not_before)
            self.clock.call_at(at, then, caller, dict(result), issued, exc is None)

        task.add_done_callback(done)

    def _agi_result(self, c2: Channel, result: dict[str, str], issued: list[str], ok: bool) -> str:
        """The variables an AGI step set, as the events Asterisk shows; returns AGISTATUS."""
        for k, v in result.items():
            k = str(k)
            if k == "AGISTATUS":
                continue
            if issued:  # the AGI client reported its own commands
                if c2.vars.get(k.lstrip("_")) != str(v):
                    self._varset(c2, k, str(v), "some")
            else:
                self.agi_exec(c2, f'SET VARIABLE {k} "{v}"')
        status = str(result.get("AGISTATUS", "SUCCESS")) if ok else "FAILURE"
        self._varset(c2, "AGISTATUS", status)
        self._varset(c2, "TRYSTATUS", "SUCCESS" if ok else "FAILED")
        return status

    def _hook_done(self, caller: Caller, result: dict[str, str], issued: list[str], ok: bool):
        if caller.state != PREQUEUE:
            return
        status = self._agi_result(caller.chan2, result, issued, ok)
        if status == "HANGUP":
            # The IVR hung up: the caller was served by it alone (ticket progress, an
            # announcement) or left in the menu. The dialplan never reaches Queue().
            self._ivr_hangup(caller)
            return
        if result.get("QUEUE"):
            caller.queue = str(result["QUEUE"])
        self._enter_queue(caller)

    # -- Queue() -----------------------------------------------------------------------
    def _enter_queue(self, caller: Caller) -> None:
        """Queue(${QUEUE},,,,${MAXWAIT}) for a caller whose ;2 is up."""
        c2 = caller.chan2
        q = self.queues.get(caller.queue)
        c2.priority = 8
        c2.app, c2.appdata = "Queue", f"{caller.queue},,,,{_fmt_num(caller.maxwait)}"
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
        self._chan_event("MusicOnHoldStart", c2, Class="default")
        if caller.maxwait:
            caller.expire_timer = self.clock.call_later(caller.maxwait, self._expire, caller)
        self._check(caller)

    def _schedule_check(self, caller: Caller) -> None:
        """Recheck on the caller's own 1 s grid (app_queue's RECHECK in wait_our_turn)."""
        if caller.state != WAITING or caller.timer is not None:
            return
        now = self.clock.now()
        if self.recheck_s <= 0:
            caller.timer = self.clock.call_at(now, self._tick, caller)
            return
        step = self.recheck_s
        k = int((now - caller.anchor) // step) + 1
        caller.timer = self.clock.call_at(caller.anchor + k * step, self._tick, caller)

    def _kick(self, q: Queue) -> None:
        """Something changed in ``q``: every idle waiting caller looks again on its next tick."""
        for c in q.callers:
            if c.state == WAITING and c.timer is None:
                self._schedule_check(c)

    def _tick(self, caller: Caller) -> None:
        caller.timer = None
        if caller.state == WAITING:
            self._check(caller)

    def _is_our_turn(self, q: Queue, caller: Caller, now: float) -> bool:
        avl = self._num_available(q, now)
        if not avl:
            return False
        idx = 0
        for c in q.callers:
            if c is caller:
                break
            if c.state != RINGING:
                idx += 1
        if not q.autofill:
            return idx == 0
        return idx < avl

    def _check(self, caller: Caller) -> None:
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
        # a ring is answered elsewhere); otherwise a change in the queue kicks us. Without the
        # grid (recheck_s=0) the kicks alone suffice (a wrap-up's end kicks the queue, see
        # _count_completed); re-checking "now" would spin at one virtual instant for ever.
        if self.recheck_s <= 0:
            return
        if any(self._in_wrapup(q, m, now) for m in q.members.values()) or q.leavewhenempty:
            self._schedule_check(caller)

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
        self._check(caller)

    def _try_calling(self, q: Queue, caller: Caller, now: float) -> bool:
        members = list(q.members.values())
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
                    if self._ringable(q, mm, now):
                        rung.append(mm)
                if rung:
                    break
                continue
            tried.add(pos)
            if self._ringable(q, m, now):
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

    # -- ringing members ---------------------------------------------------------------
    def _seat(self, m: Member) -> str:
        return m.state_interface.split("/", 1)[-1].split("@", 1)[0] or "s"

    def _seat_setting(self, caller: Caller, m: Member, var: str, seat_var: str) -> str:
        seat = f"SEAT_{self._seat(m)}_{seat_var}"
        return caller.chan2.vars.get(var) or self.globals.get(seat, "")

    def _ring(self, q: Queue, caller: Caller, members: list[Member]) -> None:
        caller.state = RINGING
        now = self.clock.now()
        c2 = caller.chan2
        legs: list[Leg] = []
        for m in members:
            ext = self._seat(m)
            ctx = m.state_interface.split("@", 1)[1] if "@" in m.state_interface else "agents"
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
            self._chan_event("NewCallerid", a1, **_PRES)
            if caller.talk:
                self._varset(a1, "__TALK", f"{caller.talk:g}")
            dialed = m.interface.split("/", 1)[-1]
            self._varset(a1, "DIALEDPEERNUMBER", dialed)
            self._varset(a2, "DIALEDPEERNUMBER", dialed)
            a2.cid_num, a2.cid_name = caller.num, caller.name
            a2.conn_num, a2.conn_name = caller.num, caller.name
            self._chan_event("NewCallerid", a2, **_PRES)
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
        self._hangup_req("HangupRequest", a2, cause)
        self._hangup(a1, cause)
        self._hangup_req("SoftHangupRequest", a2, 16)
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
        self._free_device(leg.member)

    def _free_device(self, m: Member) -> None:
        """A device became free: the callers of every queue it serves may look again."""
        key = m.dev.key
        for q in self.queues.values():
            if q.callers and any(mm.dev.key == key for mm in q.members.values()):
                self._kick(q)

    def _ring_timeout(self, leg: Leg) -> None:
        caller, m = leg.caller, leg.member
        q = self.queues.get(m.queue)
        ring_ms = round((self.clock.now() - leg.start) * 1000)
        self._drop_leg(leg)
        self._agent_event("AgentRingNoAnswer", caller, leg, m, RingTime=str(ring_ms))
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
        self._free_device(m)

    # -- answer, talk, hang up -----------------------------------------------------------
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
        if caller.abandon_timer is not None:
            caller.abandon_timer.cancel()
            caller.abandon_timer = None
        if caller.expire_timer is not None:
            caller.expire_timer.cancel()
            caller.expire_timer = None
        self._chan_event("MusicOnHoldStop", c2)
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
        self._free_device(m)  # other queues' callers: this device is busy now (no-op kick)

    def _queue_vars(self, ch: Channel, q: Queue) -> None:
        sl = 100.0 * q.completed_in_sl / q.completed if q.completed else 0.0
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
            q.talktime = _avg(q.talktime, talk)
            m.calls_taken += 1
            m.last_call = int(now)
            m.dev.last_call_end = now
            wrap = self._wrapuptime(q, m)
            m.wrap_until = now + wrap
            if wrap:
                # callers waiting in any of the device's queues look again once it is over
                self.clock.call_at(int(now) + wrap, self._free_device, m)
        return hold, talk

    def _unbridge(self, caller: Caller, first: Channel, second: Channel) -> None:
        bridge = caller.bridge_id
        self._varset(first, "BRIDGEPEER", "", "some")
        self._varset(second, "BRIDGEPEER", "", "some")
        self._bridge_event("BridgeLeave", bridge, 1, first)
        self._bridge_event("BridgeLeave", bridge, 0, second)
        first.bridge = second.bridge = ""

    def _end_call_agent(self, caller: Caller) -> None:
        """The seat hangs up after its talk time (the recorded traces' case)."""
        caller.timer = None
        m, leg = caller.member, caller.agent_leg
        assert m is not None and leg is not None
        now = self.clock.now()
        hold, talk = self._count_completed(caller, now)
        m.call = None
        a1, a2, c2 = leg.chan1, leg.chan2, caller.chan2
        a2.priority = 16
        a2.app, a2.appdata = "Hangup", ""
        self._hangup_req("SoftHangupRequest", a2, 16)
        self._hangup_req("HangupRequest", a1, 16)
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
            self._free_device(m)
            self._run_survey(caller)
            return
        self._caller_gone(caller, first_2=True)
        self._member_event("QueueMemberStatus", m)
        self.stats["talking"] -= 1
        self._finish(caller, "answered")
        self._free_device(m)

    def _run_survey(self, caller: Caller) -> None:
        """``AGI(${HOTLINE_AGI}/survey,${CHANNEL(linkedid)})`` on the caller's ``;2`` after the
        operator hung up, then ``Hangup()`` (extensions.conf). Held like the IVR step."""
        c2 = caller.chan2
        caller.state = SURVEY
        base = self.globals.get("AGI_URL", "agi://127.0.0.1:4573/ivr").rsplit("/", 1)[0]
        c2.priority = 10
        c2.app, c2.appdata = "AGI", f"{base}/survey,{c2.linkedid}"
        assert self.post_call is not None
        self._agi_step(
            caller,
            self.post_call,
            state=SURVEY,
            modelled_s=float(caller.attrs.get("survey_s", self.survey_time_s)),
            then=self._survey_done,
            without_loop=lambda: self._survey_done(caller, {}, [], False),
            what="post-call",
        )

    def _survey_done(self, caller: Caller, result: dict[str, str], issued: list[str], ok: bool):
        if caller.state != SURVEY:
            return
        c2 = caller.chan2
        self._agi_result(c2, result, issued, ok)
        c2.priority = 12
        c2.app, c2.appdata = "Hangup", ""
        self._end_survey(caller)

    def _end_survey(self, caller: Caller) -> None:
        """The caller's Local pair hangs up after the survey (or during it)."""
        self._stop_timers(caller)
        if caller.hook_task is not None:
            task, caller.hook_task = caller.hook_task, None
            task.cancel()
        self._caller_gone(caller, first_2=True)
        self._finish(caller, "answered")

    def _end_call_caller(self, caller: Caller) -> None:
        """The citizen hangs up first (``AgentComplete Reason: caller``)."""
        caller.timer = None
        m, leg = caller.member, caller.agent_leg
        assert m is not None and leg is not None
        now = self.clock.now()
        hold, talk = self._count_completed(caller, now)
        m.call = None
        a1, a2, c1, c2 = leg.chan1, leg.chan2, caller.chan1, caller.chan2
        self._hangup_req("SoftHangupRequest", c1, 16)
        self._hangup_req("HangupRequest", c2, 16)
        self._hangup(c1, 16)
        self._cdr(c1)
        self._agent_event(
            "AgentComplete", caller, leg, m, HoldTime=str(hold), TalkTime=str(talk), Reason="caller"
        )
        self._unbridge(caller, c2, a1)
        self._run_deferred(caller)
        self._hangup(c2, 16)
        self._c2_cdrs(caller)
        self._bridge_event("BridgeDestroy", caller.bridge_id, 0)
        self._hangup_req("HangupRequest", a1, 16)
        self._hangup(a1, 16)
        self._hangup_req("SoftHangupRequest", a2, 16)
        self._hangup(a2, 16)
        self._cdr(a2)
        self._member_event("QueueMemberStatus", m)
        self.stats["talking"] -= 1
        self._finish(caller, "answered")
        self._free_device(m)

    def _c2_cdrs(self, caller: Caller) -> None:
        c2 = caller.chan2
        for d in caller.dialed or [""]:
            self._cdr(c2, d)

    def _caller_gone(self, caller: Caller, first_2: bool) -> None:
        """The caller's Local pair hangs up (;2 ends its dialplan, then ;1 follows)."""
        c1, c2 = caller.chan1, caller.chan2
        self._run_deferred(caller)
        self._hangup_req("SoftHangupRequest", c2, 16)
        self._hangup_req("HangupRequest", c1, 16)
        self._hangup(c2, 16)
        if caller.bridge_id:
            self._bridge_event("BridgeDestroy", caller.bridge_id, 0)
        self._c2_cdrs(caller)
        self._cdr(c1)
        self._hangup_req("SoftHangupRequest", c1, 16)
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

    def _stop_timers(self, caller: Caller) -> None:
        for attr in ("timer", "abandon_timer", "expire_timer"):
            t = getattr(caller, attr)
            if t is not None:
                t.cancel()
                setattr(caller, attr, None)

    def _abandon(self, caller: Caller, cause: int = 16, by_action: bool = False) -> None:
        """The caller's phone gives up (patience) or its channel is hung up."""
        caller.abandon_timer = None
        if caller.state == PREQUEUE:
            self._stop_timers(caller)
            if caller.hook_task is not None:
                task, caller.hook_task = caller.hook_task, None
                task.cancel()
            c1, c2 = caller.chan1, caller.chan2
            self._hangup_req("SoftHangupRequest", c1, 16)
            self._hangup_req("HangupRequest", c2, 16)
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
            self._hangup_req("SoftHangupRequest", c2, 0)
        else:
            self._hangup_req("SoftHangupRequest", c1, 16)
            self._hangup_req("HangupRequest", c2, 16)
            self._hangup(c1, 16)
            self._cdr(c1)
        self._chan_event("MusicOnHoldStop", c2)
        legs = list(caller.legs)
        for leg in legs:
            self._drop_leg(leg)
            self._dial_event("DialEnd", c2, leg.chan1, DialStatus="CANCEL")
            self._dial_event("DialEnd", c2, leg.chan1, DialStatus="CANCEL")
            self._hangup_req("HangupRequest", leg.chan2, 0)
            self._hangup(leg.chan1, 0)
        q, pos = self._leave_queue(caller)
        self._record_abandon(caller, q, pos)
        self._caller_event(
            "QueueCallerLeave", caller, q, Position=str(pos), Count=str(len(q.callers))
        )
        if by_action:
            self._hangup(c2, cause)
            self._c2_cdrs(caller)
            self._hangup_req("HangupRequest", c1, 16)
            self._hangup_req("SoftHangupRequest", c1, 16)
            self._hangup(c1, 16)
            self._cdr(c1)
        else:
            self._hangup_req("SoftHangupRequest", c2, 16)
            self._hangup(c2, cause)
            self._c2_cdrs(caller)
        for leg in legs:
            self._member_event("QueueMemberStatus", leg.member)
            self._hangup_req("SoftHangupRequest", leg.chan2, 16)
            self._hangup(leg.chan2, 0)
            self._cdr(leg.chan2)
        self.stats["abandoned"] += 1
        self._finish(caller, "abandoned")
        for leg in legs:
            self._free_device(leg.member)
        self._kick(q)

    def _expire(self, caller: Caller) -> None:
        """Queue()'s own timeout (MAXWAIT): checked when not ringing, or when the ring ends."""
        caller.expire_timer = None
        if caller.state in (WAITING, RETRY):
            self._queue_exit(caller, "TIMEOUT")
        # RINGING: the ring was cut to the remaining time; _ring_timeout exits then.

    def _queue_exit(self, caller: Caller, status: str) -> None:
        """Queue() returns with the caller still up: TIMEOUT or LEAVEEMPTY (README s10)."""
        if caller.timer is not None:
            caller.timer.cancel()
            caller.timer = None
        if caller.expire_timer is not None:
            caller.expire_timer.cancel()
            caller.expire_timer = None
        q, pos = self._leave_queue(caller)
        self._record_abandon(caller, q, pos)
        self._chan_event("MusicOnHoldStop", caller.chan2)
        self._caller_event(
            "QueueCallerLeave", caller, q, Position=str(pos), Count=str(len(q.callers))
        )
        self._kick(q)
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
        self._hangup_req("SoftHangupRequest", c2, 16)
        self._hangup(c2, 16)
        self._cdr(c2)
        self._hangup_req("HangupRequest", c1, 16)
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

    # -- AMI actions on channels -------------------------------------------------------
    def extension_exists(self, context: str, exten: str) -> bool:
        if context == "callers":
            return exten == self.caller_exten or (exten.startswith("q") and len(exten) > 1)
        if context == "caller-sim":
            return exten == "s"
        if context == "agents":
            return bool(re.fullmatch(r"8\d\d\d", exten))
        if context == "tests":
            return exten in ("600", "700", "701", "702", "1001", "2001")
        return False

    def originate(
        self,
        channel: str,
        *,
        context: str = "",
        exten: str = "",
        application: str = "",
        data: str = "",
        callerid: str = "",
        variables: dict[str, str] | None = None,
        on_response: Callable[[dict[str, str]], None] | None = None,
    ) -> Caller | None:
        """Originate ``Local/<exten>@callers/n`` into ``[caller-sim]`` (or an application).

        ``on_response`` gets the OriginateResponse headers (no Event/Privilege/Timestamp):
        Success when the call is up, or Failure / Reason 0 / Uniqueid ``<unknown>``.
        """
        variables = dict(variables or {})
        num, name = _parse_callerid(callerid)
        m = _LOCAL_RE.match(channel)
        if not m or m.group(2) != "callers" or not self.extension_exists("callers", m.group(1)):
            if on_response is not None:
                on_response(
                    {
                        "Response": "Failure",
                        "Channel": channel,
                        "Context": context,
                        "Exten": exten,
                        "Reason": "0",
                        "Uniqueid": "<unknown>",
                        "CallerIDNum": num or "<unknown>",
                        "CallerIDName": name or "<unknown>",
                    }
                )
            return None

        def respond(c1: Channel) -> None:
            if on_response is not None:
                on_response(
                    {
                        "Response": "Success",
                        "Channel": c1.name,
                        "Context": context or "",
                        "Exten": exten or "",
                        "Reason": "4",
                        "Uniqueid": c1.uniqueid,
                        "CallerIDNum": num or "<unknown>",
                        "CallerIDName": name or "<unknown>",
                    }
                )

        def fnum(key: str) -> float | None:
            try:
                v = variables.get(key, "")
                return float(v) if v != "" else None
            except ValueError:
                return None

        patience = fnum("PATIENCE")
        if application.lower() == "wait":
            patience = float(data or 0) or None
        talk = fnum("TALK")
        caller = self._start_caller(
            m.group(1),
            num or "<unknown>",
            name or "<unknown>",
            variables,
            patience=patience,
            talk=talk if talk is not None else self._default_talk(),
            on_response=respond,
        )
        caller.maxwait = fnum("MAXWAIT")
        self._after_answer(caller)
        return caller

    def _default_talk(self) -> float:
        lo = float(self.globals.get("DEFAULT_TALK_MIN", "5") or 5)
        hi = float(self.globals.get("DEFAULT_TALK_MAX", "20") or 20)
        return float(self.rng.randint(int(lo), int(hi)))

    def getvar(self, variable: str, channel: str | None = None) -> str | None:
        """A global (``channel`` None) or a channel variable; None if there is no such channel."""
        if not channel:
            return self.globals.get(variable, "")
        ch = self.channels.get(channel)
        if ch is None:
            return None
        up = variable.upper()
        if up == "CALLERID(NAME)":
            return ch.cid_name
        if up in ("CALLERID(NUM)", "CALLERID(NUMBER)"):
            return ch.cid_num
        if up == "CHANNEL":
            return ch.name
        if up == "UNIQUEID":
            return ch.uniqueid
        return ch.vars.get(variable, "")

    def setvar(self, variable: str, value: str, channel: str | None = None) -> bool:
        if not channel:
            self.globals[variable] = value
            return True
        ch = self.channels.get(channel)
        if ch is None:
            return False
        self._varset(ch, variable, value, "some")
        return True

    def hangup_channel(self, channel: str, cause: int = 0) -> bool:
        """AMI Hangup: False if the channel does not exist."""
        ch = self.channels.get(channel)
        if ch is None:
            return False
        caller = self.owners.get(channel)
        if caller is None:
            self._hangup(ch, cause)
            return True
        if ch is caller.chan1 or ch is caller.chan2:
            if caller.state in (WAITING, RINGING, RETRY):
                self._abandon(caller, cause=cause, by_action=ch is caller.chan2)
            elif caller.state == PREQUEUE:
                self._abandon(caller, cause=cause)
            elif caller.state == TALKING:
                if caller.timer is not None:
                    caller.timer.cancel()
                self._end_call_caller(caller)
            elif caller.state == SURVEY:
                self._end_survey(caller)
            return True
        # an agent leg
        for leg in list(caller.legs):
            if ch in (leg.chan1, leg.chan2):
                self._cancel_leg(leg, cause)
                if caller.state == WAITING:
                    self._schedule_check(caller)
                return True
        if caller.agent_leg is not None and ch in (caller.agent_leg.chan1, caller.agent_leg.chan2):
            if caller.timer is not None:
                caller.timer.cancel()
            self._end_call_agent(caller)
        return True

    def redirect(self, channel: str, context: str, exten: str, priority: int = 1) -> str:
        """AMI Redirect of a caller's channel to ``callers,<exten>`` (README s8).

        Returns "" on success, else the error text.
        """
        ch = self.channels.get(channel)
        if ch is None:
            return f"Channel does not exist: {channel}"
        if not self.extension_exists(context, exten):
            return "Extension does not exist."
        caller = self.owners.get(channel)
        if caller is None or ch not in (caller.chan1, caller.chan2) or context != "callers":
            return ""  # nothing modelled beyond caller channels into [callers]
        c2 = caller.chan2
        if caller.state in (WAITING, RINGING, RETRY):
            self._stop_timers_keep_patience(caller)
            self._chan_event("MusicOnHoldStop", c2)
            for leg in list(caller.legs):
                self._cancel_leg(leg, 0)
            q, pos = self._leave_queue(caller)
            self._record_abandon(caller, q, pos)
            self._caller_event(
                "QueueCallerLeave", caller, q, Position=str(pos), Count=str(len(q.callers))
            )
            self._kick(q)
        elif caller.state == TALKING:
            m, leg = caller.member, caller.agent_leg
            assert m is not None and leg is not None
            if caller.timer is not None:
                caller.timer.cancel()
                caller.timer = None
            now = self.clock.now()
            hold, _talk = self._count_completed(caller, now)
            m.call = None
            a1, a2 = leg.chan1, leg.chan2
            self._unbridge(caller, c2, a1)
            self._bridge_event("BridgeDestroy", caller.bridge_id, 0)
            caller.bridge_id = ""
            self._hangup_req("HangupRequest", a1, 16)
            self._hangup(a1, 16)
            self._hangup_req("SoftHangupRequest", a2, 16)
            self._hangup(a2, 16)
            self._cdr(a2)
            self._member_event("QueueMemberStatus", m)
            self.stats["talking"] -= 1
            start, old_q = caller.connect_time, caller.queue

            def late_complete(m=m, start=start, hold=hold, old_q=old_q) -> None:
                # The old queue's AgentComplete only comes when the caller finally hangs up:
                # Reason caller, no Dest* headers (README s8).
                h = self._event("AgentComplete", "agent,all")
                c2.headers(h)
                h.update(
                    Queue=old_q,
                    Interface=m.interface,
                    MemberName=m.name,
                    HoldTime=str(hold),
                    TalkTime=str(int(self.clock.now() - start)),
                    Reason="caller",
                )
                self.emit(h)

            caller.deferred.append(late_complete)
            caller.member = None
            caller.agent_leg = None
            self._free_device(m)
        elif caller.state != PREQUEUE:
            return ""
        else:
            if caller.hook_task is not None:
                caller.hook_task.cancel()
                caller.hook_task = None
        # re-run the dialplan at the new place: IVR step, then Queue()
        caller.exten = exten
        caller.queue = ""
        c2.exten, c2.priority = exten, 1
        caller.legs.clear()
        self.stats["offered"] -= 1  # _after_answer counts it again
        patience_timer = caller.abandon_timer
        caller.abandon_timer = None
        caller.patience, saved = None, caller.patience
        self._after_answer(caller)
        caller.patience = saved
        caller.abandon_timer = patience_timer
        return ""

    def _stop_timers_keep_patience(self, caller: Caller) -> None:
        for attr in ("timer", "expire_timer"):
            t = getattr(caller, attr)
            if t is not None:
                t.cancel()
                setattr(caller, attr, None)

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
            avail = sum(
                1
                for m in q.members.values()
                if not m.paused
                and m.dev.leg is None
                and m.dev.call is None
                and not self._in_wrapup(q, m, now)
            )
            longest = max((int(now - c.join_time) for c in q.callers), default=0)
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

    def core_show_channels(self) -> list[dict[str, str]]:
        """The CoreShowChannel items (no ActionID)."""
        now = self.clock.now()
        items = []
        for ch in reversed(list(self.channels.values())):
            h: dict[str, str] = {"Event": "CoreShowChannel"}
            ch.headers(h)
            d = int(now - ch.created)
            h.update(
                Application=ch.app,
                ApplicationData=ch.appdata,
                Duration=f"{d // 3600:02d}:{d % 3600 // 60:02d}:{d % 60:02d}",
                BridgeId=ch.bridge,
            )
            items.append(h)
        return items

    # -- CLI ---------------------------------------------------------------------------
    def cli(self, command: str) -> list[str] | None:
        """Output lines of a CLI command (``queue show [q]``, ``core show channels``)."""
        words = command.split()
        low = [w.lower() for w in words]
        if low[:2] == ["queue", "show"]:
            names = [words[2]] if len(words) > 2 else list(self.queues)
            out: list[str] = []
            for n in names:
                q = self.queues.get(n)
                if q is None:
                    out.append(f"No such queue: {n}.")
                    continue
                out.extend(self._queue_show(q))
            if len(words) <= 2 and not names:
                out.append("No queues.")
            return [*out, ""]
        if low[:3] == ["core", "show", "channels"]:
            out = [f"{'Channel':<64} {'Location':<32} {'State':<7} {'Application(Data)':<30}"]
            for ch in reversed(list(self.channels.values())):
                loc = f"{ch.exten}@{ch.context}:{ch.priority}"
                app = f"{ch.app}({ch.appdata})"
                out.append(
                    f"{ch.name:<64} {loc:<32} {_STATE_DESC.get(ch.state, 'Unknown'):<7} {app:<30}"
                )
            n = len(self.channels)
            calls = sum(1 for c in set(self.owners.values()) if c.state != DONE)
            out.append(f"{n} active channel{'s' if n != 1 else ''}")
            out.append(
                f"{calls} of 2000 max active calls ({100.0 * calls / 2000:5.2f}% of capacity)"
            )
            out.append(f"{self.calls_processed} calls processed")
            return out
        return None

    def _queue_show(self, q: Queue) -> list[str]:
        now = self.clock.now()
        sl = 100.0 * q.completed_in_sl / q.completed if q.completed else 0.0
        tot = q.completed + q.abandoned
        sl2 = 100.0 * (q.completed_in_sl + q.abandoned_in_sl) / tot if tot else 0.0
        mx = f"max {q.maxlen}" if q.maxlen else "max unlimited"
        out = [
            f"{q.name} has {len(q.callers)} calls ({mx}) in '{q.strategy}' strategy "
            f"({q.holdtime}s holdtime, {q.talktime}s talktime), W:{q.weight}, "
            f"C:{q.completed}, A:{q.abandoned}, SL:{sl:.1f}%, SL2:{sl2:.1f}% "
            f"within {q.servicelevel}s"
        ]
        if q.members:
            out.append("   Members: ")
            for m in q.members.values():
                line = f"      {m.name} ({m.interface}"
                if m.state_interface != m.interface:
                    line += f" from {m.state_interface}"
                line += ")"
                if m.penalty:
                    line += f" with penalty {m.penalty}"
                line += " (ringinuse enabled)" if m.ringinuse else " (ringinuse disabled)"
                line += f" ({m.membership})"
                if m.paused:
                    reason = f":{m.paused_reason}" if m.paused_reason else ""
                    line += f" (paused{reason} was {int(now - m.last_pause)} secs ago)"
                if m.in_call:
                    line += " (in call)"
                line += " (In use)" if m.status == 2 else " (Not in use)"
                if m.calls_taken:
                    line += (
                        f" has taken {m.calls_taken} calls "
                        f"(last was {int(now - m.last_call)} secs ago)"
                    )
                else:
                    line += " has taken no calls yet"
                line += f" (login was {int(now - m.login_time)} secs ago)"
                out.append(line)
        else:
            out.append("   No Members")
        if q.callers:
            out.append("   Callers: ")
            for i, c in enumerate(q.callers, 1):
                w = int(now - c.join_time)
                out.append(
                    f"      {i}. {c.chan2.name} (wait: {w // 60}:{w % 60:02d}, prio: {c.priority})"
                )
        else:
            out.append("   No Callers")
        out.append("")
        return out


def _fmt_num(v: float | None) -> str:
    return "" if v is None else f"{v:g}"


def _parse_callerid(text: str) -> tuple[str, str]:
    """``"Name" <num>`` -> (num, name)."""
    text = text.strip()
    m = re.match(r'^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$', text)
    if m:
        return m.group(2).strip(), m.group(1).strip()
    return (text, "") if text else ("", "")
