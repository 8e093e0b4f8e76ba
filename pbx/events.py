"""Typed domain events: what the rest of the backend sees of Asterisk.

Domains never see an AMI frame. :func:`translate` turns one AMI event frame into one of the
frozen dataclasses below, or ``None`` for events the domains do not use (``VarSet``,
``Newexten``...). A frame that names an event we use but lacks a field we need raises
:class:`BadEvent`, which names the event and the field, never a header's value.

**Figures** (``HoldTime``, ``TalkTime``, ``RingTime``, ``Position``, ``Count``,
``OriginalPosition``, a ``Hangup``'s ``Cause``, a ``QueueEntry``'s ``Wait``) are statistics
about a call, not what moves it on: a figure that is absent, negative or not a whole number is
``None`` in the event, and the event still happens (an ``AgentConnect`` with ``HoldTime: -5``
still answers its call). A malformed figure (or ``Timestamp``, then the receive time is used) is
reported as a :class:`BadEvent` appended to the ``bad`` list the caller passes, so that it is
counted (``bad_value``) without losing the event.

Times: ``at`` is the event's ``Timestamp`` header (``timestampevents = yes`` in manager.conf),
or the receive time passed in by the caller when Asterisk did not send one.

Why this module is long (about 640 lines): one small translator per AMI event type the domains
use, each next to the dataclass it builds, so that the fields a domain reads and the header
each comes from are read in one place. Split by event type, the same few helpers would be
imported everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pbx.codec import Frame

__all__ = [
    "AgentCalled",
    "AgentCompleted",
    "AgentConnected",
    "AgentRingNoAnswer",
    "BadEvent",
    "CallerAbandoned",
    "CallerJoined",
    "CallerLeft",
    "ChannelHungUp",
    "ChannelInfo",
    "DomainEvent",
    "FullyBooted",
    "HangupRequested",
    "MemberAdded",
    "MemberPaused",
    "MemberRemoved",
    "MemberStatus",
    "PbxShutdown",
    "QueueEntry",
    "QueueParams",
    "Snapshot",
    "snapshot_item",
    "started_between",
    "started_later",
    "translate",
]


class BadEvent(ValueError):
    """An AMI event we use arrived without a field we need, or with an absurd value."""

    def __init__(self, event: str, field: str, problem: str = "missing") -> None:
        super().__init__(f"{event}: field {field} {problem}")
        self.event = event
        self.field = field
        self.problem = problem

    @property
    def reason(self) -> str:
        """The ``hotline_ami_frames_rejected_total`` label: ``missing_field`` or ``bad_value``."""
        return "missing_field" if self.problem == "missing" else "bad_value"


@dataclass(frozen=True, slots=True)
class CallerJoined:
    """``QueueCallerJoin``: a caller entered a queue (it is now *offered*)."""

    at: float
    queue: str
    uniqueid: str
    linkedid: str
    channel: str
    caller_num: str
    caller_name: str
    position: int | None
    count: int | None


@dataclass(frozen=True, slots=True)
class CallerLeft:
    """``QueueCallerLeave``: a caller left the queue, answered or not."""

    at: float
    queue: str
    uniqueid: str
    position: int | None
    count: int | None


@dataclass(frozen=True, slots=True)
class CallerAbandoned:
    """``QueueCallerAbandon``: a caller left unanswered (hung up, or the queue timed out)."""

    at: float
    queue: str
    uniqueid: str
    position: int | None
    original_position: int | None
    hold_time: int | None


@dataclass(frozen=True, slots=True)
class AgentCalled:
    """``AgentCalled``: a member's phone rings for a waiting caller."""

    at: float
    queue: str
    uniqueid: str
    interface: str
    member_name: str


@dataclass(frozen=True, slots=True)
class AgentRingNoAnswer:
    """``AgentRingNoAnswer``: the member did not answer within the ring timeout."""

    at: float
    queue: str
    uniqueid: str
    interface: str
    member_name: str
    ring_time_ms: int | None


@dataclass(frozen=True, slots=True)
class AgentConnected:
    """``AgentConnect``: the caller is bridged to an operator (it is now *answered*)."""

    at: float
    queue: str
    uniqueid: str
    linkedid: str
    interface: str
    member_name: str
    hold_time: int | None
    ring_time: int | None


