"""Tables of Asterisk's durable queue record: ``queue_log`` and how far we have read it.

``queue_log`` is Asterisk's own table (the layout of its contrib schema, which
``res_config_pgsql`` writes into; README "queue_log"), created here by our migrations so
that one Alembic chain owns the whole store. Asterisk writes it, and so does the embedded
PBX, the same rows; the controller only reads it. ``time`` has no time zone: Asterisk
writes UTC there (``queue_log_realtime_use_gmt = yes``). ``data`` is the column Asterisk
falls back to (every field pipe-joined) when it started while the database was down;
without it the rows of that period would be lost.

``queue_log_cursors`` holds, per queue_log source (one Asterisk), the id up to which the
backfill has settled every call (``hotline.backfill``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from config.centres import DEFAULT_CENTRE
from tickets.db import Base, UTCDateTime

__all__ = ["QueueLog", "QueueLogCursor"]

#: BIGSERIAL on PostgreSQL (Asterisk's layout); SQLite's INTEGER PRIMARY KEY is its rowid.
_ID = BigInteger().with_variant(Integer(), "sqlite")


class QueueLog(Base):
    """One queue event as Asterisk logs it (``pbx.queue_log`` reads it)."""

    __tablename__ = "queue_log"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    time: Mapped[datetime | None] = mapped_column(DateTime(timezone=False), index=True)
    callid: Mapped[str | None] = mapped_column(String(80), index=True)
    queuename: Mapped[str | None] = mapped_column(String(256))
    agent: Mapped[str | None] = mapped_column(String(80))
    event: Mapped[str | None] = mapped_column(String(32))
    data1: Mapped[str | None] = mapped_column(String(100))
    data2: Mapped[str | None] = mapped_column(String(100))
    data3: Mapped[str | None] = mapped_column(String(100))
    data4: Mapped[str | None] = mapped_column(String(100))
    data5: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[str | None] = mapped_column(String(500))


class QueueLogCursor(Base):
    """Where the backfill of one centre's queue_log source stands: every call of that centre
    whose rows all lie at or below ``settled_id`` is settled (its ticket written, or none
    due). Several centres' Asterisks may write the one ``queue_log`` table: each controller
    reads only its centre's rows (``config.centres.owns_callid``) and keeps its own cursor."""

    __tablename__ = "queue_log_cursors"

    centre: Mapped[str] = mapped_column(
        String(16), primary_key=True, server_default=DEFAULT_CENTRE, default=DEFAULT_CENTRE
    )
    source: Mapped[str] = mapped_column(String(80), primary_key=True)
    settled_id: Mapped[int] = mapped_column(_ID)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), server_default=func.now(), onupdate=func.now()
    )
