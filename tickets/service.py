"""The ticket store's operations: every answered call becomes a ticket, exactly once.

All functions take an ``AsyncSession`` (see ``tickets.db.session_factory``) and never create
one. Only :func:`create_tickets` writes; unless the caller holds the transaction open
(``session.begin()``), it commits, so once it returns the tickets survive a crash (DESIGN,
principle 4).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, delete, func, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import SessionTransactionOrigin

from config.centres import CODE as CENTRE_CODE
from config.centres import DEFAULT_CENTRE
from tickets.db import dialect_insert
from tickets.models import (
    Channel,
    DraftStatus,
    Kind,
    OperatorDraft,
    PendingSatisfaction,
    Satisfaction,
    Status,
    Ticket,
)
from tickets.numbers import is_valid, make_number

KINDS: tuple[str, ...] = tuple(k.value for k in Kind)

_TEXT_FIELDS = ("caller_num", "caller_name", "queue", "seat", "linkedid", "call_uniqueid")
_TIME_FIELDS = ("joined_at", "answered_at", "ended_at")
_REQUIRED_TEXT = ("linkedid", "call_uniqueid")  # the thread to the call and the dedup key
_BATCH = 500  # rows per INSERT statement (keeps well under both drivers' parameter limits)


@dataclass(frozen=True)
class TicketDraft:
    """What the controller knows about one answered call when the operator closes it.

    Times are aware datetimes (any zone; stored in UTC). ``caller_num`` and ``caller_name``
    may be empty (withheld number, unknown caller). A bad value raises ``ValueError``
    naming the field, when the draft is made.
    """

    caller_num: str
    caller_name: str
    queue: str
    seat: str
    linkedid: str
    call_uniqueid: str
    joined_at: datetime
    answered_at: datetime
    ended_at: datetime
    kind: str
    resolved_on_call: bool
    #: The centre whose controller (and Asterisk) took the call (config/centres.yaml).
    centre: str = DEFAULT_CENTRE

    def __post_init__(self) -> None:
        _check(self)

    @property
    def key(self) -> tuple[str, str, datetime]:
        """What makes the call unique: ``(centre, call_uniqueid, answered_at)``; two centres'
        Asterisks may give their calls the same Uniqueid."""
        return (self.centre, self.call_uniqueid, self.answered_at)


def _check(d: TicketDraft) -> None:
    columns = Ticket.__table__.columns
    for name in _TEXT_FIELDS:
        value = getattr(d, name)
        if not isinstance(value, str):
            raise ValueError(f"{name}: expected a str, got {type(value).__name__}")
        limit = columns[name].type.length
        if limit is not None and len(value) > limit:
            raise ValueError(f"{name}: {len(value)} characters, at most {limit} are stored")
    for name in _REQUIRED_TEXT:
        if not getattr(d, name):
            raise ValueError(f"{name}: must not be empty")
    for name in _TIME_FIELDS:
        value = getattr(d, name)
        if not isinstance(value, datetime):
            raise ValueError(f"{name}: expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name}: naive datetime {value.isoformat()}; give a time zone")
    if not d.joined_at <= d.answered_at <= d.ended_at:
        raise ValueError(
            "answered_at: times must be in order joined_at <= answered_at <= ended_at, got "
            f"{d.joined_at.isoformat()}, {d.answered_at.isoformat()}, {d.ended_at.isoformat()}"
        )
    if not isinstance(d.centre, str) or not CENTRE_CODE.match(d.centre):
        raise ValueError(f"centre: {d.centre!r} is not a centre code (config/centres.yaml)")
    if d.kind not in KINDS:
        raise ValueError(f"kind: {d.kind!r} is not one of {', '.join(KINDS)}")
    if not isinstance(d.resolved_on_call, bool):
        got = type(d.resolved_on_call).__name__
        raise ValueError(f"resolved_on_call: expected a bool, got {got}")


def _row(d: TicketDraft) -> dict[str, Any]:
    row = {f.name: getattr(d, f.name) for f in fields(d)}
    row["kind"] = str(Kind(d.kind))
    row["channel"] = Channel.PHONE.value
    row["status"] = (Status.RESOLVED if d.resolved_on_call else Status.AWAITING_ROUTING).value
    # A unique placeholder until the id is known (never a valid number: it has letters).
    row["number"] = f"pending-{uuid.uuid4().hex}"
    return row


async def create_tickets(session: AsyncSession, drafts: Sequence[TicketDraft]) -> list[Ticket]:
    """Store one ticket per draft, in one transaction; return the new tickets (in id order).

    Exactly once: a draft whose call is already stored (same ``centre``, ``call_uniqueid``
    and ``answered_at``) is skipped, not duplicated and not an error, so a controller may
    resend a batch after a crash or a timeout. A call repeated inside ``drafts`` is stored
    once.

    How the number is assigned: the number is derived from the id, which the database gives
    only on insert. So each row is inserted with a unique placeholder (``pending-<uuid hex>``,
    which contains letters and so is never a valid number), with
    ``INSERT ... ON CONFLICT (centre, call_uniqueid, answered_at) DO NOTHING RETURNING``; the rows
    that came back are the new ones, and their numbers are set from their ids before the
    commit. Other transactions never see a placeholder (it is replaced before the commit),
    and no extra nullable column or sequence trick is needed on either database.

    Transactions: inside the caller's explicit ``async with session.begin():`` the tickets
    join that transaction and the caller's block commits (or rolls back) them together with
    whatever else it wrote. Otherwise (no transaction, or one merely auto-begun by earlier
    reads) this function commits before it returns, together with any pending change in
    ``session``, and rolls back on an error so that nothing is stored.

    :func:`store_tickets` does the same and returns only the new ids (the ticket writer).
    """
    ids = await store_tickets(session, drafts)
    # Loaded after store_tickets' commit (when it made one), so they are readable without lazy
    # loads; inside the caller's transaction they are read from it.
    return await _load(session, ids) if ids else []


async def store_tickets(session: AsyncSession, drafts: Sequence[TicketDraft]) -> list[int]:
    """:func:`create_tickets` (the same rules, the same transactions) returning only the ids
    of the new tickets, in order: no ORM object is built or loaded, which is what the ticket
    writer needs on the path of every answered call."""
    rows = _rows(drafts)
    if not rows:
        return []
    own_transaction = not _caller_began(session)
    try:
        ids = await _insert(session, rows)
        if own_transaction:
            await session.commit()
    except Exception:
        if own_transaction:
            await session.rollback()
        raise
    return ids


def _rows(drafts: Sequence[TicketDraft]) -> list[dict[str, Any]]:
    """The checked, de-duplicated rows of ``drafts`` (the first draft of a call wins)."""
    drafts = list(drafts)
    for d in drafts:
        if not isinstance(d, TicketDraft):
            raise TypeError(f"drafts must be TicketDraft, got {type(d).__name__}")
        _check(d)  # a frozen dataclass can still be forged with object.__setattr__
    unique: dict[tuple[str, str, datetime], TicketDraft] = {}
    for d in drafts:
        unique.setdefault(d.key, d)
    return [_row(d) for d in unique.values()]


_TICKETS = Ticket.__table__
_PENDING = PendingSatisfaction.__table__
#: Numbers (and a pending survey answer) of the rows just inserted: one statement, many rows.
_SET_NUMBER = (
    update(_TICKETS)
    .where(_TICKETS.c.id == bindparam("b_id"))
    .values(number=bindparam("b_number"), satisfaction=bindparam("b_score"))
)


async def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (skipping calls already stored), give each new ticket its number and a
    survey answer that came first (``pending_satisfaction``); return the new ids in order.
    Core statements on the tables: the rows are plain data, no ORM unit of work is needed."""
    insert = _dialect_insert(session)
    new: list[tuple[int, str | None, str, str]] = []
    for start in range(0, len(rows), _BATCH):
        stmt = (
            insert(_TICKETS)
            .values(rows[start : start + _BATCH])
            .on_conflict_do_nothing(index_elements=["centre", "call_uniqueid", "answered_at"])
            .returning(
                _TICKETS.c.id, _TICKETS.c.linkedid, _TICKETS.c.call_uniqueid, _TICKETS.c.centre
            )
        )
        new.extend((row[0], row[1], row[2], row[3]) for row in await session.execute(stmt))
    if not new:
        return []
    new.sort()
    scores = await _take_pending_satisfaction(
        session, {(centre, link) for _, link, _, centre in new if link}
    )
    # A new row's satisfaction is NULL: setting it to NULL again where no answer waits is
    # the same, and lets one executemany set numbers and answers together.
    await session.execute(
        _SET_NUMBER,
        [
            {"b_id": i, "b_number": make_number(i), "b_score": scores.get((centre, link or ""))}
            for i, link, _, centre in new
        ],
    )
    await _apply_submitted_drafts(session, {(centre, uid): i for i, _, uid, centre in new})
    return [i for i, _, _, _ in new]


