"""Open311 GeoReport v2 (``/open311/v2/...``): other systems (a city app, a portal) list the
services and create and read requests in the standard's shape, JSON only.

* services are the catalogue's matters (``service_code`` is the matter's code, ``group`` its
  department's name); open, as the standard has them (no personal data in them);
* a request is a ticket of channel ``web`` waiting for dispatch (:mod:`tickets.intake`),
  created by a signed-in account (Bearer, role operator: the integrating system's account,
  instead of the standard's ``api_key`` parameter: one way to sign in for the whole API),
  with the standard's form fields; an ``Idempotency-Key`` header makes a retry safe;
* read back by its ``service_request_id`` (the ticket number) with the standard's
  ``status`` (``open`` or ``closed``) and, as the standard allows for extensions, the
  ticket's own state in ``extended_attributes.state`` (``dispatched``, ``replied``...).

Where this differs from the standard, on purpose: errors are the API's problem details
(RFC 9457), not the ``[{code, description}]`` array; no XML; no ``jurisdiction_id`` (one
jurisdiction); a request's phone and name are stored on the ticket but never read back.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Header, HTTPException, Query
from fastapi import Path as FastApiPath
from pydantic import BaseModel, Field
from sqlalchemy import select

from tickets import intake, workflow
from tickets import lifecycle as lc
from tickets.aware_times import AWARE_TIME, parse_time
from tickets.models import Ticket

__all__ = ["CLOSED", "make_router"]

#: States the standard's ``status`` calls ``closed``; every other is ``open``.
CLOSED = frozenset({lc.State.RESOLVED, lc.State.CALLED_BACK, lc.State.CLOSED, lc.State.MERGED})
#: The kind a request from another system is registered as (市民反映).
REQUEST_KIND = "report"


class ServiceOut(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool = False
    type: str = "realtime"
    keywords: str = Field(description="Comma-separated.")
    group: str = Field(description="The responsible department.")


class ServiceDefinitionOut(BaseModel):
    service_code: str
    attributes: list[dict[str, Any]]


class CreatedOut(BaseModel):
    service_request_id: str
    service_notice: str
    account_id: str | None = None


class RequestOut(BaseModel):
    service_request_id: str
    status: str = Field(description="open or closed.")
    status_notes: str | None
    service_name: str | None
    service_code: str | None
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str | None
    expected_datetime: str | None
    address: str | None
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None
    extended_attributes: dict[str, Any] = Field(description="state: the ticket's own state.")


def make_router(store: Any, *, catalogue: Callable[[], Any], client: Any) -> APIRouter:
    """Routes on ``store`` (``sessions()``, ``now()``); ``catalogue()``: the matters and
    departments now (``.matters``, ``.departments``); ``client``: the role dependency of
    the integrating system's account."""
    router = APIRouter(prefix="/open311/v2", tags=["open311"])

    def service(m: Any) -> dict[str, Any]:
        dept = catalogue().departments.get(m.department)
        dept_name = dept.name if dept is not None else m.department
        route = f"; {m.legal_route}" if getattr(m, "legal_route", None) else ""
        return {
            "service_code": m.code,
            "service_name": m.name,
            "description": f"{dept_name}, {m.limit_days} working days{route}",
            "keywords": ",".join(m.keywords),
            "group": dept_name,
        }

    def request_json(t: Ticket, steps: list[Any], now: datetime) -> dict[str, Any]:
        matters = catalogue().matters
        m = matters.get(t.matter) if t.matter else None
        dept = catalogue().departments.get(t.lead_department) if t.lead_department else None
        due = workflow.deadline_of(t, steps, now)
        last_note = next((s.note for s in reversed(steps) if s.note), None)
        return {
            "service_request_id": t.number,
            "status": "closed" if lc.State(t.status) in CLOSED else "open",
            "status_notes": last_note,
            "service_name": m.name if m is not None else None,
            "service_code": t.matter,
            "description": t.description,
            "agency_responsible": dept.name if dept is not None else t.lead_department,
            "service_notice": None,
            "requested_datetime": t.created_at.isoformat(),
            "updated_datetime": t.state_changed_at.isoformat() if t.state_changed_at else None,
            "expected_datetime": due.due_at.isoformat() if due and due.due_at else None,
            "address": t.address,
            "extended_attributes": {"state": t.status},
        }

    @router.get("/services.json", response_model=list[ServiceOut])
    async def services() -> list[dict[str, Any]]:
        """Every service: the catalogue's matters (open: no sign-in)."""
        return [service(m) for m in catalogue().matters.values()]

    @router.get(
        "/services/{service_code}.json",
        response_model=ServiceDefinitionOut,
        responses={404: {"description": "No such service."}},
    )
    async def definition(
        service_code: str = FastApiPath(max_length=64),
    ) -> dict[str, Any]:
        """A service's definition: no extra attributes (``metadata`` is false for all)."""
        if service_code not in catalogue().matters:
            raise HTTPException(404, f"service_code: no service {service_code!r}")
        return {"service_code": service_code, "attributes": []}

    @router.post(
        "/requests.json",
        status_code=201,
        response_model=list[CreatedOut],
        responses={422: {"description": "A field is wrong (named): nothing stored."}},
    )
    async def create(
        who: Annotated[Any, Depends(client)],
        service_code: Annotated[str, Form(min_length=1, max_length=64)],
        description: Annotated[str, Form(min_length=1, max_length=4000, pattern=r"\S")],
        address_string: Annotated[str | None, Form(max_length=200)] = None,
        phone: Annotated[
            str | None, Form(max_length=64, pattern=r"^\+?[0-9][0-9 ()-]{2,63}$")
        ] = None,
        first_name: Annotated[str | None, Form(max_length=50)] = None,
        last_name: Annotated[str | None, Form(max_length=50)] = None,
        idempotency_key: Annotated[
            str | None, Header(min_length=1, max_length=100, description="Makes retries safe.")
        ] = None,
    ) -> list[dict[str, Any]]:
        """Create a service request: a web ticket of the service's matter, waiting for
        dispatch."""
        if service_code not in catalogue().matters:
            raise HTTPException(422, f"service_code: no service {service_code!r}")
        name = " ".join(p for p in (last_name, first_name) if p) or None
        wanted = intake.Intake(
            channel="web",
            kind=REQUEST_KIND,
            description=description,
            caller_num=phone,
            caller_name=name,
            address=address_string,
            matter=service_code,
        )
        key = idempotency_key or f"open311-{uuid.uuid4().hex}"
        now = datetime.fromtimestamp(store.now(), UTC)
        async with store.sessions()() as session:
            try:
                t, _ = await intake.register(
                    session,
                    wanted,
                    key=key,
                    actor=lc.Actor(who.username, lc.Party.OPERATOR),
                    at=now,
                    repeat_days=30.0,
                )
            except intake.KeyReused as e:
                raise HTTPException(409, str(e)) from None
        notice = "已受理，将转交承办单位办理。Received; it will be passed to the department."
        return [{"service_request_id": t.number, "service_notice": notice}]

    @router.get("/requests.json", response_model=list[RequestOut])
    async def requests(
        who: Annotated[Any, Depends(client)],
        service_request_id: Annotated[str | None, Query(max_length=2000)] = None,
        service_code: Annotated[str | None, Query(max_length=64)] = None,
        status: Annotated[str | None, Query(pattern=r"^(open|closed)$")] = None,
        start_date: Annotated[str | None, Query(pattern=AWARE_TIME)] = None,
        end_date: Annotated[str | None, Query(pattern=AWARE_TIME)] = None,
    ) -> list[dict[str, Any]]:
        """Requests (newest first, at most 1,000): by ids (comma-separated), service,
        status, and the date they were made (default: the last 90 days)."""
        since, until = parse_time("start_date", start_date), parse_time("end_date", end_date)
        stmt = select(Ticket).order_by(Ticket.id.desc()).limit(1000)
        if service_request_id:
            stmt = stmt.where(Ticket.number.in_(service_request_id.split(",")))
        if service_code:
            stmt = stmt.where(Ticket.matter == service_code)
        if status:
            closed = [s.value for s in CLOSED]
            cond = Ticket.status.in_(closed)
            stmt = stmt.where(cond if status == "closed" else ~cond)
        if since is not None:
            stmt = stmt.where(Ticket.created_at >= since)
        if until is not None:
            stmt = stmt.where(Ticket.created_at <= until)
        now = datetime.fromtimestamp(store.now(), UTC)
        async with store.sessions()() as session:
            found = list((await session.scalars(stmt)).all())
            return [request_json(t, await workflow.steps_of(session, t.id), now) for t in found]

    @router.get(
        "/requests/{service_request_id}.json",
        response_model=list[RequestOut],
        responses={404: {"description": "No such request."}},
    )
    async def one_request(
        who: Annotated[Any, Depends(client)],
        service_request_id: str = FastApiPath(pattern=r"^[0-9]{2,40}$"),
    ) -> list[dict[str, Any]]:
        """One request (the standard answers a list of one)."""
        now = datetime.fromtimestamp(store.now(), UTC)
        async with store.sessions()() as session:
            try:
                t = await workflow.find(session, service_request_id)
            except (workflow.TicketNotFound, workflow.BadNumber) as e:
                raise HTTPException(404, f"service_request_id: {e}") from None
            return [request_json(t, await workflow.steps_of(session, t.id), now)]

    return router
