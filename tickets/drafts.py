"""The ticket an operator writes during the call: stored at connect, filled, submitted once,
or marked incomplete past the wrap-up limit (issue 11, item 4). Rules only; no HTTP.

* **Stored at connect** (:func:`open_drafts`, through the batching :class:`DraftWriter` of the
  composition root): one row per call, so what the operator typed and saved survives a crash.
* **Filled** (:func:`fill`): kind, matter, district, address, description, answer; only an
  open (or incomplete) draft, only by the operator it belongs to.
* **Submitted** (:func:`submit`): kind and description are needed; an ``answer`` means it was
  resolved on the spot (即时答复), none means it will be routed. Idempotent by its
  ``Idempotency-Key``: the same key and the same body give the same result again; the same
  key with another body, or another key once submitted, is a :class:`Conflict`. The call's
  ticket takes the kind and the outcome here if it is already stored, else when it is
  (``tickets.service._apply_submitted_drafts``), both under one per-Linkedid lock.
* **Incomplete** (:func:`sweep_incomplete`): open drafts of calls that ended more than the
  wrap-up limit ago; supervisors list them (:func:`list_by_status`). A late submit still
  counts.

The screen pop's history of a caller (:func:`caller_history`) lives here too: it reads the
same store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from config.centres import DEFAULT_CENTRE
from tickets.db import dialect_insert
from tickets.models import DraftStatus, Kind, OperatorDraft, Ticket
from tickets.service import _caller_began, _lock_calls, outcome_values

__all__ = [
    "FILLABLE",
    "CallHistory",
    "Conflict",
    "DraftOpened",
    "caller_history",
    "fill",
    "get_draft",
    "list_by_status",
    "mark_ended",
    "open_drafts",
    "submit",
    "sweep_incomplete",
    "ticket_numbers",
]

#: What an operator fills, with the longest text each keeps (None: unlimited text).
FILLABLE: dict[str, int | None] = {
    "kind": 32,
    "matter": 80,
    "district": 40,
    "address": 200,
    "description": 4000,
    "answer": 4000,
}
#: Kinds an operator may give (not ``unclassified``: that is for nobody's classification).
OPERATOR_KINDS = tuple(k.value for k in Kind if k is not Kind.UNCLASSIFIED)


class Conflict(Exception):
    """The request contradicts what is stored (an idempotency key reused with another body,
    a draft already submitted under another key)."""


@dataclass(frozen=True, slots=True)
class DraftOpened:
    """A call connected at a seat where an operator is signed in: its draft to store."""

    call_uniqueid: str
    linkedid: str
    operator_id: int
    seat: str
    queue: str
    answered_at: datetime
    created_at: datetime
    #: The centre whose Asterisk took the call: the draft is its (centre, call_uniqueid).
    centre: str = DEFAULT_CENTRE


def _insert(session: AsyncSession) -> Any:
    return dialect_insert(session.get_bind().dialect.name)


async def open_drafts(session: AsyncSession, opened: Sequence[DraftOpened]) -> None:
    """Store these drafts (a call already stored is skipped: a resend after a crash is
    harmless). In the caller's transaction."""
    if not opened:
        return
    rows = [
        {
            "centre": o.centre,
            "call_uniqueid": o.call_uniqueid,
            "linkedid": o.linkedid,
            "operator_id": o.operator_id,
            "seat": o.seat,
            "queue": o.queue,
            "answered_at": o.answered_at,
            "created_at": o.created_at,
            "status": DraftStatus.OPEN.value,
        }
        for o in opened
    ]
    stmt = _insert(session)(OperatorDraft.__table__).values(rows)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["centre", "call_uniqueid"]))


async def mark_ended(
    session: AsyncSession, ended: Sequence[tuple[str, datetime]], centre: str = DEFAULT_CENTRE
) -> None:
    """The calls ``(uniqueid, ended_at)`` of ``centre`` ended: their drafts' wrap-up limit
    starts."""
    for uid, at in ended:
        await session.execute(
            update(OperatorDraft)
            .where(
                OperatorDraft.centre == centre,
                OperatorDraft.call_uniqueid == uid,
                OperatorDraft.ended_at.is_(None),
            )
            .values(ended_at=at)
        )


