"""The citizens' lookup of a ticket's progress: ``POST /api/v1/public/lookup`` with the ticket
number and the last four digits of the phone it was made from. Open (no sign-in: citizens
have no account), so it gives nothing personal: no number, no name, no description, no
answer; only where the ticket is, since when, which department handles it and when it is due.

Guessing is slowed down: a wrong pair (no such ticket, or other digits: the same answer, so
that a ticket's existence is not told either) counts against the number and against the
client's address, and from the fifth on they are locked out for a while, answered 429 with
``Retry-After`` before anything is looked up. The throttle is the app's (the sign-in's kind,
its own instance). In a POST body, not the URL: URLs end up in access logs.
"""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from tickets import lifecycle as lc
from tickets import workflow

__all__ = ["STATUS_TEXT", "LookupIn", "LookupOut", "make_router"]

#: What a citizen is told for each state (Chinese, English).
STATUS_TEXT: dict[lc.State, tuple[str, str]] = {
    lc.State.REGISTERED: ("已登记", "registered"),
    lc.State.RESOLVED: ("已当场答复", "answered on the spot"),
    lc.State.AWAITING_ROUTING: ("待转办", "being passed to the department in charge"),
    lc.State.DISPATCHED: ("已转交承办单位", "passed to the department in charge"),
    lc.State.ACCEPTED: ("承办单位办理中", "being handled by the department"),
    lc.State.EXTENSION_ASKED: ("承办单位办理中", "being handled by the department"),
    lc.State.REPLIED: ("承办单位已答复，待回访", "answered by the department; a callback follows"),
    lc.State.CALLED_BACK: ("已回访", "called back"),
    lc.State.REOPENED: ("重新办理中", "being handled again"),
    lc.State.CLOSED: ("已办结", "closed"),
    lc.State.MERGED: ("已与同一事项合并办理", "merged with a ticket of the same matter"),
}
NOT_FOUND = "number and phone_last4: no ticket of this number made from such a phone"


class LookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(pattern=r"^[0-9]{2,40}$", description="The ticket's number.")
    phone_last4: str = Field(
        pattern=r"^[0-9]{4}$", description="The last 4 digits of the phone it was made from."
    )


class LookupOut(BaseModel):
    number: str
    status: str
    status_text: str = Field(description="In Chinese.")
    status_text_en: str
    registered_at: str
    last_change_at: str | None
    department: str | None = Field(description="The department handling it (its code).")
    due_at: str | None = Field(description="When the department must have handled it.")
    merged_into: str | None = Field(description="The ticket it was merged into (its number).")


def make_router(store: Any, throttle: Any) -> APIRouter:
    """Routes on ``store`` (``sessions()``, ``now()``); ``throttle``: ``retry_after(key,
    address)``, ``failed(key, address)`` and ``succeeded(key)``."""
    router = APIRouter(tags=["public"])

    @router.post(
        "/api/v1/public/lookup",
        response_model=LookupOut,
        responses={
            404: {"description": "No ticket of this number made from such a phone."},
            429: {"description": "Too many wrong tries: wait Retry-After seconds."},
        },
    )
    async def lookup(body: LookupIn, request: Request) -> dict[str, Any]:
        """Where my ticket is (open: no sign-in; nothing personal in the answer)."""
        address = request.client.host if request.client else None
        wait = throttle.retry_after(body.number, address)
        if wait is not None:
            raise HTTPException(
                429, f"too many wrong tries: wait {wait} s", headers={"Retry-After": str(wait)}
            )
        now = datetime.fromtimestamp(store.now(), UTC)
        async with store.sessions()() as session:
            try:
                t = await workflow.find(session, body.number)
            except (workflow.TicketNotFound, workflow.BadNumber):
                t = None
            digits = "".join(c for c in (t.caller_num or "") if c.isdigit()) if t else ""
            if t is None or len(digits) < 4 or digits[-4:] != body.phone_last4:
                throttle.failed(body.number, address)
                raise HTTPException(404, NOT_FOUND)
            throttle.succeeded(body.number)
            due = workflow.deadline_of(t, await workflow.steps_of(session, t.id), now)
            merged = await session.get(type(t), t.merged_into) if t.merged_into else None
        state = lc.State(t.status)
        zh, en = STATUS_TEXT[state]
        return {
            "number": t.number,
            "status": state.value,
            "status_text": zh,
            "status_text_en": en,
            "registered_at": t.created_at.isoformat(),
            "last_change_at": t.state_changed_at.isoformat() if t.state_changed_at else None,
            "department": t.lead_department,
            "due_at": due.due_at.isoformat() if due and due.due_at else None,
            "merged_into": merged.number if merged is not None else None,
        }

    return router
