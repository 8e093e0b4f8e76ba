"""Tables of the ticket store (SQLAlchemy 2, declarative with ``Mapped``).

Portable on SQLite and PostgreSQL. Every timestamp is stored in UTC and read back as an
*aware* UTC datetime on both databases (see :class:`tickets.db.UTCDateTime`). ``Base``, the
store's declarative base, lives in :mod:`tickets.db`, so other packages add their tables to
the one ``MetaData`` without importing the ticket tables.

The schema is owned by the Alembic migrations in ``tickets/migrations``; a test checks that
they produce exactly these tables (``alembic`` autogenerate finds no difference).
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from config.centres import DEFAULT_CENTRE
from tickets.db import Base, UTCDateTime
from tickets.lifecycle import State, TrailEntry

__all__ = [
    "Base",
    "Channel",
    "DraftStatus",
    "Kind",
    "OperatorDraft",
    "PendingSatisfaction",
    "Satisfaction",
    "Status",
    "Ticket",
    "TicketStep",
    "UTCDateTime",
]


class Kind(StrEnum):
    """What the citizen asked for (the IVR's and the operator's classification)."""

    CONSULTATION = "consultation"
    COMPLAINT = "complaint"
    REPORT = "report"
    HELP = "help"
    SUGGESTION = "suggestion"
    #: Nobody classified the call: its ticket was recovered from Asterisk's queue_log
    #: (answered and ended while the controller was away); someone must complete it.
    UNCLASSIFIED = "unclassified"


#: Where the ticket is in its life: the states of the lifecycle's table (tickets.lifecycle).
Status = State


class Channel(StrEnum):
    """How the matter reached the hotline: every channel becomes one ticket stream."""

    PHONE = "phone"
    WEB = "web"
    LETTER = "letter"
    VISIT = "visit"
    MAILBOX = "mailbox"


class Ticket(Base):
    """One ticket (工单). Every answered call becomes one, even when resolved on the spot.

    The call fields are nullable because tickets from other channels (web, letters) have no
    call; a phone ticket always has them (``tickets.service.TicketDraft`` requires them).
    ``(centre, call_uniqueid, answered_at)`` is unique: one answered call is one ticket, which
    makes writing it idempotent; the centre is part of it because each centre's Asterisk
    numbers its own channels (two restarted in the same second number them alike, unless
    their ``systemname`` differs). ``centre`` is the centre whose controller wrote the ticket
    (``config/centres.yaml``); rows from before centres existed are the default centre's.
    """

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("centre", "call_uniqueid", "answered_at"),
        # SQLite: AUTOINCREMENT, so an id (and with it a ticket number) is never reused.
        {"sqlite_autoincrement": True},
    )
    # Server defaults (created_at) come back with the INSERT: no lazy load under asyncio.
    __mapper_args__: ClassVar[dict[str, Any]] = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # Digits: the id padded to 7 and a Luhn check digit (tickets.numbers). While a row is
    # being inserted it briefly holds a unique placeholder (see tickets.service).
    number: Mapped[str] = mapped_column(String(40), unique=True)
    # Indexed: a centre's supervisors and reports select their centre's tickets.
    centre: Mapped[str] = mapped_column(
        String(16), server_default=DEFAULT_CENTRE, default=DEFAULT_CENTRE, index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    # Indexed: the operator sees a caller's earlier tickets (39% of petitions are repeats).
    caller_num: Mapped[str | None] = mapped_column(String(64), index=True)
    caller_name: Mapped[str | None] = mapped_column(String(100))
    queue: Mapped[str | None] = mapped_column(String(80))
    seat: Mapped[str | None] = mapped_column(String(80))
    # Asterisk's Linkedid: the thread from the call to the ticket, hand-off and callback.
    linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    call_uniqueid: Mapped[str | None] = mapped_column(String(64))
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), index=True)
    resolved_on_call: Mapped[bool]
    # Indexed: the early warning counts the tickets of windows of time (tickets/burst_counts).
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), server_default=func.now(), index=True
    )
    # The caller's answer to the survey after the call (Satisfaction), None until answered.
    satisfaction: Mapped[int | None] = mapped_column(SmallInteger)
    # -- what the citizen asked and was told (the operator's submission, or another channel)
    description: Mapped[str | None] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(200))
    #: The answer given on the call (resolved on the spot), else None.
    answer: Mapped[str | None] = mapped_column(Text)
    # -- routing to departments (tickets.lifecycle, tickets.workflow) ----------------------
    #: The catalogue's matter (code), set when dispatched (or by the operator).
    matter: Mapped[str | None] = mapped_column(String(64))
    #: The lead department (code) while dispatched to one; its work queue is by this.
    lead_department: Mapped[str | None] = mapped_column(String(64), index=True)
    assisting: Mapped[Any | None] = mapped_column(JSON)
    #: When it was (last) dispatched: the deadline's clock starts here.
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The handling limit taken from the matter at dispatch, in ``limit_unit``.
    limit_amount: Mapped[int | None] = mapped_column(SmallInteger)
    limit_unit: Mapped[str | None] = mapped_column(String(16))
    extension_days: Mapped[int] = mapped_column(SmallInteger, server_default="0", default=0)
    extension_asked_days: Mapped[int | None] = mapped_column(SmallInteger)
    #: A department user who took it from the work queue (and when); cleared on a return.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The citizen's rating at the callback (tickets.lifecycle.Rating).
    rating: Mapped[str | None] = mapped_column(String(24))
    merged_into: Mapped[int | None] = mapped_column(Integer)
    #: A leader's instruction (领导批示): supervised first.
    leader_instructed: Mapped[bool] = mapped_column(Boolean, server_default=false())
    state_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The supervision level escalated for this dispatch: 0 none, 1 due soon, 2 overdue.
    escalated: Mapped[int] = mapped_column(SmallInteger, server_default="0", default=0)
    #: Calls made to the citizen for the callback survey, and when the last was asked for.
    callback_attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0", default=0)
    callback_last_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The earlier ticket of the same caller and matter within the repeat window (重复件).
    repeat_of: Mapped[int | None] = mapped_column(Integer)
    #: A ticket from another channel: its Idempotency-Key (unique) and the request's hash.
    intake_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    intake_hash: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:  # no caller number or name: they are personal data
        return f"Ticket(id={self.id!r}, number={self.number!r}, status={self.status!r})"


class TicketStep(Base):
    """One step of a ticket's life (tickets.lifecycle.TrailEntry): who, when, from, to, note.
    Append-only: no code path updates or deletes a row, and the database refuses both
    (triggers of migration 0008)."""

    __tablename__ = "ticket_steps"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(Integer, ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    party: Mapped[str] = mapped_column(String(16))
    step: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text)
    data: Mapped[Any | None] = mapped_column(JSON)
    #: The centre whose controller recorded the step (not always the ticket's centre).
    centre: Mapped[str] = mapped_column(
        String(16), server_default=DEFAULT_CENTRE, default=DEFAULT_CENTRE
    )

    @classmethod
    def of(cls, entry: TrailEntry, centre: str = DEFAULT_CENTRE) -> TicketStep:
        """The row of a lifecycle trail entry, recorded at ``centre``."""
        return cls(
            centre=centre,
            ticket_id=entry.ticket_id,
            at=entry.at,
            actor=entry.actor,
            party=entry.party.value,
            step=entry.step.value,
            from_state=entry.from_state.value,
            to_state=entry.to_state.value,
            note=entry.note,
            data=entry.data or None,
        )


class Satisfaction(IntEnum):
    """The survey after the call: the key the caller pressed (综合满意率 counts 1 and 2)."""

    SATISFIED = 1
    BASICALLY_SATISFIED = 2
    DISSATISFIED = 3


class PendingSatisfaction(Base):
    """A survey answer whose ticket is not stored yet (the ticket writer batches tickets, the
    survey runs seconds after the operator hangs up). ``tickets.service.create_tickets``
    applies and deletes it when the ticket with this ``linkedid`` (of this ``centre``) lands,
    in the same transaction; so the answer survives a crash in between."""

    __tablename__ = "pending_satisfaction"

    centre: Mapped[str] = mapped_column(
        String(16), primary_key=True, server_default=DEFAULT_CENTRE, default=DEFAULT_CENTRE
    )
    linkedid: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[int] = mapped_column(SmallInteger)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class DraftStatus(StrEnum):
    """Where an operator's draft is: being filled, handed in, or left past the wrap-up limit."""

    OPEN = "open"
    SUBMITTED = "submitted"
    INCOMPLETE = "incomplete"


