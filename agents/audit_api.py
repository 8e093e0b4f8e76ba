"""The audit log over HTTP (``GET /api/v1/audit``), for admins: read only, newest first.
There is no route that changes or removes an entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from agents.audit import latest_entries
from agents.authentication import Authenticator, SignedIn
from agents.roles import Role

__all__ = ["AuditOut", "make_router"]


class AuditOut(BaseModel):
    at: datetime
    actor: str
    role: str
    action: str
    target: str | None
    detail: dict[str, Any] | None


def make_router(auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix="/api/v1/audit", tags=["users"])
    admin = auth.require(Role.ADMIN)

    @router.get("", response_model=list[AuditOut])
    async def audit(
        who: SignedIn = Depends(admin),
        limit: int = Query(100, ge=1, le=1000),
    ) -> list[AuditOut]:
        """The newest audit entries (admin)."""
        async with auth.sessions()() as session:
            rows = await latest_entries(session, limit)
        return [
            AuditOut(
                at=r.at,
                actor=r.actor,
                role=r.role,
                action=r.action,
                target=r.target,
                detail=r.detail,
            )
            for r in rows
        ]

    return router
