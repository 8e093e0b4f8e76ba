"""A ticket's life as a table: which step may follow which, who may take it, and the trail
entry each step leaves. Pure: no database, no clock of its own, no I/O; the store applies
what :func:`step` returns and appends its :class:`TrailEntry`, never updating one.

The cycle is the plan's (../shared/DOMAIN.md, "The life of a call"): the centre receives and
registers; what the operator answered on the call is resolved on the spot, the rest waits for
dispatch; a dispatcher sends it to the responsible department (a lead department and
assisting ones); the lead department accepts it or returns it with a reason (back to
dispatch), may ask for an extension (the centre grants or refuses it), and replies; the centre
calls the citizen back: satisfied and basically satisfied close it, dissatisfied reopens it
under supervision (and it is dispatched again); a duplicate of one incident is merged into
another ticket. Handling and supervising are separated: a department never closes a ticket.

Why hand-written: the libraries that run state machines (transitions, python-statemachine)
hold the state in a live object and call back into it; a ticket's state lives in a row, the
rules need the actor's department and the step's data, and what we want back is a value (the
new state and the trail entry) to write in the same transaction. The whole table is
:data:`TABLE`, small enough to read in one screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

__all__ = [
    "TABLE",
    "Actor",
    "IllegalTransition",
    "Party",
    "Rating",
    "State",
    "Step",
    "StepRefused",
    "TicketFacts",
    "TrailEntry",
    "allowed_steps",
    "step",
]


class State(StrEnum):
    REGISTERED = "registered"
    #: Answered completely on the call (即时答复).
    RESOLVED = "resolved"
    #: Waiting for a dispatcher to send it to the responsible department (按责转办).
    AWAITING_ROUTING = "awaiting_routing"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    EXTENSION_ASKED = "extension_asked"
    REPLIED = "replied"
    #: Called back, the citizen satisfied or basically satisfied: the centre may close it.
    CALLED_BACK = "called_back"
    #: Called back dissatisfied (or reopened by supervision): to be dispatched again.
    REOPENED = "reopened"
    CLOSED = "closed"
    #: A duplicate of one incident, merged into another ticket (``merged_into``).
    MERGED = "merged"


class Party(StrEnum):
    """Who takes a step (the API maps signed-in roles to these)."""

    OPERATOR = "operator"
    DISPATCHER = "dispatcher"
    DEPARTMENT = "department"
    SUPERVISOR = "supervisor"
    #: The service itself: the survey's answer to a callback, the supervision job.
    SYSTEM = "system"


class Rating(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


class Step(StrEnum):
    RESOLVE_ON_CALL = "resolve_on_call"
    ROUTE = "route"
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    RETURN = "return"
    ASK_EXTENSION = "ask_extension"
    GRANT_EXTENSION = "grant_extension"
    REFUSE_EXTENSION = "refuse_extension"
    REPLY = "reply"
    CALL_BACK = "call_back"
    REOPEN = "reopen"
    CLOSE = "close"
    MERGE = "merge"


S, P = State, Party
_OPEN = frozenset(State) - {S.CLOSED, S.MERGED}
_CENTRE = frozenset({P.OPERATOR, P.DISPATCHER, P.SUPERVISOR})


@dataclass(frozen=True, slots=True)
class _Rule:
    sources: frozenset[State]
    target: State | None  # None: decided by the step's data (a callback's rating)
    parties: frozenset[Party]


def _rule(sources: set[State] | frozenset[State], target: State | None, *by: Party) -> _Rule:
    return _Rule(frozenset(sources), target, frozenset(by))


#: Every step: the states it may leave, the state it reaches, who may take it.
TABLE: dict[Step, _Rule] = {
    Step.RESOLVE_ON_CALL: _rule({S.REGISTERED}, S.RESOLVED, P.OPERATOR),
    Step.ROUTE: _rule({S.REGISTERED}, S.AWAITING_ROUTING, P.OPERATOR, P.SYSTEM),
    Step.DISPATCH: _rule({S.AWAITING_ROUTING, S.REOPENED}, S.DISPATCHED, P.DISPATCHER),
    Step.ACCEPT: _rule({S.DISPATCHED}, S.ACCEPTED, P.DEPARTMENT),
    Step.RETURN: _rule({S.DISPATCHED, S.ACCEPTED}, S.AWAITING_ROUTING, P.DEPARTMENT),
    Step.ASK_EXTENSION: _rule({S.ACCEPTED}, S.EXTENSION_ASKED, P.DEPARTMENT),
    Step.GRANT_EXTENSION: _rule({S.EXTENSION_ASKED}, S.ACCEPTED, P.DISPATCHER, P.SUPERVISOR),
    Step.REFUSE_EXTENSION: _rule({S.EXTENSION_ASKED}, S.ACCEPTED, P.DISPATCHER, P.SUPERVISOR),
    Step.REPLY: _rule({S.ACCEPTED, S.EXTENSION_ASKED}, S.REPLIED, P.DEPARTMENT),
    Step.CALL_BACK: _rule({S.REPLIED, S.RESOLVED}, None, P.OPERATOR, P.SYSTEM),
    Step.REOPEN: _rule({S.CALLED_BACK, S.REPLIED, S.CLOSED}, S.REOPENED, P.SUPERVISOR),
    Step.CLOSE: _rule({S.CALLED_BACK, S.RESOLVED}, S.CLOSED, *_CENTRE),
    Step.MERGE: _rule(_OPEN - {S.REGISTERED}, S.MERGED, P.OPERATOR, P.DISPATCHER),
}


@dataclass(frozen=True, slots=True)
class Actor:
    username: str
    party: Party
    #: The department a department user belongs to (its code); None for the centre.
    department: str | None = None


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What the rules read of a ticket (the store's row holds more)."""

    id: int
    state: State
    lead_department: str | None = None
    assisting: tuple[str, ...] = ()
    rating: Rating | None = None
    merged_into: int | None = None
    #: Working days granted beyond the matter's limit, summed over granted extensions.
    extension_days: int = 0
    #: The days asked for by the extension request waiting for an answer.
    extension_asked_days: int | None = None