class OperatorDraft(Base):
    """The ticket an operator writes during the call (table ``ticket_drafts``).

    Stored when the call connects at a seat where someone is signed in, so a crash loses nothing
    typed after it was saved; one per call (``centre`` and ``call_uniqueid``, the latter also its id
    in the API of the centre's controller). ``ended_at`` is set when the call ends: the wrap-up
    limit counts from it. On submit (``status`` ``submitted``) the call's ticket takes ``kind`` and
    ``resolved_on_call`` (``tickets.service``, whichever of the two lands second). The submission's
    ``Idempotency-Key`` and the SHA-256 of its body make a repeat harmless.
    """

    __tablename__ = "ticket_drafts"
    __table_args__ = (UniqueConstraint("centre", "call_uniqueid"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    centre: Mapped[str] = mapped_column(
        String(16), server_default=DEFAULT_CENTRE, default=DEFAULT_CENTRE
    )
    call_uniqueid: Mapped[str] = mapped_column(String(64))
    linkedid: Mapped[str] = mapped_column(String(64), index=True)
    operator_id: Mapped[int] = mapped_column(index=True)
    seat: Mapped[str] = mapped_column(String(80))
    queue: Mapped[str] = mapped_column(String(80))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str | None] = mapped_column(String(32))
    matter: Mapped[str | None] = mapped_column(String(80))
    district: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    resolved_on_call: Mapped[bool | None] = mapped_column(Boolean)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:  # no text the caller said: it can hold personal data
        return f"OperatorDraft(id={self.id!r}, call={self.call_uniqueid!r}, status={self.status!r})"