async def get_draft(
    session: AsyncSession, call_uniqueid: str, operator_id: int | None = None
) -> OperatorDraft | None:
    """The draft of this call; with ``operator_id``, only if it is that operator's."""
    stmt = select(OperatorDraft).where(OperatorDraft.call_uniqueid == call_uniqueid)
    if operator_id is not None:
        stmt = stmt.where(OperatorDraft.operator_id == operator_id)
    return await session.scalar(stmt)


async def ticket_numbers(session: AsyncSession, found: Sequence[OperatorDraft]) -> dict[str, str]:
    """The numbers of the drafts' calls' tickets, by call (a ticket is written when its call
    ends: a draft of a call still on the line has none yet)."""
    if not found:
        return {}
    calls = {(d.centre, d.call_uniqueid) for d in found}
    stmt = select(Ticket.centre, Ticket.call_uniqueid, Ticket.number).where(
        Ticket.linkedid.in_({d.linkedid for d in found}),
        Ticket.call_uniqueid.in_({uid for _, uid in calls}),
    )
    return {
        str(call): number
        for centre, call, number in (await session.execute(stmt)).all()
        if (centre, call) in calls
    }


def check_fields(values: dict[str, Any]) -> dict[str, str | None]:
    """The fillable fields of ``values`` checked; raises ``ValueError`` naming the field."""
    out: dict[str, str | None] = {}
    for name, value in values.items():
        if name not in FILLABLE:
            raise ValueError(f"{name}: not a field of a draft ({', '.join(FILLABLE)})")
        if value is None:
            out[name] = None
            continue
        if not isinstance(value, str):
            raise ValueError(f"{name}: expected text, got {type(value).__name__}")
        value = value.strip()
        limit = FILLABLE[name]
        if limit is not None and len(value) > limit:
            raise ValueError(f"{name}: {len(value)} characters, at most {limit}")
        if name == "kind" and value and value not in OPERATOR_KINDS:
            raise ValueError(f"kind: {value!r} is not one of {', '.join(OPERATOR_KINDS)}")
        out[name] = value or None
    return out


async def fill(
    session: AsyncSession, draft: OperatorDraft, values: dict[str, Any], at: datetime
) -> OperatorDraft:
    """Set the given fields (checked first: a bad one stores nothing) and commit."""
    if draft.status == DraftStatus.SUBMITTED:
        raise Conflict(f"the draft of call {draft.call_uniqueid} is submitted: it is a ticket now")
    checked = check_fields(values)
    for name, value in checked.items():
        setattr(draft, name, value)
    draft.updated_at = at
    await session.commit()
    return draft


