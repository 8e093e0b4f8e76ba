"""Ticket steps in the store: the lifecycle's rules (:mod:`tickets.lifecycle`) applied to a
ticket's row, with its trail entry, in one transaction; the dispatchers' queue; the
departments' work queues; and each ticket's deadline, computed when asked
(:mod:`tickets.deadlines`).

**Nothing taken twice.** A step writes the row only if the state is still the one the rules
were checked against (``UPDATE ... WHERE status = <read>``; 0 rows: :class:`Changed`, the
caller reloads), so two people acting at once on one ticket cannot both win, on either
database. A department's work queue is taken from with PostgreSQL's ``FOR UPDATE SKIP
LOCKED`` (several users of one department taking at the same moment each get a different
ticket, without waiting on each other) and the claim is written only where ``claimed_by`` is
still empty, which is what keeps SQLite (one writer at a time, no ``SKIP LOCKED``) right too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.centre import session_centre
from tickets import lifecycle as lc
from tickets.deadlines import Deadline, Limit, Stop, Unit, deadline
from tickets.intake import find_repeat
from tickets.models import Ticket, TicketStep
from tickets.numbers import is_valid

__all__ = [
    "DEFAULT_LIMIT",
    "BadNumber",
    "Changed",
    "TicketNotFound",
    "deadline_of",
    "department_tickets",
    "dispatch_queue",
    "find",
    "steps_of",
    "take_next",
    "take_step",
]

#: The handling limit of a ticket dispatched without a matter that names one.
DEFAULT_LIMIT = Limit(5, Unit.WORKING_DAYS)
#: Tickets taken from a work queue in one try before giving up on a race (SQLite).
_TAKE_TRIES = 5


class TicketNotFound(LookupError):
    """No ticket of that number (or not one this department may see)."""


class BadNumber(ValueError):
    """Not a ticket number: its check digit is wrong (a digit misheard or mistyped)."""


class Changed(RuntimeError):
    """Someone else changed the ticket between reading and writing it: reload and retry."""


@dataclass(frozen=True, slots=True)
class StepData:
    """What a step carries beyond who and when (see :func:`tickets.lifecycle.step`)."""

    note: str = ""
    department: str | None = None
    assisting: tuple[str, ...] = ()
    rating: lc.Rating | None = None
    days: int | None = None
    #: The number of the ticket to merge into.
    into: str | None = None
    #: At dispatch: the catalogue's matter and its limit.
    matter: str | None = None
    limit: Limit | None = None


def facts_of(t: Ticket) -> lc.TicketFacts:
    return lc.TicketFacts(
        id=t.id,
        state=lc.State(t.status),
        lead_department=t.lead_department,
        assisting=tuple(t.assisting or ()),
        rating=lc.Rating(t.rating) if t.rating else None,
        merged_into=t.merged_into,
        extension_days=t.extension_days or 0,
        extension_asked_days=t.extension_asked_days,
    )


async def find(
    session: AsyncSession, number: str, *, department: str | None = None, lock: bool = False
) -> Ticket:
    """The ticket of ``number`` (of ``department`` only, when given: a department never
    learns that another's ticket exists); ``lock``: its row locked till the transaction ends
    (PostgreSQL)."""
    if not is_valid(number):
        raise BadNumber(f"number: {number!r} is not a ticket number (its check digit is wrong)")
    stmt = select(Ticket).where(Ticket.number == number)
    if department is not None:
        stmt = stmt.where(Ticket.lead_department == department)
    if lock:
        stmt = stmt.with_for_update()
    found = await session.scalar(stmt)
    if found is None:
        raise TicketNotFound(f"number: no ticket {number}")
    return found


async def take_step(
    session: AsyncSession,
    number: str,
    what: lc.Step,
    actor: lc.Actor,
    at: datetime,
    data: StepData | None = None,
    *,
    repeat_days: float = 30.0,
) -> Ticket:
    """Take ``what`` on the ticket ``number`` and append its trail entry; commits. A
    dispatch that names the matter links the ticket to the caller's earlier ticket of the same
    matter within ``repeat_days`` (a repeat).

    Raises :class:`TicketNotFound`, :class:`BadNumber`,
    :class:`tickets.lifecycle.IllegalTransition`, :class:`tickets.lifecycle.StepRefused` (a
    field named, or not this actor), or :class:`Changed`.
    """
    data = data or StepData()
    department = actor.department if actor.party is lc.Party.DEPARTMENT else None
    async with session.begin():
        ticket = await find(session, number, department=department, lock=True)
        into_id: int | None = None
        if what is lc.Step.MERGE:
            into_id = await _merge_target(session, what, data.into)
        before = facts_of(ticket)
        after, entry = lc.step(
            before,
            what,
            actor,
            at,
            note=data.note,
            department=data.department,
            assisting=data.assisting,
            rating=data.rating,
            days=data.days,
            into=into_id,
        )
        values = _row_values(ticket, after, what, at, data, actor)
        if what is lc.Step.DISPATCH and ticket.repeat_of is None and values["matter"]:
            values["repeat_of"] = await find_repeat(
                session,
                caller_num=ticket.caller_num,
                matter=values["matter"],
                since=at - timedelta(days=repeat_days),
                before_id=ticket.id,
            )
        done = await session.execute(
            update(Ticket)
            .where(Ticket.id == ticket.id, Ticket.status == before.state.value)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise Changed(f"ticket {number} changed meanwhile; reload it")
        session.add(TicketStep.of(entry, session_centre(session)))
    await session.refresh(ticket)
    return ticket


async def _merge_target(session: AsyncSession, what: lc.Step, into: str | None) -> int:
    if not into or not is_valid(into):
        raise lc.StepRefused(what, f"into: {into!r} is not a ticket number", "into")
    target = await session.scalar(select(Ticket).where(Ticket.number == into))
    if target is None:
        raise lc.StepRefused(what, f"into: no ticket {into}", "into")
    if target.status == lc.State.MERGED.value:
        raise lc.StepRefused(what, f"into: {into} is itself merged; merge into its target", "into")
    return target.id


def _row_values(
    ticket: Ticket,
    after: lc.TicketFacts,
    what: lc.Step,
    at: datetime,
    data: StepData,
    actor: lc.Actor,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "status": after.state.value,
        "lead_department": after.lead_department,
        "assisting": list(after.assisting) or None,
        "extension_days": after.extension_days,
        "extension_asked_days": after.extension_asked_days,
        "rating": after.rating.value if after.rating else None,
        "merged_into": after.merged_into,
        "state_changed_at": at,
    }
    if what is lc.Step.DISPATCH:
        limit = data.limit or DEFAULT_LIMIT
        values |= {
            "dispatched_at": at,
            "matter": data.matter or ticket.matter,
            "limit_amount": limit.amount,
            "limit_unit": limit.unit.value,
            "extension_days": 0,
            "escalated": 0,
            "claimed_by": None,
            "claimed_at": None,
        }
    elif what is lc.Step.RETURN:
        values |= {"claimed_by": None, "claimed_at": None}
    elif what is lc.Step.ACCEPT and ticket.claimed_by is None:
        values |= {"claimed_by": actor.username, "claimed_at": at}
    return values


async def take_next(
    session: AsyncSession, department: str, username: str, at: datetime
) -> Ticket | None:
    """Claim the next dispatched ticket of ``department``'s work queue for ``username``
    (leader-instructed first, then the oldest dispatch); ``None`` when the queue is empty.
    Commits. Several users taking at once never get the same ticket."""
    for _ in range(_TAKE_TRIES):
        async with session.begin():
            ticket = await session.scalar(
                select(Ticket)
                .where(
                    Ticket.lead_department == department,
                    Ticket.status == lc.State.DISPATCHED.value,
                    Ticket.claimed_by.is_(None),
                )
                .order_by(Ticket.leader_instructed.desc(), Ticket.dispatched_at, Ticket.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if ticket is None:
                return None
            done = await session.execute(
                update(Ticket)
                .where(Ticket.id == ticket.id, Ticket.claimed_by.is_(None))
                .values(claimed_by=username, claimed_at=at)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount == 1:  # type: ignore[attr-defined]
                claimed = ticket.id
                break
    else:
        return None
    return await session.get(Ticket, claimed, populate_existing=True)


_DISPATCH_STATES = (lc.State.AWAITING_ROUTING.value, lc.State.REOPENED.value)


async def dispatch_queue(session: AsyncSession, limit: int = 50) -> list[Ticket]:
    """Tickets waiting for a dispatcher: leader-instructed first, reopened ones next (under
    supervision), then the oldest."""
    stmt = (
        select(Ticket)
        .where(Ticket.status.in_(_DISPATCH_STATES))
        .order_by(
            Ticket.leader_instructed.desc(),
            (Ticket.status == lc.State.REOPENED.value).desc(),
            Ticket.id,
        )
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def department_tickets(
    session: AsyncSession,
    department: str,
    states: Sequence[lc.State] = (
        lc.State.DISPATCHED,
        lc.State.ACCEPTED,
        lc.State.EXTENSION_ASKED,
    ),
    limit: int = 100,
) -> list[Ticket]:
    """The department's tickets in ``states`` (by default: the open ones), oldest first."""
    stmt = (
        select(Ticket)
        .where(
            Ticket.lead_department == department,
            Ticket.status.in_([s.value for s in states]),
        )
        .order_by(Ticket.leader_instructed.desc(), Ticket.dispatched_at, Ticket.id)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def steps_of(session: AsyncSession, ticket_id: int) -> list[TicketStep]:
    """The ticket's trail, oldest first."""
    stmt = select(TicketStep).where(TicketStep.ticket_id == ticket_id).order_by(TicketStep.id)
    return list((await session.scalars(stmt)).all())


def stops_of(steps: Sequence[TicketStep]) -> list[Stop]:
    """When the clock stood still: from each extension request to its answer (granted,
    refused, or the reply that made it moot), counted since the last dispatch."""
    stops: list[Stop] = []
    asked: datetime | None = None
    for s in steps:
        if s.step == lc.Step.DISPATCH.value:
            stops, asked = [], None
        elif s.step == lc.Step.ASK_EXTENSION.value:
            asked = s.at
        elif asked is not None and s.from_state == lc.State.EXTENSION_ASKED.value:
            stops.append(Stop(asked, s.at))
            asked = None
    if asked is not None:
        stops.append(Stop(asked))
    return stops


def deadline_of(ticket: Ticket, steps: Sequence[TicketStep], now: datetime) -> Deadline | None:
    """The ticket's deadline at ``now``; ``None`` when it has none running (not dispatched,
    or handled: replied, called back, closed, merged)."""
    running = {
        lc.State.DISPATCHED.value,
        lc.State.ACCEPTED.value,
        lc.State.EXTENSION_ASKED.value,
    }
    if ticket.status not in running or ticket.dispatched_at is None or not ticket.limit_amount:
        return None
    limit = Limit(ticket.limit_amount, Unit(ticket.limit_unit or Unit.WORKING_DAYS.value))
    return deadline(
        ticket.dispatched_at,
        limit,
        now,
        extension=ticket.extension_days or 0,
        stops=stops_of(steps),
    )


#: The survey's keys (1, 2, 3) as a callback's rating.
RATING_OF_SCORE = {
    1: lc.Rating.SATISFIED,
    2: lc.Rating.BASICALLY_SATISFIED,
    3: lc.Rating.DISSATISFIED,
}
#: Who takes a callback answered in the IVR.
IVR_CALLBACK = lc.Actor("ivr-callback", lc.Party.SYSTEM)


async def record_callback(session: AsyncSession, number: str, score: int, at: datetime) -> str:
    """The citizen's rating keyed in at a callback: the ticket's ``call_back`` step (a
    dissatisfied one reopens it). ``applied``, or why not (the ticket moved on, or is
    unknown): the IVR thanks the citizen either way."""
    try:
        await take_step(
            session,
            number,
            lc.Step.CALL_BACK,
            IVR_CALLBACK,
            at,
            StepData(rating=RATING_OF_SCORE[score], note="rated in the callback call"),
        )
    except (TicketNotFound, BadNumber, lc.IllegalTransition, Changed) as e:
        return f"refused: {e}"
    return "applied"


async def dispatch_choices(session: AsyncSession, limit: int) -> list[tuple[str, str]]:
    """The dispatchers' choices, newest first: (description, matter) of each ticket dispatched
    with a matter (what the routing help learns from)."""
    dispatched = select(TicketStep.ticket_id).where(TicketStep.step == lc.Step.DISPATCH.value)
    stmt = (
        select(Ticket.description, Ticket.matter)
        .where(
            Ticket.id.in_(dispatched),
            Ticket.matter.is_not(None),
            Ticket.description.is_not(None),
        )
        .order_by(Ticket.id.desc())
        .limit(limit)
    )
    return [(d, m) for d, m in (await session.execute(stmt)).all() if d and m]
