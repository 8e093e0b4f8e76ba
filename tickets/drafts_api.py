"""Drafts API: an operator's own drafts (``/api/v1/me/drafts/{call}``: read, fill, submit with
an ``Idempotency-Key``) and the supervisors' list of drafts by status (``/api/v1/drafts``).

A draft's id is its call's Asterisk ``Uniqueid``, the ``call`` of the screen pop: the desktop
knows it the moment the call connects, before the row is written. Who is asking comes from
the dependencies the app hands in (``me``: the signed-in operator; ``supervisor``): this
package does not know the accounts. Errors are problem details (the app's handlers); a 422
names the field, and stores nothing.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tickets import drafts as service
from tickets.models import DraftStatus, OperatorDraft

__all__ = ["DraftFields", "DraftOut", "make_router"]

CALL = Path(
    pattern=r"^[A-Za-z0-9._-]{1,64}$",
    description="The call's Asterisk Uniqueid (the screen pop's `call`).",
    examples=["1795966595.12"],
)
NOT_FOUND = {404: {"description": "No draft of this call is yours."}}
CONFLICT = {
    409: {"description": "Submitted already: under another key, or this key with another body."}
}


class DraftFields(BaseModel):
    """What an operator fills; a field left out stays as it is, ``null`` clears it."""

    model_config = ConfigDict(extra="forbid")

    kind: str | None = Field(
        None,
        max_length=32,
        description="consultation, complaint, report, help or suggestion.",
    )
    matter: str | None = Field(None, max_length=80, description="From the matters catalogue.")
    district: str | None = Field(None, max_length=40)
    address: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=4000)
    answer: str | None = Field(
        None,
        max_length=4000,
        description="The answer given on the call: resolved on the spot. None: to be routed.",
    )


class DraftOut(BaseModel):
    call: str = Field(description="The call's Uniqueid: the draft's id.")
    linkedid: str
    seat: str
    queue: str
    status: str = Field(description="open, submitted or incomplete.")
    answered_at: str
    ended_at: str | None
    kind: str | None
    matter: str | None
    district: str | None
    address: str | None
    description: str | None
    answer: str | None
    resolved_on_call: bool | None
    submitted_at: str | None
    ticket: str | None = Field(
        None,
        description="The number of the call's ticket, once written (when the call has ended): "
        "where the articles that helped are recorded.",
    )


def draft_json(d: OperatorDraft, ticket: str | None = None) -> dict[str, Any]:
    def iso(t: datetime | None) -> str | None:
        return t.isoformat() if t else None

    return {
        "call": d.call_uniqueid,
        "linkedid": d.linkedid,
        "seat": d.seat,
        "queue": d.queue,
        "status": d.status,
        "answered_at": d.answered_at.isoformat(),
        "ended_at": iso(d.ended_at),
        "kind": d.kind,
        "matter": d.matter,
        "district": d.district,
        "address": d.address,
        "description": d.description,
        "answer": d.answer,
        "resolved_on_call": d.resolved_on_call,
        "submitted_at": iso(d.submitted_at),
        "ticket": ticket,
    }


async def drafts_json(session: Any, found: list[OperatorDraft]) -> list[dict[str, Any]]:
    numbers = await service.ticket_numbers(session, found)
    return [draft_json(d, numbers.get(d.call_uniqueid)) for d in found]


def _invalid(e: ValueError) -> HTTPException:
    return HTTPException(422, str(e))


def _only_query(*names: str) -> Any:
    """A dependency refusing a query parameter the operation does not take (422 naming it):
    a misspelt ``?stauts=open`` must not quietly list the default."""

    async def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - set(names))
        if unknown:
            raise HTTPException(
                422,
                f"{', '.join(repr(u) for u in unknown)}: not a parameter (only {', '.join(names)})",
            )

    return check


def make_router(desk: Any, *, me: Any, supervisor: Any) -> APIRouter:
    """Routes on ``desk``: ``sessions()``, ``now()`` (epoch seconds), ``await flush()``
    (drafts handed over are stored) and ``submitted(draft, repeated)``. ``me`` and
    ``supervisor``: the app's role dependencies (``me`` gives an object with ``user_id``)."""
    router = APIRouter(tags=["drafts"])

    def now() -> datetime:
        return datetime.fromtimestamp(desk.now(), UTC)

    async def own(session: Any, call: str, who: Any) -> OperatorDraft:
        d = await service.get_draft(session, call, who.user_id)
        if d is None:
            await desk.flush()  # written at connect, in a batch: it may still be on its way
            d = await service.get_draft(session, call, who.user_id)
        if d is None:
            raise HTTPException(404, f"no draft of call {call} is yours")
        return d

    @router.get("/api/v1/me/drafts/{call}", response_model=DraftOut, responses=NOT_FOUND)
    async def get_draft(who: Annotated[Any, Depends(me)], call: str = CALL) -> dict[str, Any]:
        """One of my drafts."""
        async with desk.sessions()() as session:
            return (await drafts_json(session, [await own(session, call, who)]))[0]

    @router.patch(
        "/api/v1/me/drafts/{call}",
        response_model=DraftOut,
        responses={**NOT_FOUND, **CONFLICT},
    )
    async def fill_draft(
        body: DraftFields, who: Annotated[Any, Depends(me)], call: str = CALL
    ) -> dict[str, Any]:
        """Fill fields of one of my drafts (saved at once: a crash keeps them)."""
        async with desk.sessions()() as session:
            d = await own(session, call, who)
            try:
                d = await service.fill(session, d, body.model_dump(exclude_unset=True), now())
            except ValueError as e:
                raise _invalid(e) from None
            except service.Conflict as e:
                raise HTTPException(409, str(e)) from None
            return (await drafts_json(session, [d]))[0]

    @router.post(
        "/api/v1/me/drafts/{call}/submit",
        response_model=DraftOut,
        responses={**NOT_FOUND, **CONFLICT},
    )
    async def submit_draft(
        body: DraftFields,
        who: Annotated[Any, Depends(me)],
        idempotency_key: Annotated[
            str,
            Header(
                min_length=1,
                max_length=100,
                description="Any unique text per submission; a retry sends the same.",
            ),
        ],
        call: str = CALL,
    ) -> dict[str, Any]:
        """Hand my draft in: the call's ticket takes its kind, and is resolved if it has an
        answer. The same Idempotency-Key and body again give the same answer."""
        async with desk.sessions()() as session:
            d = await own(session, call, who)
            try:
                d, repeated = await service.submit(
                    session,
                    d,
                    body.model_dump(exclude_unset=True),
                    key=idempotency_key,
                    at=now(),
                )
            except ValueError as e:
                raise _invalid(e) from None
            except service.Conflict as e:
                raise HTTPException(409, str(e)) from None
            desk.submitted(d, repeated)
            return (await drafts_json(session, [d]))[0]

    @router.get(
        "/api/v1/drafts",
        response_model=list[DraftOut],
        dependencies=[Depends(supervisor), Depends(_only_query("status", "limit"))],
    )
    async def drafts(
        status: Annotated[DraftStatus, Query()] = DraftStatus.INCOMPLETE,
        limit: int = Query(100, ge=1, le=500),
    ) -> list[dict[str, Any]]:
        """Drafts by status, oldest call first (incomplete ones: past the wrap-up limit)."""
        async with desk.sessions()() as session:
            rows = await service.list_by_status(session, status.value, limit)
            return await drafts_json(session, rows)

    return router