@dataclass(frozen=True, slots=True)
class AgentCompleted:
    """``AgentComplete``: an answered call ended.

    ``uniqueid`` may be empty: under load Asterisk sometimes sends it without the channel
    headers; then the call is found by ``queue`` and ``interface``.
    """

    at: float
    queue: str
    uniqueid: str
    interface: str
    member_name: str
    hold_time: int | None
    talk_time: int | None
    reason: str
    #: The caller's channel headers, when Asterisk sent them ("" otherwise).
    linkedid: str = ""
    caller_num: str = ""
    caller_name: str = ""


@dataclass(frozen=True, slots=True)
class MemberStatus:
    """``QueueMemberStatus``/``QueueMemberAdded``/``QueueMember`` fields of one member."""

    at: float
    queue: str
    interface: str
    member_name: str
    status: int
    paused: bool
    paused_reason: str
    in_call: bool
    #: The device Asterisk watches for this member (``Local/8001@agents``); "" if not sent.
    state_interface: str = ""


@dataclass(frozen=True, slots=True)
class MemberAdded:
    at: float
    member: MemberStatus


@dataclass(frozen=True, slots=True)
class MemberRemoved:
    at: float
    queue: str
    interface: str
    member_name: str


@dataclass(frozen=True, slots=True)
class MemberPaused:
    at: float
    member: MemberStatus


@dataclass(frozen=True, slots=True)
class ChannelHungUp:
    """``Hangup`` of any channel."""

    at: float
    channel: str
    uniqueid: str
    linkedid: str
    cause: int | None
    cause_txt: str


@dataclass(frozen=True, slots=True)
class HangupRequested:
    """``HangupRequest`` or ``SoftHangupRequest``: a channel was asked to hang up (its
    caller hung up, or Asterisk is ending it). For a caller waiting in a queue who hangs up it
    comes before the ``QueueCallerAbandon``; when Queue() lets a caller go (its timeout) none
    comes before: that is how the two abandons are told apart (the AMI ``Hangup`` action
    sends none either: it reads as a timeout)."""

    at: float
    uniqueid: str


@dataclass(frozen=True, slots=True)
class FullyBooted:
    """``FullyBooted``; ``uptime`` is Asterisk's ``Uptime`` header (seconds since it started),
    ``None`` when absent. A smaller uptime than the last one, time allowing, means a restart."""

    at: float
    uptime: int | None = None
    #: Set by the AMI link: this boot's process is surely newer than the last boot's
    #: (:func:`started_later`).
    restarted: bool = False


def started_between(uptime: int, asked_at: float, read_at: float) -> tuple[float, float]:
    """Bounds of when the Asterisk process started, from the ``Uptime`` of its ``FullyBooted``:
    it said it between ``asked_at`` (our ``Login`` sent) and ``read_at`` (the event read), and
    ``Uptime`` counts whole seconds. Reading late (a backlog, a machine short of CPU) widens
    the bounds instead of moving them."""
    return (asked_at - uptime - 1.0, read_at - uptime)


def started_later(prev: tuple[float, float] | None, now: tuple[float, float]) -> bool:
    """Whether the process started within ``now`` surely started after the one within
    ``prev`` (1 s of slack for the clocks, or 1% of the time between them): a restart."""
    if prev is None:
        return False
    return now[0] - prev[1] > max(1.0, 0.01 * max(0.0, now[0] - prev[0]))


@dataclass(frozen=True, slots=True)
class PbxShutdown:
    at: float
    restart: bool


DomainEvent = (
    CallerJoined
    | CallerLeft
    | CallerAbandoned
    | AgentCalled
    | AgentRingNoAnswer
    | AgentConnected
    | AgentCompleted
    | MemberAdded
    | MemberRemoved
    | MemberPaused
    | MemberStatus
    | ChannelHungUp
    | HangupRequested
    | FullyBooted
    | PbxShutdown
)


def _req(h: dict, event: str, name: str) -> str:
    value = h.get(name)
    if value is None:
        raise BadEvent(event, name)
    return value if isinstance(value, str) else value[0]


def _int(h: dict, event: str, name: str, *, default: int | None = None) -> int:
    value = h.get(name)
    if value is None or value == "":
        if default is not None:
            return default
        raise BadEvent(event, name)
    try:
        n = int(value if isinstance(value, str) else value[0])
    except ValueError:
        raise BadEvent(event, name, "not a whole number") from None
    if n < 0:
        raise BadEvent(event, name, "negative")
    return n


