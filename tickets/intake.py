"""Tickets from the other channels (web, letter, visit, the leaders' mailbox): registered
through the same store and lifecycle as calls, exactly once per ``Idempotency-Key``, and
linked as a repeat when the same caller brought the same matter within the repeat window.

A channel ticket is born ``registered`` and takes its first step at once, with its trail
entry: ``resolve_on_call`` when an answer was given on the spot (a visit answered at the
counter), else ``route`` (it waits for a dispatcher).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.centre import session_centre
from tickets import lifecycle as lc
from tickets.models import Channel, Kind, Ticket, TicketStep
from tickets.numbers import make_number

__all__ = ["Intake", "KeyReused", "find_repeat", "register"]

CHANNELS = tuple(c.value for c in Channel if c is not Channel.PHONE)
KINDS = tuple(k.value for k in Kind if k is not Kind.UNCLASSIFIED)


class KeyReused(ValueError):
    """The Idempotency-Key was used already with another request."""


@dataclass(frozen=True, slots=True)
class Intake:
    channel: str
    kind: str
    description: str
    caller_num: str | None = None
    caller_name: str | None = None
    district: str | None = None
    address: str | None = None
    matter: str | None = None
    #: Answered on the spot: the ticket is resolved.
    answer: str | None = None
    leader_instructed: bool = False

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"channel: {self.channel!r} is not one of {', '.join(CHANNELS)}")
        if self.kind not in KINDS:
            raise ValueError(f"kind: {self.kind!r} is not one of {', '.join(KINDS)}")
        if not self.description.strip():
            raise ValueError("description: must not be empty")
        if self.caller_num is not None and not any(c.isdigit() for c in self.caller_num):
            raise ValueError(f"caller_num: {self.caller_num!r} has no digit")

    def digest(self) -> str:
        return hashlib.sha256(
            json.dumps(asdict(self), sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()


async def find_repeat(
    session: AsyncSession,
    *,
    caller_num: str | None,
    matter: str | None,
    since: datetime,
    before_id: int | None = None,
) -> int | None:
    """The newest ticket of the same caller and matter made since ``since`` (and before
    ``before_id``), or None; a withheld number or an unknown matter has no repeats."""
    if not caller_num or not matter:
        return None
    stmt = select(Ticket.id).where(
        Ticket.caller_num == caller_num, Ticket.matter == matter, Ticket.created_at >= since
    )
    if before_id is not None:
        stmt = stmt.where(Ticket.id < before_id)
    return await session.scalar(stmt.order_by(Ticket.id.desc()).limit(1))


async def register(
    session: AsyncSession,
    intake: Intake,
    *,
    key: str,
    actor: lc.Actor,
    at: datetime,
    repeat_days: float,
) -> tuple[Ticket, bool]:
    """Store the ticket (commits) and its first step; ``(ticket, repeated)``: the same key
    and request again give the ticket stored the first time; the same key with another
    request is :class:`KeyReused`."""
    digest = intake.digest()
    async with session.begin():
        earlier = await session.scalar(select(Ticket).where(Ticket.intake_key == key))
        if earlier is not None:
            if earlier.intake_hash != digest:
                raise KeyReused(f"Idempotency-Key: {key!r} was used for another ticket")
            return earlier, True
        repeat = await find_repeat(
            session,
            caller_num=intake.caller_num,
            matter=intake.matter,
            since=at - timedelta(days=repeat_days),
        )
        fields = asdict(intake)
        ticket = Ticket(
            number=f"pending-{uuid.uuid4().hex}",
            status=lc.State.REGISTERED.value,
            resolved_on_call=bool(intake.answer),
            created_at=at,
            repeat_of=repeat,
            intake_key=key,
            intake_hash=digest,
            centre=session_centre(session),
            **fields,
        )
        session.add(ticket)
        await session.flush()
        first = lc.Step.RESOLVE_ON_CALL if intake.answer else lc.Step.ROUTE
        after, entry = lc.step(
            lc.TicketFacts(id=ticket.id, state=lc.State.REGISTERED),
            first,
            actor,
            at,
            note=f"channel {intake.channel}",
        )
        await session.execute(
            update(Ticket)
            .where(Ticket.id == ticket.id)
            .values(number=make_number(ticket.id), status=after.state.value, state_changed_at=at)
            .execution_options(synchronize_session=False)
        )
        step = replace(entry, data={"channel": intake.channel})
        session.add(TicketStep.of(step, session_centre(session)))
    await session.refresh(ticket)
    return ticket, False
