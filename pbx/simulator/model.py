"""The embedded PBX's model: channels, queues, members (and the devices they share), callers
and their ring attempts, as plain data with no behaviour beyond their own header blocks.

Names and numbers follow Asterisk 20's ``app_queue.c`` (``RES_*`` answers of member
management, the ``empty`` condition bits of ``joinempty``/``leavewhenempty``, the strategies)
so that a reader of app_queue finds the same words here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pbx.simulator.clock import TimerHandle

__all__ = [
    "DONE",
    "PREQUEUE",
    "RES_EXISTS",
    "RES_NOSUCHQUEUE",
    "RES_NOT_DYNAMIC",
    "RES_OKAY",
    "RETRY",
    "RINGING",
    "STRATEGIES",
    "SURVEY",
    "TALKING",
    "VARSET_LEVELS",
    "WAITING",
    "AgiHook",
    "AgiSession",
    "Caller",
    "CallerInfo",
    "Channel",
    "Device",
    "Emit",
    "Leg",
    "Member",
    "Queue",
    "fmt_num",
    "fmt_time",
    "parse_empty",
    "rolling_average",
]

#: Where every AMI event the PBX produces goes (a dict of headers, in Asterisk's order).
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

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}

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
        out[p + "ChannelStateDesc"] = STATE_DESC.get(self.state, "Unknown")
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
    #: AST_DEVICE_UNAVAILABLE (e.g. a SIP peer that is not registered): never rung, and
    #: counted by the ``unavailable`` condition of joinempty/leavewhenempty.
    unavailable: bool = False


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
        # (the traces never show 6 "Ringing" for these seats); 5 for an unavailable device.
        if self.dev.unavailable:
            return 5
        return 2 if (self.dev.leg is not None or self.dev.call is not None) else 1

    def headers(self, out: dict[str, str]) -> None:
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
    agi_session: AgiSession | None = None  # the IVR or survey step running for it
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

    def within_servicelevel(self, hold_s: int) -> bool:
        """Whether a call that waited ``hold_s`` whole seconds counts as within the service
        level (app_queue: ``holdtime <= servicelevel``), answered or abandoned alike."""
        return hold_s <= self.servicelevel

    def servicelevel_perf(self) -> float:
        """``ServicelevelPerf`` (%): completed calls answered within ``servicelevel`` seconds
        / completed calls, 0 before the first; app_queue's one definition, used by
        QueueStatus, ``queue show`` and ``QUEUESRVLEVELPERF`` alike."""
        return 100.0 * self.completed_in_sl / self.completed if self.completed else 0.0

    def servicelevel_perf2(self) -> float:
        """``ServicelevelPerf2`` (%): calls completed *or abandoned* within ``servicelevel``
        / completed and abandoned calls (an early abandon counts in the caller's favour)."""
        total = self.completed + self.abandoned
        within = self.completed_in_sl + self.abandoned_in_sl
        return 100.0 * within / total if total else 0.0

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


#: An AGI step (the IVR before Queue(), the survey after the call): a FastAGI session run by
#: the asynchronous side for the caller's ``;2``; it returns the variables it set.
AgiHook = Callable[[CallerInfo], Awaitable[dict[str, str]]]


class AgiSession(Protocol):
    """A running AGI step as the core sees it: it can only be cancelled (the caller left)."""

    def cancel(self) -> object: ...


def rolling_average(old: int, new: int) -> int:
    """app_queue's rolling average: ``((old << 2) - old + new) >> 2``."""
    return ((old << 2) - old + new) >> 2


def fmt_time(t: float) -> str:
    return datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_num(v: float | None) -> str:
    """A dialplan argument: empty for None, else the shortest form (``30``, ``2.5``)."""
    return "" if v is None else f"{v:g}"
