"""Matching the answers of AMI actions to the actions, with no I/O: the errors an action ends
in, and :class:`ActionTracker`, a pure object that takes every frame the link reads and says
whether it answered a pending action (by ``ActionID``, however many events interleave), is a
stray answer (late after a timeout), or is an event for the event path. An event that carries
a pending action's ``ActionID`` (``OriginateResponse``) still reaches the event path.

:mod:`pbx.ami` (the link) drives it; the tests drive it alone (``tests/pbx/test_ami_tracker.py``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from pbx.codec import Frame

__all__ = [
    "CONSUMED",
    "EVENT",
    "STRAY",
    "ActionResult",
    "ActionTracker",
    "AmiActionError",
    "AmiAuthError",
    "AmiError",
    "AmiNotConnected",
    "AmiTimeout",
    "Pending",
]


class AmiError(Exception):
    """Base of every error an AMI action can end in."""


class AmiNotConnected(AmiError):
    def __init__(self, action: str, why: str = "AMI link is down") -> None:
        super().__init__(f"{why}: {action} not sent" if why else action)
        self.action = action


class AmiTimeout(AmiError):
    def __init__(self, action: str, timeout: float) -> None:
        super().__init__(f"AMI action {action} got no answer within {timeout:g} s")
        self.action = action


class AmiActionError(AmiError):
    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"Asterisk refused {action}: {message}")
        self.action = action
        self.message = message


class AmiAuthError(AmiError):
    def __init__(self, username: str, message: str) -> None:
        super().__init__(f"AMI login as {username!r} refused: {message}")


#: What :meth:`ActionTracker.feed` says about a frame.
EVENT = 0  # an event for the event path (it may also have completed an action)
CONSUMED = 1  # a response or list item of a pending action
STRAY = 2  # a response no pending action waits for (late after a timeout, or unknown)


@dataclass(slots=True, eq=False)
class Pending:
    """One action waiting for its answer. ``kind``: ``single`` (one response), ``list`` (a
    response, list events, then ``...Complete``) or ``originate`` (a response, then the
    ``OriginateResponse`` event)."""

    action_id: str
    name: str
    kind: str
    frames: list[Frame] = field(default_factory=list)
    responded: bool = False
    done: bool = False
    #: Called with this pending when its response arrives (before its list items).
    on_response: Callable[[Pending], None] | None = None

    @property
    def error(self) -> str | None:
        """Asterisk's ``Message`` when the response was not a success, else ``None``."""
        if not self.frames:
            return None
        first = self.frames[0]
        if first.response in ("Success", "Follows", "Goodbye"):
            return None
        return first.get("Message", first.response or "no response")


class ActionTracker:
    """Matches responses and list events to pending actions by ``ActionID``. Pure: no I/O, no
    futures; tested on its own (``tests/pbx/test_ami_tracker.py``).

    >>> t = ActionTracker("x")
    >>> p = t.add(t.next_id(), "Ping")
    >>> t.feed(Frame({"Event": "Newexten", "Uniqueid": "1.1"}))
    (0, None)
    >>> status, done = t.feed(Frame({"Response": "Success", "ActionID": p.action_id}))
    >>> status == CONSUMED and done is p and p.done
    True
    """

    __slots__ = ("_expired", "_expired_order", "_pending", "_prefix", "_seq")

    def __init__(self, prefix: str = "hl") -> None:
        self._prefix = prefix
        self._seq = 0
        self._pending: dict[str, Pending] = {}
        self._expired: set[str] = set()
        self._expired_order: deque[str] = deque()

    def __len__(self) -> int:
        return len(self._pending)

    def next_id(self) -> str:
        self._seq += 1
        return f"{self._prefix}-{self._seq}"

    def add(self, action_id: str, name: str, kind: str = "single") -> Pending:
        if kind not in ("single", "list", "originate"):
            raise ValueError(f"kind must be single, list or originate, not {kind!r}")
        if action_id in self._pending:
            raise ValueError(f"ActionID {action_id!r} is already pending")
        p = self._pending[action_id] = Pending(action_id, name, kind)
        return p

    def discard(self, action_id: str) -> None:
        """Forget an action (its timeout ran out); a late answer will count as stray."""
        if self._pending.pop(action_id, None) is not None:
            self._expired.add(action_id)
            self._expired_order.append(action_id)
            if len(self._expired_order) > 1024:
                self._expired.discard(self._expired_order.popleft())

    def was_expired(self, action_id: str | None) -> bool:
        return action_id is not None and action_id in self._expired

    def fail_all(self) -> list[Pending]:
        """The link went down: every pending action is over (the caller fails them)."""
        out = list(self._pending.values())
        self._pending.clear()
        return out

    def _finish(self, p: Pending) -> Pending:
        p.done = True
        self._pending.pop(p.action_id, None)
        return p

    def feed(self, frame: Frame) -> tuple[int, Pending | None]:
        """Classify one frame; returns ``(EVENT|CONSUMED|STRAY, the action it completed)``."""
        h = frame.headers
        aid = h.get("ActionID")
        p = self._pending.get(aid) if isinstance(aid, str) else None
        # OriginateResponse is an event with a "Response" header.
        is_response = "Response" in h and "Event" not in h
        if p is None:
            if is_response:
                return STRAY, None
            return EVENT, None
        if is_response:
            if p.responded:  # a second response for one ActionID: Asterisk never does that
                return STRAY, None
            p.responded = True
            p.frames.append(frame)
            if p.on_response is not None:
                p.on_response(p)
            if p.error is not None or p.kind == "single":
                return CONSUMED, self._finish(p)
            if p.kind == "list":
                starts = h.get("EventList") == "start" or "will follow" in frame.get("Message")
                return CONSUMED, (None if starts else self._finish(p))
            return CONSUMED, None  # originate: wait for OriginateResponse
        # An event carrying this ActionID.
        if p.kind == "list" and p.responded:
            p.frames.append(frame)
            name = frame.event or ""
            if h.get("EventList") == "Complete" or name.endswith("Complete"):
                return CONSUMED, self._finish(p)
            return CONSUMED, None
        if p.kind == "originate" and frame.event == "OriginateResponse":
            p.frames.append(frame)
            return EVENT, self._finish(p)
        return EVENT, None


@dataclass(frozen=True, slots=True)
class ActionResult:
    """A successful action's answer: the response and, for list actions, the list items (the
    closing ``...Complete`` event excluded), or for an ``Originate`` that waited, its
    ``OriginateResponse``."""

    response: Frame
    items: tuple[Frame, ...] = ()

    def get(self, name: str, default: str = "") -> str:
        return self.response.get(name, default)
