"""An operator's shift at a seat: what they asked for, what Asterisk confirmed, and the AMI
actions between the two. Pure: no I/O, the clock is an argument (DESIGN, principles 1 and 3).

The operator *wants* a state: signed in and ``ready``, ``paused`` for a coded reason, or
``signed_out``. Each request becomes gateway :data:`Action` s (``QueueAdd`` of each skill
queue with its penalty, ``QueuePause`` with the reason, ``QueueRemove``), but the state the
desktop *shows* is Asterisk's (:func:`shown`, from the seat board the AMI events keep:
principle 8): ``signing_in`` until the first ``QueueMemberAdded``, ``ready`` or ``paused``
(with Asterisk's reason) after, ``signing_out`` until the last ``QueueMemberRemoved``. What
is asked and not yet confirmed is ``pending``.

The wanted state is ours to keep, Asterisk's memory being shorter: after a restart it has
forgotten the dynamic members and their pause reasons. :meth:`ShiftBook.restore` says what to
send again after a resync. Two rules of the floor live here too: a pause past its code's
limit is *overdue* (:func:`overdue`), and a ready seat that lets ``N`` calls in a row ring
unanswered (``AgentRingNoAnswer``) is paused with the auto-pause code
(:meth:`ShiftBook.ring_unanswered`), so that callers stop waiting on an empty chair.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "PAUSED",
    "READY",
    "SIGNED_OUT",
    "SIGNING_IN",
    "SIGNING_OUT",
    "Action",
    "AddMember",
    "Confirmed",
    "PauseMember",
    "RemoveMember",
    "Shift",
    "ShiftBook",
    "ShiftRefused",
    "overdue",
    "shown",
]

SIGNED_OUT = "signed_out"
SIGNING_IN = "signing_in"
READY = "ready"
PAUSED = "paused"
SIGNING_OUT = "signing_out"


@dataclass(frozen=True, slots=True)
class AddMember:
    """``QueueAdd``."""

    queue: str
    interface: str
    member_name: str
    penalty: int
    paused: bool = False


@dataclass(frozen=True, slots=True)
class PauseMember:
    """``QueuePause`` in every queue of the member (``reason`` goes with a pause)."""

    interface: str
    paused: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RemoveMember:
    """``QueueRemove``."""

    queue: str
    interface: str


Action = AddMember | PauseMember | RemoveMember


@dataclass(frozen=True, slots=True)
class Confirmed:
    """What Asterisk last said of a seat (its members): the queues it is in, whether it is
    paused in all of them and why."""

    queues: frozenset[str] = frozenset()
    paused: bool = False
    reason: str = ""


NOWHERE = Confirmed()


class ShiftRefused(Exception):
    """A request the operator's current state does not allow (HTTP 409, this message)."""


@dataclass(slots=True)
class Shift:
    """One operator signed in to one seat (interface)."""

    username: str
    interface: str
    member_name: str
    #: The skill queues and the penalty in each (``config/skills.yaml``).
    queues: dict[str, int]
    signed_in_at: float
    #: ``ready``, ``paused`` or ``signed_out`` (asked, maybe not yet confirmed).
    wanted: str = READY
    #: The pause code wanted (with ``paused``).
    code: str = ""
    #: When ``wanted`` (or the code) last changed.
    since: float = 0.0
    #: Calls in a row that rang this seat unanswered since it was last ready or answered.
    unanswered: int = field(default=0)

    def __post_init__(self) -> None:
        if not self.since:
            self.since = self.signed_in_at


def shown(shift: Shift | None, seen: Confirmed) -> tuple[str, str]:
    """The state the desktop shows and the pause reason with it, from Asterisk's view only
    (``seen``); ``shift`` (what was asked) tells signing in from signing out."""
    if not seen.queues:
        if shift is None or shift.wanted == SIGNED_OUT:
            return SIGNED_OUT, ""
        return SIGNING_IN, ""
    if shift is not None and shift.wanted == SIGNED_OUT:
        return SIGNING_OUT, ""
    if seen.paused:
        return PAUSED, seen.reason
    return READY, ""


def pending(shift: Shift | None, seen: Confirmed) -> str | None:
    """What was asked and Asterisk has not confirmed yet (``ready``, ``paused``,
    ``signed_out``), or ``None``."""
    if shift is None:
        return None
    state, reason = shown(shift, seen)
    if shift.wanted == SIGNED_OUT:
        return None if state == SIGNED_OUT else SIGNED_OUT
    if state == SIGNING_IN or not set(shift.queues) <= seen.queues:
        return shift.wanted
    if shift.wanted == PAUSED and (state != PAUSED or reason != shift.code):
        return PAUSED
    if shift.wanted == READY and state != READY:
        return READY
    return None


def overdue(shift: Shift, limit_s: float, now: float) -> bool:
    """Whether the pause wanted has lasted longer than its code's limit."""
    return shift.wanted == PAUSED and now - shift.since > limit_s


