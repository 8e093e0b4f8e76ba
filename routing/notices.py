"""What the controller learned about a call, as it publishes it (DESIGN, principle 8).

Frozen, plain values (no reference to the live :class:`routing.calls.Call`, which changes on):
a subscriber may keep one. Each is published once, when the controller's books change, and only
for calls the controller holds. ``at`` is Asterisk's event time (or the resync's). They carry a
caller's number for the desktops that need it: never log a notice's values.

The seats' notice is :class:`agents.seats.SeatChanged`; a ticket draft is published as
:class:`tickets.service.TicketDraft` itself.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CallAbandoned", "CallAnswered", "CallEnded", "CallJoined", "CallRung"]


@dataclass(frozen=True, slots=True)
class CallJoined:
    """A caller is offered in a queue (it joined, or a resync found it there)."""

    at: float
    queue: str
    uniqueid: str
    linkedid: str
    caller_num: str
    caller_name: str


@dataclass(frozen=True, slots=True)
class CallRung:
    """A seat rings for a waiting caller (``AgentCalled``)."""

    at: float
    queue: str
    uniqueid: str
    interface: str
    member_name: str


@dataclass(frozen=True, slots=True)
class CallAnswered:
    """A caller is connected to a seat; ``interface`` is ``""`` when a resync could not tell
    which seat. ``wait_s``: seconds from joining to the answer."""

    at: float
    queue: str
    uniqueid: str
    linkedid: str
    interface: str
    member_name: str
    wait_s: float


@dataclass(frozen=True, slots=True)
class CallAbandoned:
    """A caller left the queue unanswered (hung up, timed out, or cut off by a restart)."""

    at: float
    queue: str
    uniqueid: str
    linkedid: str
    wait_s: float


@dataclass(frozen=True, slots=True)
class CallEnded:
    """An answered call is over (its ticket draft is published right after).

    ``reason``: Asterisk's (``agent``, ``caller``, ``transfer``), or ours: ``hangup`` (its
    closing event never came), ``gone`` (it ended while the link was down), ``restart``.
    """

    at: float
    queue: str
    uniqueid: str
    linkedid: str
    interface: str
    talk_s: float
    reason: str