@dataclass(frozen=True, slots=True)
class TrailEntry:
    """One line of the ticket's audit trail: appended, never updated."""

    ticket_id: int
    at: datetime
    actor: str
    party: Party
    step: Step
    from_state: State
    to_state: State
    note: str = ""
    data: dict[str, object] = field(default_factory=dict)


class IllegalTransition(ValueError):
    """The step cannot leave the ticket's state; the message names both, and what may."""

    def __init__(self, step: Step, state: State) -> None:
        self.step, self.state = step, state
        may = ", ".join(allowed_steps(state)) or "nothing (it is final)"
        super().__init__(f"cannot {step.value} a ticket that is {state.value}; allowed: {may}")


class StepRefused(ValueError):
    """The step is legal from this state but not for this actor (``field`` None), or a
    field of its data is missing or wrong (``field`` names it); the message says which."""

    def __init__(self, step: Step, why: str, field: str | None = None) -> None:
        self.step, self.field = step, field
        super().__init__(f"{step.value}: {why}")


def allowed_steps(state: State) -> list[str]:
    """The steps that may leave ``state``, in the table's order."""
    return [s.value for s, rule in TABLE.items() if state in rule.sources]


def step(
    ticket: TicketFacts,
    what: Step,
    actor: Actor,
    at: datetime,
    *,
    note: str = "",
    department: str | None = None,
    assisting: tuple[str, ...] = (),
    rating: Rating | None = None,
    days: int | None = None,
    into: int | None = None,
) -> tuple[TicketFacts, TrailEntry]:
    """Take ``what`` on ``ticket``: the ticket's new facts and the trail entry to append.

    Raises :class:`IllegalTransition` (the step cannot leave this state) or
    :class:`StepRefused` (not this actor, or a field missing or wrong: the message names it).
    """
    rule = TABLE[what]
    if ticket.state not in rule.sources:
        raise IllegalTransition(what, ticket.state)
    if actor.party not in rule.parties:
        parties = ", ".join(sorted(p.value for p in rule.parties))
        raise StepRefused(what, f"taken by {parties}, not by a {actor.party.value}")
    after, data = _apply(ticket, what, actor, note, department, assisting, rating, days, into)
    target = rule.target if rule.target is not None else after.state
    after = replace(after, state=target)
    entry = TrailEntry(
        ticket_id=ticket.id,
        at=at,
        actor=actor.username,
        party=actor.party,
        step=what,
        from_state=ticket.state,
        to_state=target,
        note=note,
        data=data,
    )
    return after, entry


