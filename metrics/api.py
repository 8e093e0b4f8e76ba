"""Durable call history over HTTP (``GET /api/v1/history/calls``): per queue and period, from
the queue_log (:mod:`metrics.call_history`), for reports over days. Read-only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from metrics.call_history import Period, call_history

__all__ = ["QueuePeriodOut", "make_router"]


class QueuePeriodOut(BaseModel):
    queue: str
    period: str
    offered: int
    answered: int
    abandoned: int
    timed_out: int
    exited_empty: int
    exited_key: int
    unanswered: int
    completed: int
    hold_s: float
    talk_s: float
    answer_ratio: float | None
    mean_hold_s: float | None
    mean_talk_s: float | None


def make_router(runtime: Any, utc_offset_hours: float) -> APIRouter:
    """Routes on ``runtime.sessions``; periods are local at ``utc_offset_hours``."""
    router = APIRouter(prefix="/api/v1/history", tags=["history"])

    @router.get("/calls", response_model=list[QueuePeriodOut])
    async def calls(
        start: Annotated[datetime, Query(description="From (ISO 8601 with a zone), included.")],
        end: Annotated[datetime, Query(description="To (ISO 8601 with a zone), excluded.")],
        by: Annotated[Period, Query(description="hour, day or month (local).")] = "day",
        queue: Annotated[list[str] | None, Query(description="Only these queues.")] = None,
    ) -> list[dict[str, Any]]:
        """Offered, answered, abandoned, timeouts, empty-queue exits, hold and talk times per
        queue and local period, from Asterisk's queue_log (the README's definitions)."""
        for name, value in (("start", start), ("end", end)):
            if value.tzinfo is None:
                raise HTTPException(422, f"{name}: {value.isoformat()} has no time zone")
        if end <= start:
            return []  # an empty period: nothing happened in it
        assert runtime.sessions is not None
        async with runtime.sessions() as session:
            rows = await call_history(
                session,
                start=start,
                end=end,
                by=by,
                utc_offset_hours=utc_offset_hours,
                queues=queue,
            )
        return [r.as_dict() for r in rows]

    return router
