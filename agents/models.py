"""The accounts' tables: users, their refresh tokens, and the audit log of supervisor and
admin actions (on the store's base, ``store.base.Base``, listed in ``hotline.models``).

The audit log is append-only: the code has no path that updates or deletes a row, and the
database refuses both (triggers of migration 0004).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from config.centres import DEFAULT_CENTRE
from store.base import Base, UTCDateTime

__all__ = ["AuditEntry", "RefreshToken", "SeatSession", "User"]


class User(Base):
    """A person who signs in. ``username`` is lower case; ``seat`` is the operator's queue
    member interface (``SIP/8001``); ``department`` the code of a department user's
    department (and only theirs); ``skills`` comes with skill-based routing."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    seat: Mapped[str | None] = mapped_column(String(80))
    department: Mapped[str | None] = mapped_column(String(64))
    skills: Mapped[Any | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:  # never the hash
        return f"User(id={self.id!r}, username={self.username!r}, role={self.role!r})"


class RefreshToken(Base):
    """One refresh token, kept as the SHA-256 of its value. A sign-in starts a ``family``;
    each refresh uses its token up (``used_at``) and issues the next of the family, which
    keeps the family's ``expires_at``. Presenting a used token again revokes the family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Who did what: one row per supervisor or admin action, never changed afterwards."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(120))
    detail: Mapped[Any | None] = mapped_column(JSON)
    #: The centre whose controller took the action (config/centres.yaml).
    centre: Mapped[str] = mapped_column(
        String(16), server_default=DEFAULT_CENTRE, default=DEFAULT_CENTRE
    )


class SeatSession(Base):
    """One operator signed in to one seat, from sign-in to sign-out: the state we keep
    because Asterisk forgets it on a restart (its dynamic members and their pause reasons).
    ``signed_out_at`` null: signed in now; ``paused_code`` null: wanted ready."""

    __tablename__ = "seat_sessions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    interface: Mapped[str] = mapped_column(String(80), index=True)
    member_name: Mapped[str] = mapped_column(String(100))
    #: Queue -> penalty joined at sign-in.
    queues: Mapped[Any] = mapped_column(JSON)
    signed_in_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paused_code: Mapped[str | None] = mapped_column(String(32))
    paused_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signed_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