_DRAFTS = OperatorDraft.__table__
#: An operator's submission onto the call's ticket: what was asked and answered, the kind,
#: resolved on the spot or not; the state only while the ticket has not moved on (a late
#: submission never pulls a dispatched ticket back).
_SUBMITTED_STATES = (Status.REGISTERED.value, Status.AWAITING_ROUTING.value, Status.RESOLVED.value)
_DETAILS = ("description", "district", "address", "answer", "matter")


def outcome_values(kind: str, resolved_on_call: bool, details: dict[str, Any]) -> dict[str, Any]:
    """The ticket columns an operator's submission sets (``details``: the draft's
    description, district, address, answer and matter)."""
    status = Status.RESOLVED if resolved_on_call else Status.AWAITING_ROUTING
    return {
        "kind": kind,
        "resolved_on_call": resolved_on_call,
        **{name: details.get(name) for name in _DETAILS},
        "status": case(
            (_TICKETS.c.status.in_(_SUBMITTED_STATES), literal(status.value)),
            else_=_TICKETS.c.status,
        ),
    }


async def _apply_submitted_drafts(
    session: AsyncSession, ids_by_call: dict[tuple[str, str], int]
) -> None:
    """New tickets whose operator already submitted the draft (during the call, or while
    the ticket waited in the writer's batch) take the submission's kind and outcome. Under
    the same per-Linkedid lock as the submission (:func:`_lock_calls`, taken by
    :func:`_take_pending_satisfaction`), so one of the two always sees the other."""
    calls = {uid for _, uid in ids_by_call if uid}
    if not calls:
        return
    d = _DRAFTS.c
    rows = (
        await session.execute(
            select(
                d.centre, d.call_uniqueid, d.kind, d.resolved_on_call, *(d[n] for n in _DETAILS)
            ).where(
                d.call_uniqueid.in_(calls),
                d.centre.in_({centre for centre, _ in ids_by_call}),
                d.status == DraftStatus.SUBMITTED.value,
            )
        )
    ).all()
    for centre, uid, kind, resolved, *details in rows:
        ticket_id = ids_by_call.get((centre, uid))
        if ticket_id is None:  # the same Uniqueid at another of the centres written
            continue
        await session.execute(
            update(_TICKETS)
            .where(_TICKETS.c.id == ticket_id)
            .values(outcome_values(kind, bool(resolved), dict(zip(_DETAILS, details, strict=True))))
        )


