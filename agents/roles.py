"""Who may do what: the three roles of the people who sign in, and the one rule between them.

Department users come with the ticket pipeline; until then there are three roles:

* ``operator``: answers calls at one seat (``users.seat``, e.g. ``SIP/8001``); reads the live
  queues and seats, the tickets (caller numbers masked) and the announcements; acts only on
  their own seat and their own calls.
* ``supervisor``: everything an operator may read, plus the floor: announcements, reports
  (the call history), and acting on any seat (pausing it, logging it out).
* ``admin``: everything a supervisor may, plus the accounts (adding and disabling users) and
  reading the audit log.

The rule (:func:`grants`): the roles are ordered ``operator < supervisor < admin`` and a role
grants whatever a lower one may, with one exception, which is not a matter of rank but of
identity: acting *as an operator at a seat* (taking a call, pausing oneself) belongs to the
person at that seat (:func:`may_act_on_seat`). A supervisor or an admin may act *on* any
seat, which is supervision; no one acts on another operator's seat as that operator.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Role", "grants", "may_act_on_seat"]


class Role(StrEnum):
    """A signed-in person's role, lowest first."""

    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Role.OPERATOR: 0, Role.SUPERVISOR: 1, Role.ADMIN: 2}


def grants(held: Role, needed: Role) -> bool:
    """Whether a person holding ``held`` may use what ``needed`` is required for.

    >>> grants(Role.ADMIN, Role.SUPERVISOR), grants(Role.OPERATOR, Role.SUPERVISOR)
    (True, False)
    """
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