def _need(what: Step, value: str, name: str) -> str:
    if not value.strip():
        raise StepRefused(what, f"{name}: required", name.split()[0])
    return value.strip()


def _apply(
    t: TicketFacts,
    what: Step,
    actor: Actor,
    note: str,
    department: str | None,
    assisting: tuple[str, ...],
    rating: Rating | None,
    days: int | None,
    into: int | None,
) -> tuple[TicketFacts, dict[str, object]]:
    """The step's own rules and data; the state is set by :func:`step`."""
    if what in (Step.ACCEPT, Step.RETURN, Step.ASK_EXTENSION, Step.REPLY):
        if actor.department is None or actor.department != t.lead_department:
            raise StepRefused(
                what,
                f"only the lead department ({t.lead_department}) may; "
                f"{actor.username} is of {actor.department or 'no department'}",
            )
    if what is Step.DISPATCH:
        lead = _need(what, department or "", "department")
        helpers = tuple(dict.fromkeys(d.strip() for d in assisting if d.strip()))
        if lead in helpers:
            raise StepRefused(
                what, f"assisting: {lead} is already the lead department", "assisting"
            )
        return replace(t, lead_department=lead, assisting=helpers), {
            "department": lead,
            "assisting": list(helpers),
        }
    if what is Step.RETURN:
        _need(what, note, "note (the reason)")
        return replace(t, lead_department=None, assisting=()), {"department": t.lead_department}
    if what is Step.ASK_EXTENSION:
        _need(what, note, "note (the reason)")
        if days is None or days < 1:
            raise StepRefused(
                what, f"days: a whole number of working days >= 1, not {days}", "days"
            )
        return replace(t, extension_asked_days=days), {"days": days}
    if what is Step.GRANT_EXTENSION:
        granted = t.extension_asked_days if days is None else days
        if granted is None or granted < 1:
            raise StepRefused(
                what, f"days: a whole number of working days >= 1, not {days}", "days"
            )
        return replace(t, extension_days=t.extension_days + granted, extension_asked_days=None), {
            "days": granted
        }
    if what is Step.REFUSE_EXTENSION:
        _need(what, note, "note (the reason)")
        return replace(t, extension_asked_days=None), {}
    if what is Step.REPLY:
        _need(what, note, "note (the reply)")
        return replace(t, extension_asked_days=None), {}
    if what is Step.CALL_BACK:
        if rating is None:
            raise StepRefused(
                what, "rating: required (satisfied, basically_satisfied, dissatisfied)", "rating"
            )
        reached = S.REOPENED if rating is Rating.DISSATISFIED else S.CALLED_BACK
        return replace(t, rating=rating, state=reached), {"rating": rating.value}
    if what is Step.REOPEN:
        _need(what, note, "note (the reason)")
        return t, {}
    if what is Step.MERGE:
        if into is None or into < 1:
            raise StepRefused(what, "into: the number of the ticket to merge into", "into")
        if into == t.id:
            raise StepRefused(what, "into: a ticket cannot be merged into itself", "into")
        return replace(t, merged_into=into), {"into": into}
    return t, {}