async def _load(session: AsyncSession, ids: list[int]) -> list[Ticket]:
    if not ids:
        return []
    stmt = select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id)
    return list((await session.scalars(stmt)).all())


def _caller_began(session: AsyncSession) -> bool:
    """True inside the caller's ``session.begin()`` (or a savepoint), not an auto-begun one."""
    sync = session.sync_session
    if sync.get_nested_transaction() is not None:
        return True
    root = sync.get_transaction()
    return root is not None and root.origin is not SessionTransactionOrigin.AUTOBEGIN


async def _lock_calls(session: AsyncSession, linkedids: Iterable[str]) -> None:
    """Serialise the survey answer and the ticket of the same call.

    On PostgreSQL (READ COMMITTED) a ticket being written and its survey answer being recorded
    in two transactions at once could each miss the other: the answer would stay pending for
    ever. Both take a transaction-scoped advisory lock per ``Linkedid`` (in sorted order, so two
    batches cannot deadlock) before they look for the other. SQLite serialises writers itself.
    """
    ids = sorted(set(linkedids))
    if not ids or session.get_bind().dialect.name != "postgresql":
        return
    await session.execute(
        text(
            "SELECT pg_advisory_xact_lock(hashtext(x)) "
            "FROM (SELECT x FROM unnest(CAST(:ids AS text[])) AS x ORDER BY x) AS s"
        ),
        {"ids": ids},
    )


