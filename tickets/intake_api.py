"""Tickets from the other channels over HTTP: ``POST /api/v1/tickets`` (web, letter, visit,
the leaders' mailbox), registered by the centre's staff with an ``Idempotency-Key``
(:mod:`tickets.intake`). A 422 names the field and stores nothing; the same key and body
again answer the ticket stored the first time (200, not 201); the key with another body is
a 409."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from tickets import intake, workflow
from tickets import lifecycle as lc
from tickets.workflow_api import WorkTicketOut, work_json

__all__ = ["IntakeIn", "make_router"]


class IntakeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["web", "letter", "visit", "mailbox"]
    kind: Literal["consultation", "complaint", "report", "help", "suggestion"]
    description: str = Field(min_length=1, max_length=4000, pattern=r"\S")
    caller_num: str | None = Field(None, max_length=64, pattern=r"^\+?[0-9][0-9 ()-]{2,63}$")
    caller_name: str | None = Field(None, max_length=100)
    district: str | None = Field(None, max_length=40)
    address: str | None = Field(None, max_length=200)
    matter: str | None = Field(None, max_length=64)
    answer: str | None = Field(
        None, max_length=4000, description="Answered on the spot: the ticket is resolved."
    )
    leader_instructed: StrictBool = False


class IntakeOut(WorkTicketOut):
    repeat_of: int | None = Field(description="The earlier ticket (id) of the same matter.")


def make_router(store: Any, *, centre: Any, repeat_days: float) -> APIRouter:
    """Routes on ``store`` (``sessions()``, ``now()``); ``centre``: the role dependency."""
    router = APIRouter(tags=["tickets"])

    @router.post(
        "/api/v1/tickets",
        status_code=201,
        response_model=IntakeOut,
        responses={
            200: {
                "description": "Registered already under this Idempotency-Key.",
                "model": IntakeOut,
            },
            409: {"description": "The Idempotency-Key was used for another ticket."},
            422: {"description": "A field is wrong (named): nothing stored."},
        },
    )
    async def register(
        body: IntakeIn,
        response: Response,
        who: Annotated[Any, Depends(centre)],
        idempotency_key: Annotated[
            str,
            Header(
                min_length=1,
                max_length=100,
                description="Unique per ticket; a retry sends the same.",
            ),
        ],
    ) -> dict[str, Any]:
        """Register a ticket that came by web, letter, visit or the leaders' mailbox; it
        waits for dispatch, or is resolved when ``answer`` is given."""
        try:
            given = body.model_dump()
            # an empty optional field is no value, not an empty one
            wanted = intake.Intake(**{k: v if v != "" else None for k, v in given.items()})
        except ValueError as e:
            raise HTTPException(422, str(e)) from None
        now = datetime.fromtimestamp(store.now(), UTC)
        actor = lc.Actor(who.username, lc.Party.OPERATOR)
        async with store.sessions()() as session:
            try:
                ticket, repeated = await intake.register(
                    session,
                    wanted,
                    key=idempotency_key,
                    actor=actor,
                    at=now,
                    repeat_days=repeat_days,
                )
            except intake.KeyReused as e:
                raise HTTPException(409, str(e)) from None
            if repeated:
                response.status_code = 200
            steps = await workflow.steps_of(session, ticket.id)
        return work_json(ticket, steps, now) | {"repeat_of": ticket.repeat_of}

    return router
