"""Who may do what: the roles of the people who sign in, and the rules between them.

The centre's staff, lowest first:

* ``operator``: answers calls at one seat (``users.seat``, e.g. ``SIP/8001``); reads the live
  queues and seats, the tickets (caller numbers masked) and the announcements; acts only on
  their own seat and their own calls.
* ``dispatcher``: everything an operator may, plus routing tickets to the responsible
  department (confirming or correcting the suggestion), and answering extension requests.
* ``supervisor``: everything a dispatcher may, plus the floor: announcements, reports (the
  call history), and acting on any seat (pausing it, logging it out).
* ``admin``: everything a supervisor may, plus the accounts (adding and disabling users) and
  reading the audit log.

And, outside the centre:

* ``department``: a user of one city department (``users.department``): sees only that
  department's tickets, takes them from its work queue, accepts, returns, asks an extension,
  replies. Nothing of the centre's (no calls, no callers' numbers, no seats).

The rule (:func:`grants`): the centre's roles are ordered ``operator < dispatcher <
supervisor < admin`` and a role grants whatever a lower one may; ``department`` grants and is
granted by nothing else (a department's work needs its department, which centre staff have
not; and a department user must not read the centre's). One exception is not a matter of rank
but of identity: acting *as an operator at a seat* (taking a call, pausing oneself) belongs to
the person at that seat (:func:`may_act_on_seat`). A supervisor or an admin may act *on* any
seat, which is supervision; no one acts on another operator's seat as that operator.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Role", "grants", "may_act_on_seat"]


class Role(StrEnum):
    """A signed-in person's role: the centre's lowest first, then ``department``."""

    OPERATOR = "operator"
    DISPATCHER = "dispatcher"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    DEPARTMENT = "department"

    @property
    def rank(self) -> int:
        """The place on the centre's ladder; ``department`` is off it (-1)."""
        return _RANK[self]

    @property
    def lowest(self) -> bool:
        """Whether every centre role grants it (so only a department user is refused)."""
        return self is Role.OPERATOR


_RANK = {
    Role.OPERATOR: 0,
    Role.DISPATCHER: 1,
    Role.SUPERVISOR: 2,
    Role.ADMIN: 3,
    Role.DEPARTMENT: -1,
}


def grants(held: Role, needed: Role) -> bool:
    """Whether a person holding ``held`` may use what ``needed`` is required for.

    >>> grants(Role.ADMIN, Role.SUPERVISOR), grants(Role.OPERATOR, Role.SUPERVISOR)
    (True, False)
    >>> grants(Role.DEPARTMENT, Role.OPERATOR), grants(Role.ADMIN, Role.DEPARTMENT)
    (False, False)
    """
    if Role.DEPARTMENT in (held, needed):
        return held is needed
    return held.rank >= needed.rank


def may_act_on_seat(role: Role, own_seat: str | None, seat: str) -> bool:
    """Whether a person (``role``, at ``own_seat``) may act on ``seat``: an operator on their
    own seat only (none when they have no seat); a supervisor or an admin on any seat.

    >>> may_act_on_seat(Role.OPERATOR, "SIP/8001", "SIP/8001")
    True
    >>> may_act_on_seat(Role.OPERATOR, "SIP/8001", "SIP/8002")
    False
    >>> may_act_on_seat(Role.SUPERVISOR, None, "SIP/8002")
    True
    """
    if grants(role, Role.SUPERVISOR):
        return True
    return own_seat is not None and own_seat == seat
