"""Tables of the ticket store (SQLAlchemy 2, declarative with ``Mapped``).

Portable on SQLite and PostgreSQL. Every timestamp is stored in UTC and read back as an
*aware* UTC datetime on both databases (see :class:`UTCDateTime`).

The schema is owned by the Alembic migrations in ``tickets/migrations``; a test checks that
they produce exactly these tables (``alembic`` autogenerate finds no difference).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any, ClassVar

from sqlalchemy import DateTime, MetaData, SmallInteger, String, UniqueConstraint, func
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Constraint and index names are predictable, so later migrations can alter or drop them
# by name on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table in the store (one ``MetaData`` for Alembic)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that only accepts aware datetimes and stores them in UTC.

    PostgreSQL keeps ``timestamptz`` natively; SQLite has no time zones, so the value is
    stored as naive UTC and made aware again when read. Either way Python sees aware UTC.
    A naive datetime is refused (``ValueError``), never silently taken as local time.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Kind(StrEnum):
    """What the citizen asked for (the IVR's and the operator's classification)."""

    CONSULTATION = "consultation"
    COMPLAINT = "complaint"
    REPORT = "report"
    HELP = "help"
    SUGGESTION = "suggestion"


class Status(StrEnum):
    """Where the ticket is in its life (more states come with routing to departments)."""

    RESOLVED = "resolved"
    AWAITING_ROUTING = "awaiting_routing"


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
    ``(call_uniqueid, answered_at)`` is unique: one answered call is one ticket, which makes
    writing it idempotent.
    """

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("call_uniqueid", "answered_at"),
        # SQLite: AUTOINCREMENT, so an id (and with it a ticket number) is never reused.
        {"sqlite_autoincrement": True},
    )
    # Server defaults (created_at) come back with the INSERT: no lazy load under asyncio.
    __mapper_args__: ClassVar[dict[str, Any]] = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # Digits: the id padded to 7 and a Luhn check digit (tickets.numbers). While a row is
    # being inserted it briefly holds a unique placeholder (see tickets.service).
    number: Mapped[str] = mapped_column(String(40), unique=True)
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
    status: Mapped[str] = mapped_column(String(32))
    resolved_on_call: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    # The caller's answer to the survey after the call (Satisfaction), None until answered.
    satisfaction: Mapped[int | None] = mapped_column(SmallInteger)

    def __repr__(self) -> str:  # no caller number or name: they are personal data
        return f"Ticket(id={self.id!r}, number={self.number!r}, status={self.status!r})"


class Satisfaction(IntEnum):
    """The survey after the call: the key the caller pressed (综合满意率 counts 1 and 2)."""

    SATISFIED = 1
    BASICALLY_SATISFIED = 2
    DISSATISFIED = 3


class PendingSatisfaction(Base):
    """A survey answer whose ticket is not stored yet (the ticket writer batches tickets, the
    survey runs seconds after the operator hangs up). ``tickets.service.create_tickets``
    applies and deletes it when the ticket with this ``linkedid`` lands, in the same
    transaction; so the answer survives a crash in between."""

    __tablename__ = "pending_satisfaction"

    linkedid: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[int] = mapped_column(SmallInteger)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