def request_hash(values: dict[str, Any]) -> str:
    """What makes two submissions "the same body": the SHA-256 of the checked fields."""
    canonical = json.dumps(check_fields(values), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


async def submit(
    session: AsyncSession,
    draft: OperatorDraft,
    values: dict[str, Any],
    *,
    key: str,
    at: datetime,
) -> tuple[OperatorDraft, bool]:
    """Hand the draft in under the idempotency ``key``; ``(draft, repeated)``, ``repeated``
    when this key and body were submitted before (nothing changes). Raises ``ValueError``
    naming a missing or bad field, :class:`Conflict` as the module says. Commits."""
    if not key or len(key) > 100:
        raise ValueError("Idempotency-Key: 1 to 100 characters")
    digest = request_hash(values)
    if draft.status == DraftStatus.SUBMITTED:
        if draft.idempotency_key != key:
            raise Conflict(
                f"the draft of call {draft.call_uniqueid} was already submitted under another "
                "Idempotency-Key"
            )
        if draft.request_hash != digest:
            raise Conflict("this Idempotency-Key was used with another body")
        return draft, True
    checked = check_fields(values)
    merged = {name: getattr(draft, name) for name in FILLABLE} | checked
    for needed in ("kind", "description"):
        if not merged.get(needed):
            raise ValueError(f"{needed}: needed to submit")
    resolved = bool(merged.get("answer"))
    own = not _caller_began(session)
    try:
        await _lock_calls(session, [draft.linkedid])
        for name, value in merged.items():
            setattr(draft, name, value)
        draft.resolved_on_call = resolved
        draft.status = DraftStatus.SUBMITTED.value
        draft.submitted_at = draft.updated_at = at
        draft.idempotency_key = key
        draft.request_hash = digest
        await session.execute(
            update(Ticket)
            .where(Ticket.centre == draft.centre, Ticket.call_uniqueid == draft.call_uniqueid)
            .values(outcome_values(str(merged["kind"]), resolved, merged))
        )
        if own:
            await session.commit()
    except Exception:
        if own:
            await session.rollback()
        raise
    return draft, False


#: A draft whose call's end was never recorded (the process stopped during the call, or the
#: call ended while the AMI link was down) counts as ended this long after the answer.
UNSEEN_END_S = 4 * 3600.0


async def sweep_incomplete(
    session: AsyncSession, now: datetime, limit_s: float, centre: str = DEFAULT_CENTRE
) -> list[tuple[str, str]]:
    """Mark incomplete every open draft of ``centre`` whose call ended more than ``limit_s``
    before ``now`` (or, its end never recorded, was answered more than :data:`UNSEEN_END_S` +
    ``limit_s`` before); returns their ``(seat, call uniqueid)``. Commits."""
    cutoff = now - timedelta(seconds=limit_s)
    stmt = select(OperatorDraft.id, OperatorDraft.seat, OperatorDraft.call_uniqueid).where(
        OperatorDraft.centre == centre,
        OperatorDraft.status == DraftStatus.OPEN.value,
        or_(
            OperatorDraft.ended_at <= cutoff,
            and_(
                OperatorDraft.ended_at.is_(None),
                OperatorDraft.answered_at <= cutoff - timedelta(seconds=UNSEEN_END_S),
            ),
        ),
    )
    rows = (await session.execute(stmt)).all()
    if rows:
        await session.execute(
            update(OperatorDraft)
            .where(
                OperatorDraft.id.in_([r[0] for r in rows]),
                OperatorDraft.status == DraftStatus.OPEN.value,
            )
            .values(status=DraftStatus.INCOMPLETE.value, updated_at=now)
        )
    await session.commit()
    return [(seat, uid) for _, seat, uid in rows]


async def list_by_status(
    session: AsyncSession, status: str, limit: int = 100
) -> list[OperatorDraft]:
    """Drafts in ``status``, oldest call first."""
    stmt = (
        select(OperatorDraft)
        .where(OperatorDraft.status == DraftStatus(status).value)
        .order_by(OperatorDraft.answered_at, OperatorDraft.id)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


@dataclass(frozen=True, slots=True)
class CallHistory:
    """A caller's earlier tickets (newest first, at most the limit asked) and whether the
    newest is within the repeat window."""

    tickets: tuple[dict[str, Any], ...]
    repeat_caller: bool


async def caller_history(
    session: AsyncSession, caller_num: str, *, now: datetime, limit: int, repeat_days: float
) -> CallHistory:
    """The tickets of ``caller_num`` (newest first), for the screen pop. A withheld number
    has none. Repeat caller: a ticket of the number made within ``repeat_days`` of ``now``."""
    if not caller_num or limit < 1:
        return CallHistory((), False)
    t = Ticket.__table__.c
    stmt = (
        select(t.number, t.kind, t.status, t.answered_at, t.created_at, t.resolved_on_call)
        .where(t.caller_num == caller_num)
        .order_by(t.id.desc())
        .limit(limit)
    )
    rows = (await session.execute(stmt)).all()
    tickets = tuple(
        {
            "number": number,
            "kind": kind,
            "status": status,
            "at": (answered or created).isoformat() if (answered or created) else None,
            "resolved_on_call": bool(resolved),
        }
        for number, kind, status, answered, created, resolved in rows
    )
    cutoff = now - timedelta(days=repeat_days)
    newest = rows[0][3] or rows[0][4] if rows else None
    return CallHistory(tickets, newest is not None and newest >= cutoff)