def _figure(h: dict, event: str, name: str, bad: list[BadEvent] | None) -> int | None:
    """A statistics figure: a whole number >= 0, or ``None`` when absent or malformed (a
    malformed one is appended to ``bad``, when given, and the event goes on without it)."""
    value = h.get(name)
    if value is None or value == "":
        return None
    try:
        n = int(value if type(value) is str else value[0])
    except ValueError:
        problem = "not a whole number"
    else:
        if n >= 0:
            return n
        problem = "negative"
    if bad is not None:
        bad.append(BadEvent(event, name, problem))
    return None


def _opt(h: dict, name: str) -> str:
    value = h.get(name, "")
    return value if isinstance(value, str) else value[0]


def _member(h: dict, ev: str, at: float) -> MemberStatus:
    # QueueMember (a QueueStatus list item) names the interface "Location" and the name "Name".
    interface = h.get("Interface") or h.get("Location")
    if interface is None:
        raise BadEvent(ev, "Interface")
    return MemberStatus(
        at=at,
        queue=_req(h, ev, "Queue"),
        interface=interface,
        member_name=h.get("MemberName") or h.get("Name") or interface,
        status=_int(h, ev, "Status", default=0),
        paused=_opt(h, "Paused") == "1",
        paused_reason=_opt(h, "PausedReason"),
        in_call=_opt(h, "InCall") == "1",
        state_interface=_opt(h, "StateInterface"),
    )


def _caller_join(h: dict, at: float, bad: list[BadEvent] | None) -> CallerJoined:
    ev = "QueueCallerJoin"
    return CallerJoined(
        at=at,
        queue=_req(h, ev, "Queue"),
        uniqueid=_req(h, ev, "Uniqueid"),
        linkedid=_opt(h, "Linkedid") or _req(h, ev, "Uniqueid"),
        channel=_opt(h, "Channel"),
        caller_num=_opt(h, "CallerIDNum"),
        caller_name=_opt(h, "CallerIDName"),
        position=_figure(h, ev, "Position", bad),
        count=_figure(h, ev, "Count", bad),
    )


def _caller_leave(h: dict, at: float, bad: list[BadEvent] | None) -> CallerLeft:
    ev = "QueueCallerLeave"
    return CallerLeft(
        at=at,
        queue=_req(h, ev, "Queue"),
        uniqueid=_req(h, ev, "Uniqueid"),
        position=_figure(h, ev, "Position", bad),
        count=_figure(h, ev, "Count", bad),
    )


def _caller_abandon(h: dict, at: float, bad: list[BadEvent] | None) -> CallerAbandoned:
    ev = "QueueCallerAbandon"
    return CallerAbandoned(
        at=at,
        queue=_req(h, ev, "Queue"),
        uniqueid=_req(h, ev, "Uniqueid"),
        position=_figure(h, ev, "Position", bad),
        original_position=_figure(h, ev, "OriginalPosition", bad),
        hold_time=_figure(h, ev, "HoldTime", bad),
    )


def _agent_called(h: dict, at: float, bad: list[BadEvent] | None) -> AgentCalled:
    ev = "AgentCalled"
    interface = _req(h, ev, "Interface")
    return AgentCalled(
        at=at,
        queue=_req(h, ev, "Queue"),
        uniqueid=_req(h, ev, "Uniqueid"),
        interface=interface,
        member_name=_opt(h, "MemberName") or interface,
    )


def _agent_ring_no_answer(h: dict, at: float, bad: list[BadEvent] | None) -> AgentRingNoAnswer:
    ev = "AgentRingNoAnswer"
    interface = _req(h, ev, "Interface")
    return AgentRingNoAnswer(
        at=at,
        queue=_req(h, ev, "Queue"),
        uniqueid=_req(h, ev, "Uniqueid"),
        interface=interface,
        member_name=_opt(h, "MemberName") or interface,
        ring_time_ms=_figure(h, ev, "RingTime", bad),
    )


def _agent_connect(h: dict, at: float, bad: list[BadEvent] | None) -> AgentConnected:
    ev = "AgentConnect"
    interface = _req(h, ev, "Interface")
    uniqueid = _req(h, ev, "Uniqueid")
    return AgentConnected(
        at=at,
        queue=_req(h, ev, "Queue"),
        uniqueid=uniqueid,
        linkedid=_opt(h, "Linkedid") or uniqueid,
        interface=interface,
        member_name=_opt(h, "MemberName") or interface,
        hold_time=_figure(h, ev, "HoldTime", bad),
        ring_time=_figure(h, ev, "RingTime", bad),
    )


