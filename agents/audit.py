"""The audit log of supervisor and admin actions: who (actor and role), when, what (action,
target) and the details. Append-only: this module only adds rows and reads them, and the
database refuses an UPDATE or DELETE of one (migration 0004's triggers).

An entry is added in the caller's session, so it commits (or rolls back) with the action it
records, and carries the centre the session writes as (``store.centre``). No phone number
or password goes into ``detail``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.models import AuditEntry
from store.centre import session_centre

__all__ = ["SYSTEM_ROLE", "add_entry", "latest_entries"]

#: The role recorded for actions taken from the command line (``hotline users ...``): whoever
#: can reach the database there is not a signed-in user.
SYSTEM_ROLE = "system"


def add_entry(
    session: AsyncSession,
    *,
    at: datetime,
    actor: str,
    role: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry to ``session`` (committed with it)."""
    entry = AuditEntry(
        at=at,
        actor=actor,
        role=role,
        action=action,
        target=target,
        detail=detail or None,
        centre=session_centre(session),
    )
    session.add(entry)
    return entry


async def latest_entries(session: AsyncSession, limit: int = 100) -> Sequence[AuditEntry]:
    """The newest entries first."""
    rows = await session.scalars(
        select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    )
    return rows.all()
