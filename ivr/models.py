"""The IVR's table: announcements a supervisor sets for callers (on the store's base,
``tickets.db.Base``, and listed in the registry ``hotline.models``, so the one Alembic chain
of ``tickets/migrations`` creates it and autogenerate sees it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from tickets.db import Base, UTCDateTime

__all__ = ["Announcement"]


class Announcement(Base):
    """A temporary message played at the top of the menu (for example a water cut in one
    district) between ``starts_at`` and ``ends_at``; it expires by itself. ``district`` None
    means every caller; otherwise callers of that district (by choice or by number)."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    sound: Mapped[str] = mapped_column(String(200))
    district: Mapped[str | None] = mapped_column(String(40))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())

    def __repr__(self) -> str:
        return f"Announcement(id={self.id!r}, ends_at={self.ends_at!r})"