def _agent_complete(h: dict, at: float, bad: list[BadEvent] | None) -> AgentCompleted:
    ev = "AgentComplete"
    interface = _req(h, ev, "Interface")
    return AgentCompleted(
        at=at,
        queue=_req(h, ev, "Queue"),
        uniqueid=_opt(h, "Uniqueid"),
        interface=interface,
        member_name=_opt(h, "MemberName") or interface,
        hold_time=_figure(h, ev, "HoldTime", bad),
        talk_time=_figure(h, ev, "TalkTime", bad),
        reason=_opt(h, "Reason"),
        linkedid=_opt(h, "Linkedid"),
        caller_num=_opt(h, "CallerIDNum"),
        caller_name=_opt(h, "CallerIDName"),
    )


def _member_removed(h: dict, at: float, bad: list[BadEvent] | None) -> MemberRemoved:
    ev = "QueueMemberRemoved"
    interface = _req(h, ev, "Interface")
    return MemberRemoved(
        at=at,
        queue=_req(h, ev, "Queue"),
        interface=interface,
        member_name=_opt(h, "MemberName") or interface,
    )


def _hangup(h: dict, at: float, bad: list[BadEvent] | None) -> ChannelHungUp:
    ev = "Hangup"
    uniqueid = _req(h, ev, "Uniqueid")
    return ChannelHungUp(
        at=at,
        channel=_opt(h, "Channel"),
        uniqueid=uniqueid,
        linkedid=_opt(h, "Linkedid") or uniqueid,
        cause=_figure(h, ev, "Cause", bad),
        cause_txt=_opt(h, "Cause-txt"),
    )


def _uptime(h: dict) -> int | None:
    value = _opt(h, "Uptime")
    try:
        n = int(value)
    except ValueError:
        return None
    return n if n >= 0 else None


_Translator = Callable[[dict, float, list[BadEvent] | None], DomainEvent]

_TRANSLATORS: dict[str, _Translator] = {
    "QueueCallerJoin": _caller_join,
    "QueueCallerLeave": _caller_leave,
    "QueueCallerAbandon": _caller_abandon,
    "AgentCalled": _agent_called,
    "AgentRingNoAnswer": _agent_ring_no_answer,
    "AgentConnect": _agent_connect,
    "AgentComplete": _agent_complete,
    "QueueMemberStatus": lambda h, at, bad: _member(h, "QueueMemberStatus", at),
    "QueueMember": lambda h, at, bad: _member(h, "QueueMember", at),
    "QueueMemberAdded": lambda h, at, bad: MemberAdded(at, _member(h, "QueueMemberAdded", at)),
    "QueueMemberPause": lambda h, at, bad: MemberPaused(at, _member(h, "QueueMemberPause", at)),
    "QueueMemberRemoved": _member_removed,
    "Hangup": _hangup,
    "HangupRequest": lambda h, at, bad: HangupRequested(at, _req(h, "HangupRequest", "Uniqueid")),
    "SoftHangupRequest": lambda h, at, bad: HangupRequested(
        at, _req(h, "SoftHangupRequest", "Uniqueid")
    ),
    "FullyBooted": lambda h, at, bad: FullyBooted(at, _uptime(h)),
    "Shutdown": lambda h, at, bad: PbxShutdown(at, _opt(h, "Restart").lower() == "true"),
}

#: The AMI event names :func:`translate` understands.
KNOWN_EVENTS = frozenset(_TRANSLATORS)

_INF = float("inf")


def translate(
    frame: Frame, received_at: float, bad: list[BadEvent] | None = None
) -> DomainEvent | None:
    """The domain event for one AMI event frame, or ``None`` if the domains do not use it.

    Raises :class:`BadEvent` when a used event lacks a field it cannot happen without. A
    malformed figure is left out (``None``) and a malformed ``Timestamp`` replaced by
    ``received_at``: the event is returned, and each is appended to ``bad`` when given.

    >>> bad = []
    >>> e = translate(Frame({"Event": "AgentConnect", "Queue": "q", "Uniqueid": "1.2",
    ...                      "Interface": "PJSIP/8001", "HoldTime": "-5"}), 9.0, bad)
    >>> (e.uniqueid, e.hold_time, [b.reason for b in bad], str(bad[0]))
    ('1.2', None, ['bad_value'], 'AgentConnect: field HoldTime negative')
    """
    h = frame.headers
    name = h.get("Event")
    if not isinstance(name, str):
        return None
    fn = _TRANSLATORS.get(name)
    if fn is None:
        return None
    ts = h.get("Timestamp")
    at = received_at
    if type(ts) is str and ts:
        try:
            at = float(ts)
        except ValueError:
            at = -1.0
        if not 0.0 <= at < _INF:  # not a number, negative, NaN or infinite
            at = received_at
            if bad is not None:
                bad.append(BadEvent(name, "Timestamp", "not a time"))
    return fn(h, at, bad)


