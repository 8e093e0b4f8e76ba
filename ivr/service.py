"""Announcements: the rules, on an ``AsyncSession`` (the API and the IVR call these)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.models import Announcement

__all__ = [
    "active_announcements",
    "create_announcement",
    "end_announcement",
    "get_announcement",
    "list_announcements",
]


def _aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: give a time zone (for example +08:00)")


async def create_announcement(
    session: AsyncSession,
    *,
    text: str,
    sound: str,
    ends_at: datetime,
    starts_at: datetime,
    district: str | None = None,
    created_by: str | None = None,
    on_stored: Callable[[Announcement], object] | None = None,
) -> Announcement:
    """Store a new announcement and commit. ``starts_at < ends_at``, both aware.
    ``on_stored(a)`` runs once it has its id, before the commit: what it adds to the session
    (an audit entry) commits with it."""
    _aware("starts_at", starts_at)
    _aware("ends_at", ends_at)
    if not starts_at < ends_at:
        raise ValueError("ends_at: must be after starts_at")
    a = Announcement(
        text=text,
        sound=sound,
        district=district,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=created_by,
    )
    session.add(a)
    if on_stored is not None:
        await session.flush()
        on_stored(a)
    await session.commit()
    return a


async def active_announcements(session: AsyncSession, at: datetime) -> list[Announcement]:
    """Announcements not yet ended at ``at`` (including ones that start later), oldest first;
    the caller keeps those with ``starts_at <= at``. Ended ones simply stop matching: an
    announcement expires by itself, with no job to remove it."""
    stmt = select(Announcement).where(Announcement.ends_at > at).order_by(Announcement.id)
    return list((await session.scalars(stmt)).all())


async def list_announcements(
    session: AsyncSession, at: datetime, *, include_ended: bool = False, limit: int = 100
) -> list[Announcement]:
    stmt = select(Announcement).order_by(Announcement.id.desc()).limit(limit)
    if not include_ended:
        stmt = stmt.where(Announcement.ends_at > at)
    return list((await session.scalars(stmt)).all())


async def get_announcement(session: AsyncSession, ident: int) -> Announcement | None:
    return await session.get(Announcement, ident)


async def end_announcement(
    session: AsyncSession,
    ident: int,
    at: datetime,
    on_ended: Callable[[Announcement], object] | None = None,
) -> bool:
    """End an announcement now (it stays listed as ended); False when there is none.
    ``on_ended(a)`` runs before the commit (an audit entry commits with it)."""
    a = await session.get(Announcement, ident)
    if a is None:
        return False
    if a.ends_at > at:
        a.ends_at = max(at, a.starts_at)
    if on_ended is not None:
        on_ended(a)
    await session.commit()
    return True
