"""Tickets API (``/api/v1/tickets``): the latest tickets, and one ticket by its number.

Errors are problem details (the app's handlers turn ``HTTPException`` and validation errors
into ``application/problem+json``). Caller numbers are masked (``138****1234``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from tickets import service
from tickets.numbers import is_valid

__all__ = ["TicketOut", "make_router", "mask_number", "ticket_json"]

NOT_FOUND = {404: {"description": "No ticket with this number."}}


class TicketOut(BaseModel):
    number: str = Field(description="Seven digits and a Luhn check digit.")
    channel: str
    caller: str = Field(description="The caller's number, its middle masked (138****1234).")
    queue: str | None
    seat: str | None
    linkedid: str | None = Field(description="Asterisk's Linkedid of the call.")
    joined_at: str | None
    answered_at: str | None
    ended_at: str | None
    kind: str
    status: str
    resolved_on_call: bool


def mask_number(number: str) -> str:
    """A phone number with its middle hidden (``138****1234``) for lists and logs."""
    if len(number) <= 4:
        return "*" * len(number)
    keep = 3 if len(number) >= 8 else 1
    return number[:keep] + "*" * (len(number) - keep - 4) + number[-4:]


def ticket_json(t: Any) -> dict[str, Any]:
    """A stored ticket as the API shows it."""
    return {
        "number": t.number,
        "channel": t.channel,
        "caller": mask_number(t.caller_num or ""),
        "queue": t.queue,
        "seat": t.seat,
        "linkedid": t.linkedid,
        "joined_at": t.joined_at.isoformat() if t.joined_at else None,
        "answered_at": t.answered_at.isoformat() if t.answered_at else None,
        "ended_at": t.ended_at.isoformat() if t.ended_at else None,
        "kind": t.kind,
        "status": t.status,
        "resolved_on_call": t.resolved_on_call,
    }


def make_router(runtime: Any) -> APIRouter:
    """Routes on ``runtime.sessions`` (an ``async_sessionmaker``)."""
    router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])

    @router.get("", response_model=list[TicketOut])
    async def tickets(limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
        """The latest tickets, newest first."""
        assert runtime.sessions is not None
        async with runtime.sessions() as session:
            rows = await service.list_recent(session, limit=limit)
        return [ticket_json(t) for t in rows]

    @router.get("/{number}", response_model=TicketOut, responses=NOT_FOUND)
    async def ticket(
        number: str = Path(
            pattern=r"^[0-9]{2,40}$",
            description="The ticket's digits; the last is a Luhn check digit: a number whose "
            "check digit is wrong (one digit misheard) is answered with 422, not 404.",
            examples=["00000018"],
        ),
    ) -> dict[str, Any]:
        """One ticket by its number (422 when the check digit is wrong)."""
        if not number.isdigit() or not is_valid(number):
            raise HTTPException(
                422, f"{number!r} is not a ticket number: digits with a valid check digit"
            )
        assert runtime.sessions is not None
        async with runtime.sessions() as session:
            t = await service.get_by_number(session, number)
        if t is None:
            raise HTTPException(404, f"no ticket {number}")
        return ticket_json(t)

    return router