class ShiftBook:
    """Every operator's shift, by user name and by seat; each request returns the actions
    to send (none when there is nothing to do) or raises :class:`ShiftRefused`."""

    __slots__ = ("by_interface", "by_user")

    def __init__(self) -> None:
        self.by_user: dict[str, Shift] = {}
        self.by_interface: dict[str, str] = {}

    def of_user(self, username: str) -> Shift | None:
        return self.by_user.get(username)

    def at_seat(self, interface: str) -> Shift | None:
        user = self.by_interface.get(interface)
        return self.by_user.get(user) if user is not None else None

    def put(self, shift: Shift) -> None:
        """Take a shift as it is (restored from the store)."""
        self.by_user[shift.username] = shift
        self.by_interface[shift.interface] = shift.username

    def drop(self, shift: Shift) -> None:
        if self.by_user.get(shift.username) is shift:
            del self.by_user[shift.username]
        if self.by_interface.get(shift.interface) == shift.username:
            del self.by_interface[shift.interface]

    def sign_in(
        self,
        username: str,
        interface: str,
        member_name: str,
        queues: Mapping[str, int],
        now: float,
        seen: Confirmed = NOWHERE,
    ) -> tuple[Shift, list[Action]]:
        """Sign ``username`` in at ``interface``: join each queue with its penalty (but those
        Asterisk lists the seat in already, ``seen``), ready."""
        if not queues:
            raise ShiftRefused(f"{username} has no skill queues (config/skills.yaml)")
        holder = self.by_interface.get(interface)
        if holder is not None and holder != username:
            raise ShiftRefused(f"seat {interface} is taken: {holder} is signed in there")
        current = self.by_user.get(username)
        if current is not None and current.wanted != SIGNED_OUT:
            if current.interface != interface:
                raise ShiftRefused(
                    f"you are signed in at {current.interface}; sign out there first"
                )
            return current, []  # signing in again: nothing to do
        shift = Shift(username, interface, member_name, dict(queues), signed_in_at=now)
        self.put(shift)
        actions: list[Action] = [
            AddMember(q, interface, member_name, p)
            for q, p in sorted(queues.items())
            if q not in seen.queues
        ]
        return shift, actions

    def _signed_in(self, username: str) -> Shift:
        shift = self.by_user.get(username)
        if shift is None or shift.wanted == SIGNED_OUT:
            raise ShiftRefused(f"{username} is not signed in to a seat: sign in first")
        return shift

    def ready(self, username: str, now: float) -> list[Action]:
        shift = self._signed_in(username)
        shift.unanswered = 0
        if shift.wanted == READY:
            return [PauseMember(shift.interface, False)]  # harmless, and clears a stray pause
        shift.wanted, shift.code, shift.since = READY, "", now
        return [PauseMember(shift.interface, False)]

    def pause(self, username: str, code: str, now: float) -> list[Action]:
        shift = self._signed_in(username)
        if shift.wanted != PAUSED or shift.code != code:
            shift.wanted, shift.code, shift.since = PAUSED, code, now
        shift.unanswered = 0
        return [PauseMember(shift.interface, True, code)]

    def sign_out(self, username: str, now: float, seen: Confirmed | None = None) -> list[Action]:
        """Leave the skill queues (those Asterisk lists the seat in, when ``seen`` is given:
        a queue it left already is no error)."""
        shift = self._signed_in(username)
        shift.wanted, shift.code, shift.since = SIGNED_OUT, "", now
        queues = set(shift.queues) if seen is None else set(shift.queues) & seen.queues
        return [RemoveMember(q, shift.interface) for q in sorted(queues)]

    def confirmed_out(self, shift: Shift, seen: Confirmed) -> bool:
        """Drop a shift signed out whose seat Asterisk no longer lists; whether it was."""
        if shift.wanted == SIGNED_OUT and not seen.queues:
            self.drop(shift)
            return True
        return False

    def restore(self, shift: Shift, seen: Confirmed) -> list[Action]:
        """After a resync: what to send so that Asterisk has the seat again as wanted. The
        queues it forgot are joined again (paused at once when the seat was), and a pause
        that lost its reason (or itself) is made again with the reason. A seat Asterisk
        paused on its own stays so (Asterisk is the truth); a sign-out is finished."""
        if shift.wanted == SIGNED_OUT:
            return [
                RemoveMember(q, shift.interface) for q in sorted(seen.queues & set(shift.queues))
            ]
        paused = shift.wanted == PAUSED
        actions: list[Action] = [
            AddMember(q, shift.interface, shift.member_name, p, paused=paused)
            for q, p in sorted(shift.queues.items())
            if q not in seen.queues
        ]
        if paused and (actions or not seen.paused or seen.reason != shift.code):
            actions.append(PauseMember(shift.interface, True, shift.code))
        return actions

    def expired(self, now: float, auto_ready_s: Mapping[str, float]) -> list[Shift]:
        """The shifts paused with an ``auto_ready`` code (code -> its limit) past its limit:
        each is to be made ready again (:meth:`ready`)."""
        return [
            shift
            for shift in self.by_user.values()
            if shift.wanted == PAUSED
            and shift.code in auto_ready_s
            and overdue(shift, auto_ready_s[shift.code], now)
        ]

    def ring_unanswered(
        self, interface: str, threshold: int, code: str, now: float
    ) -> list[Action]:
        """A call rang this seat and was not answered: the ``threshold``-th in a row pauses
        a ready seat with ``code`` (``threshold`` 0: never)."""
        shift = self.at_seat(interface)
        if shift is None or shift.wanted != READY:
            return []
        shift.unanswered += 1
        if threshold <= 0 or shift.unanswered < threshold:
            return []
        shift.unanswered = 0
        shift.wanted, shift.code, shift.since = PAUSED, code, now
        return [PauseMember(interface, True, code)]

    def answered(self, interface: str) -> None:
        """The seat took a call: the unanswered rings start again from zero."""
        shift = self.at_seat(interface)
        if shift is not None:
            shift.unanswered = 0