# -- the state Asterisk reports on request (QueueStatus, CoreShowChannels) -------------------


@dataclass(frozen=True, slots=True)
class QueueParams:
    """``QueueParams`` (a ``QueueStatus`` item): Asterisk's own counters of one queue since it
    started. ``completed`` counts answered calls that ended, ``abandoned`` callers who left
    unanswered (timeouts included)."""

    queue: str
    calls: int
    completed: int
    abandoned: int


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """``QueueEntry`` (a ``QueueStatus`` item): one caller waiting now."""

    queue: str
    uniqueid: str
    channel: str
    caller_num: str
    caller_name: str
    wait: int | None
    position: int | None
    #: Its queue priority (``Priority``; 0, Queue()'s default, when absent or unreadable).
    priority: int = 0


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """``CoreShowChannel`` (a ``CoreShowChannels`` item): one live channel."""

    channel: str
    uniqueid: str
    linkedid: str
    caller_num: str
    caller_name: str
    application: str
    application_data: str
    bridge_id: str
    duration_s: int


@dataclass(slots=True)
class Snapshot:
    """What Asterisk said at one resync: queues, members, waiting callers and (when asked)
    live channels. ``channels`` is ``None`` when ``CoreShowChannels`` was not available."""

    at: float
    params: dict[str, QueueParams]
    members: list[MemberStatus]
    entries: list[QueueEntry]
    channels: list[ChannelInfo] | None
    #: Asterisk's ``Uptime`` at the login this snapshot follows, if it said.
    uptime: int | None = None
    #: The link saw a ``Shutdown`` event (or the uptime went backwards) since the last sync.
    restart_hint: bool = False


def _priority(value: str) -> int:
    """A queue priority: a whole number, negative allowed (0 when unreadable)."""
    try:
        return int(value)
    except ValueError:
        return 0


def _duration(value: str) -> int:
    """``HH:MM:SS`` (CoreShowChannel ``Duration``) to seconds; 0 if unreadable."""
    try:
        parts = [int(p) for p in value.split(":")]
    except ValueError:
        return 0
    total = 0
    for p in parts:
        total = total * 60 + p
    return max(0, total)


def snapshot_item(
    frame: Frame, at: float, bad: list[BadEvent] | None = None
) -> QueueParams | QueueEntry | ChannelInfo | MemberStatus:
    """Translate one list item of ``QueueStatus``/``CoreShowChannels``.

    Raises :class:`BadEvent` for a missing field or an absurd value of a field the item cannot
    be used without, or ``KeyError`` for an item of another kind. A malformed figure (a
    ``QueueEntry``'s ``Wait`` or ``Position``) is left out and appended to ``bad``, as in
    :func:`translate`.
    """
    h = frame.headers
    name = h.get("Event")
    if name == "QueueParams":
        return QueueParams(
            queue=_req(h, name, "Queue"),
            calls=_int(h, name, "Calls", default=0),
            completed=_int(h, name, "Completed", default=0),
            abandoned=_int(h, name, "Abandoned", default=0),
        )
    if name == "QueueEntry":
        return QueueEntry(
            queue=_req(h, name, "Queue"),
            uniqueid=_req(h, name, "Uniqueid"),
            channel=_opt(h, "Channel"),
            caller_num=_opt(h, "CallerIDNum"),
            caller_name=_opt(h, "CallerIDName"),
            wait=_figure(h, name, "Wait", bad),
            position=_figure(h, name, "Position", bad),
            priority=_priority(_opt(h, "Priority")),
        )
    if name == "CoreShowChannel":
        uid = _req(h, name, "Uniqueid")
        return ChannelInfo(
            channel=_opt(h, "Channel"),
            uniqueid=uid,
            linkedid=_opt(h, "Linkedid") or uid,
            caller_num=_opt(h, "CallerIDNum"),
            caller_name=_opt(h, "CallerIDName"),
            application=_opt(h, "Application"),
            application_data=_opt(h, "ApplicationData"),
            bridge_id=_opt(h, "BridgeId"),
            duration_s=_duration(_opt(h, "Duration")),
        )
    if name == "QueueMember":
        return _member(h, name, at)
    raise KeyError(name)