def _dialect_insert(session: AsyncSession) -> Any:
    return dialect_insert(session.get_bind().dialect.name)


async def count_tickets(session: AsyncSession) -> int:
    """All tickets, of every channel and status."""
    return int(await session.scalar(select(func.count()).select_from(Ticket)) or 0)


async def count_resolved_on_call(session: AsyncSession) -> int:
    """Tickets resolved during the call (即时答复): the numerator of the instant-resolution
    rate, whose denominator is the calls answered."""
    stmt = select(func.count()).select_from(Ticket).where(Ticket.resolved_on_call.is_(True))
    return int(await session.scalar(stmt) or 0)


async def count_rated(session: AsyncSession) -> int:
    """Tickets with a survey answer (``satisfaction`` 1, 2 or 3)."""
    stmt = select(func.count()).select_from(Ticket).where(Ticket.satisfaction.is_not(None))
    return int(await session.scalar(stmt) or 0)


async def get_by_number(session: AsyncSession, number: str) -> Ticket | None:
    """The ticket with this number, or ``None``; an invalid number (a misheard digit) is
    ``None`` without asking the database."""
    if not is_valid(number):
        return None
    return await session.scalar(select(Ticket).where(Ticket.number == number))


async def list_recent(session: AsyncSession, limit: int = 50) -> list[Ticket]:
    """The newest tickets first (by id, which follows insertion), at most ``limit``."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit: expected a positive int, got {limit!r}")
    stmt = select(Ticket).order_by(Ticket.id.desc()).limit(limit)
    return list((await session.scalars(stmt)).all())


# -- self-service and the survey after the call (the IVR) ---------------------------------
#: Statuses of a ticket whose handling is over; any other status is "open".
CLOSED_STATUSES: frozenset[str] = frozenset(
    {Status.RESOLVED.value, Status.CALLED_BACK.value, Status.CLOSED.value, Status.MERGED.value}
)


async def find_open_ticket(session: AsyncSession, caller_num: str) -> Ticket | None:
    """The caller's newest ticket that is still open, or ``None`` (none, or no number)."""
    if not caller_num:
        return None
    stmt = (
        select(Ticket)
        .where(Ticket.caller_num == caller_num, Ticket.status.not_in(CLOSED_STATUSES))
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    return await session.scalar(stmt)


async def open_ticket_status(session: AsyncSession, caller_num: str) -> tuple[str, str] | None:
    """``(number, status)`` of :func:`find_open_ticket`'s ticket, without loading the whole
    row into an ORM object: what the IVR asks on every call."""
    if not caller_num:
        return None
    row = (await session.execute(_OPEN_TICKET, {"b_caller_num": caller_num})).first()
    return None if row is None else (row[0], row[1])


# The table's columns, not the mapped attributes: a Core statement skips the ORM's compile and
# result machinery; built once, with the caller's number bound.
_OPEN_TICKET = (
    select(_TICKETS.c.number, _TICKETS.c.status)
    .where(
        _TICKETS.c.caller_num == bindparam("b_caller_num"),
        _TICKETS.c.status.not_in(CLOSED_STATUSES),
    )
    .order_by(_TICKETS.c.id.desc())
    .limit(1)
)


async def get_for_caller(session: AsyncSession, number: str, caller_num: str) -> Ticket | None:
    """The ticket with this number if ``caller_num`` is the number it was made from; else
    ``None`` (the same answer for "no such ticket" and "not yours": a ticket number alone
    opens nothing)."""
    if not caller_num or not is_valid(number):
        return None
    t = await get_by_number(session, number)
    if t is None or t.caller_num != caller_num:
        return None
    return t


async def record_satisfaction(
    session: AsyncSession, linkedid: str, score: int, centre: str = DEFAULT_CENTRE
) -> str:
    """Attach the survey answer (1 satisfied, 2 basically satisfied, 3 dissatisfied) to the
    ticket(s) of the call ``linkedid`` taken at ``centre``; returns ``"applied"``, or
    ``"pending"`` when no such ticket is stored yet.

    Pending answers: the survey runs right after the operator hangs up, while the ticket may
    still be in the ticket writer's batch. The answer is then kept in the table
    ``pending_satisfaction`` (one row per centre and linkedid, a later answer replaces it), and
    :func:`create_tickets` applies it, and deletes it, in the transaction that stores the
    ticket. Both are in the database, so neither the answer nor the ticket is lost if the
    process stops in between. Commits like :func:`create_tickets`.
    """
    score = int(Satisfaction(score))
    if not linkedid:
        raise ValueError("linkedid: must not be empty")
    own_transaction = not _caller_began(session)
    values = {"b_linkedid": linkedid, "b_score": score, "b_centre": centre}
    try:
        await _lock_calls(session, [linkedid])
        result = await session.execute(_RATE, values)
        if result.rowcount:
            outcome = "applied"
        else:
            await session.execute(_pending_upsert(session.get_bind().dialect.name), values)
            outcome = "pending"
        if own_transaction:
            await session.commit()
    except Exception:
        if own_transaction:
            await session.rollback()
        raise
    return outcome


#: The survey answer onto the call's ticket(s); built once (bound values), as is the upsert of
#: an answer whose ticket is not stored yet (a later answer replaces it), per dialect.
_RATE = (
    update(_TICKETS)
    .where(
        _TICKETS.c.linkedid == bindparam("b_linkedid"),
        _TICKETS.c.centre == bindparam("b_centre"),
    )
    .values(satisfaction=bindparam("b_score"))
)
_PENDING_UPSERT: dict[str, Any] = {}


def _pending_upsert(dialect: str) -> Any:
    stmt = _PENDING_UPSERT.get(dialect)
    if stmt is None:
        stmt = dialect_insert(dialect)(_PENDING).values(
            centre=bindparam("b_centre"),
            linkedid=bindparam("b_linkedid"),
            score=bindparam("b_score"),
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["centre", "linkedid"], set_={"score": stmt.excluded.score}
        )
        _PENDING_UPSERT[dialect] = stmt
    return stmt


async def _take_pending_satisfaction(
    session: AsyncSession, calls: set[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The survey answers that came before the tickets of these calls, by (centre, linkedid);
    they are deleted from ``pending_satisfaction`` (in the caller's transaction, which stores
    them on the tickets)."""
    if not calls:
        return {}
    linkedids = {link for _, link in calls}
    await _lock_calls(session, linkedids)
    p = _PENDING.c
    rows = (
        await session.execute(
            select(p.centre, p.linkedid, p.score).where(
                p.linkedid.in_(linkedids), p.centre.in_({centre for centre, _ in calls})
            )
        )
    ).all()
    scores = {(c, link): score for c, link, score in rows if (c, link) in calls}
    for centre, link in scores:
        await session.execute(delete(_PENDING).where(p.centre == centre, p.linkedid == link))
    return scores
