"""Routing tickets over HTTP: the dispatchers' queue and the centre's steps on a ticket
(``/api/v1/dispatch/queue``, ``/api/v1/tickets/{number}/steps``), and the departments' own
view (``/api/v1/department/...``: their tickets only, their work queue, their steps).

Who may take which step is the lifecycle's table (:mod:`tickets.lifecycle`); the app hands in
the role dependencies and ``parties_of(who)``, the parties a signed-in person may act as
(this package does not know the accounts). A step the ticket's state does not allow is a 409
naming both; one whose data is wrong a 422 naming the field; one not for this person a 403;
a ticket changed meanwhile a 409 (reload). Nothing is half stored: a step and its trail
entry are one transaction.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi import Path as FastApiPath
from pydantic import BaseModel, ConfigDict, Field

from tickets import lifecycle as lc
from tickets import workflow
from tickets.api import mask_number
from tickets.aware_times import AWARE_TIME, parse_time
from tickets.callbacks import CallbackRules, callback_rate
from tickets.callbacks import pending as pending_callbacks
from tickets.deadlines import Limit, Unit
from tickets.models import Ticket, TicketStep
from tickets.supervision import scan

__all__ = ["StepIn", "WorkTicketOut", "make_router"]

NUMBER = FastApiPath(
    pattern=r"^[0-9]{2,40}$",
    description="The ticket's digits (a wrong check digit is a 422).",
    examples=["00000018"],
)
DEPARTMENT_CODE = r"^[a-z0-9][a-z0-9._-]{0,63}$"
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No ticket of this number (that you may see)."},
    409: {"description": "The ticket's state does not allow this step, or it changed meanwhile."},
    422: {"description": "A field of the step is missing or wrong (named)."},
}
#: The steps a department takes (the rest are the centre's).
DEPARTMENT_STEPS = (lc.Step.ACCEPT, lc.Step.RETURN, lc.Step.ASK_EXTENSION, lc.Step.REPLY)


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: lc.Step
    note: str = Field("", max_length=4000, description="Reason, reply or remark.")
    department: str | None = Field(
        None, pattern=DEPARTMENT_CODE, description="dispatch: the lead department's code."
    )
    assisting: list[str] = Field(
        default_factory=list, max_length=10, description="dispatch: assisting departments."
    )
    matter: str | None = Field(None, max_length=64, description="dispatch: the matter's code.")
    limit_days: int | None = Field(
        None, ge=1, le=365, description="dispatch: the limit in working days (default 5)."
    )
    rating: lc.Rating | None = Field(None, description="call_back: the citizen's rating.")
    days: int | None = Field(None, ge=1, le=365, description="ask/grant_extension: working days.")
    into: str | None = Field(
        None, pattern=r"^[0-9]{2,40}$", description="merge: the ticket to merge into."
    )


class DepartmentStepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: lc.Step = Field(description="accept, return, ask_extension or reply.")
    note: str = Field("", max_length=4000, description="Reason (return, extension) or reply.")
    days: int | None = Field(None, ge=1, le=365, description="ask_extension: working days.")


class DeadlineOut(BaseModel):
    due_at: str | None = Field(description="None while the clock is stopped.")
    remaining_s: float = Field(description="Working-clock seconds left (negative: overdue).")
    due_soon: bool
    overdue: bool


class WorkTicketOut(BaseModel):
    number: str
    channel: str
    kind: str
    status: str
    caller: str = Field(description="Masked (138****1234).")
    description: str | None = Field(description="What the citizen asked.")
    district: str | None
    address: str | None
    matter: str | None
    lead_department: str | None
    assisting: list[str]
    dispatched_at: str | None
    claimed_by: str | None
    leader_instructed: bool
    rating: str | None
    merged_into: int | None
    deadline: DeadlineOut | None
    allowed_steps: list[str] = Field(description="What the lifecycle allows next.")


class CallbackRateOut(BaseModel):
    replied: int
    called_back: int
    rate: float | None = Field(description="called_back / replied; null with none replied.")


class FlagOut(BaseModel):
    number: str
    department: str
    state: str
    level: str = Field(description="due_soon or overdue.")
    due_at: str | None
    remaining_s: float = Field(description="Working-clock seconds left (negative: overdue).")
    leader_instructed: bool
    escalated: str = Field(description="The level already escalated: none, due_soon, overdue.")


class StepOut(BaseModel):
    at: str
    actor: str
    party: str
    step: str
    from_state: str
    to_state: str
    note: str
    data: dict[str, Any] | None


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def work_json(t: Ticket, steps: list[TicketStep], now: datetime) -> dict[str, Any]:
    due = workflow.deadline_of(t, steps, now)
    return {
        "number": t.number,
        "channel": t.channel,
        "kind": t.kind,
        "status": t.status,
        "caller": mask_number(t.caller_num or ""),
        "description": t.description,
        "district": t.district,
        "address": t.address,
        "matter": t.matter,
        "lead_department": t.lead_department,
        "assisting": list(t.assisting or []),
        "dispatched_at": _iso(t.dispatched_at),
        "claimed_by": t.claimed_by,
        "leader_instructed": bool(t.leader_instructed),
        "rating": t.rating,
        "merged_into": t.merged_into,
        "deadline": None
        if due is None
        else {
            "due_at": _iso(due.due_at),
            "remaining_s": due.remaining.total_seconds(),
            "due_soon": due.due_soon,
            "overdue": due.overdue,
        },
        "allowed_steps": lc.allowed_steps(lc.State(t.status)),
    }


def step_json(s: TicketStep) -> dict[str, Any]:
    return {
        "at": s.at.isoformat(),
        "actor": s.actor,
        "party": s.party,
        "step": s.step,
        "from_state": s.from_state,
        "to_state": s.to_state,
        "note": s.note,
        "data": s.data,
    }


def make_router(
    store: Any,
    *,
    centre: Any,
    dispatcher: Any,
    department: Any,
    parties_of: Callable[[Any], frozenset[lc.Party]],
    supervisor: Any = None,
    catalogue: Callable[[], Any] | None = None,
    repeat_days: float = 30.0,
    callback_rules: CallbackRules | None = None,
    automatic_callbacks: bool = False,
) -> APIRouter:
    """Routes on ``store`` (``sessions()``, ``now()`` in epoch seconds). ``centre``,
    ``dispatcher``, ``department``, ``supervisor``: the app's role dependencies; the person
    they give has ``username`` and ``department``. ``catalogue()``: the departments and
    matters a dispatch is checked against (``config.catalogue.Catalogue``)."""
    router = APIRouter(tags=["routing"])
    if catalogue is None:
        catalogue = _no_catalogue

    def now() -> datetime:
        return datetime.fromtimestamp(store.now(), UTC)

    async def shown(session: Any, t: Ticket) -> dict[str, Any]:
        return work_json(t, await workflow.steps_of(session, t.id), now())

    async def take(who: Any, number: str, what: lc.Step, party: lc.Party, data: Any) -> Any:
        actor = lc.Actor(who.username, party, department=who.department)
        async with store.sessions()() as session:
            try:
                with _ticket_errors():
                    t = await workflow.take_step(
                        session, number, what, actor, now(), data, repeat_days=repeat_days
                    )
            except (lc.IllegalTransition, workflow.Changed) as e:
                raise HTTPException(409, str(e)) from None
            except lc.StepRefused as e:
                raise HTTPException(403 if e.field is None else 422, str(e)) from None
            return await shown(session, t)

    @router.get(
        "/api/v1/dispatch/queue",
        response_model=list[WorkTicketOut],
    )
    async def dispatch_queue(
        who: Annotated[Any, Depends(dispatcher)], limit: int = Query(50, ge=1, le=500)
    ) -> list[dict[str, Any]]:
        """Tickets waiting to be dispatched: leader-instructed first, then reopened ones,
        then the oldest."""
        async with store.sessions()() as session:
            return [await shown(session, t) for t in await workflow.dispatch_queue(session, limit)]

    @router.post("/api/v1/tickets/{number}/steps", response_model=WorkTicketOut, responses=ERRORS)
    async def centre_step(
        body: StepIn, who: Annotated[Any, Depends(centre)], number: str = NUMBER
    ) -> dict[str, Any]:
        """Take a step on a ticket as the centre: route, dispatch (dispatcher), grant or
        refuse an extension (dispatcher), call back, close, reopen (supervisor), merge. Each
        step is appended to the ticket's trail."""
        rule = lc.TABLE[body.step]
        mine = parties_of(who) & rule.parties
        if not mine:
            parties = ", ".join(sorted(p.value for p in rule.parties))
            raise HTTPException(403, f"step: {body.step.value} is taken by {parties}")
        party = max(mine, key=_PARTY_ORDER.index)
        if body.step is lc.Step.DISPATCH:
            body = _with_catalogue(body, catalogue())
        data = workflow.StepData(
            note=body.note,
            department=body.department,
            assisting=tuple(body.assisting),
            rating=body.rating,
            days=body.days,
            into=body.into,
            matter=body.matter,
            limit=Limit(body.limit_days, Unit.WORKING_DAYS) if body.limit_days else None,
        )
        return await take(who, number, body.step, party, data)

    @router.get(
        "/api/v1/tickets/{number}/steps",
        response_model=list[StepOut],
        responses={404: ERRORS[404]},
    )
    async def trail(
        who: Annotated[Any, Depends(centre)], number: str = NUMBER
    ) -> list[dict[str, Any]]:
        """A ticket's trail of steps, oldest first (never changed after it is written)."""
        async with store.sessions()() as session:
            with _ticket_errors():
                t = await workflow.find(session, number)
            return [step_json(s) for s in await workflow.steps_of(session, t.id)]

    @router.get("/api/v1/department/tickets", response_model=list[WorkTicketOut])
    async def my_department(
        who: Annotated[Any, Depends(department)],
        state: Annotated[list[lc.State] | None, Query()] = None,
        limit: int = Query(100, ge=1, le=500),
    ) -> list[dict[str, Any]]:
        """My department's tickets (default: the open ones: dispatched, accepted, extension
        asked), leader-instructed first, then the oldest dispatch."""
        async with store.sessions()() as session:
            found = await workflow.department_tickets(
                session, who.department, tuple(state) if state else _OPEN_HERE, limit
            )
            return [await shown(session, t) for t in found]

    @router.get(
        "/api/v1/department/tickets/{number}",
        response_model=WorkTicketOut,
        responses={404: ERRORS[404]},
    )
    async def one_of_mine(
        who: Annotated[Any, Depends(department)], number: str = NUMBER
    ) -> dict[str, Any]:
        """One of my department's tickets (another department's is a 404)."""
        async with store.sessions()() as session:
            with _ticket_errors():
                t = await workflow.find(session, number, department=who.department)
            return await shown(session, t)

    @router.post(
        "/api/v1/department/queue/take",
        response_model=WorkTicketOut,
        responses={204: {"description": "The work queue is empty."}},
    )
    async def take_next(who: Annotated[Any, Depends(department)]) -> Any:
        """Take the next ticket of my department's work queue (leader-instructed first, then
        the oldest dispatch). Several colleagues taking at once never get the same one."""
        async with store.sessions()() as session:
            t = await workflow.take_next(session, who.department, who.username, now())
            if t is None:
                return Response(status_code=204)
            return await shown(session, t)

    @router.post(
        "/api/v1/department/tickets/{number}/steps",
        response_model=WorkTicketOut,
        responses=ERRORS,
    )
    async def department_step(
        body: DepartmentStepIn, who: Annotated[Any, Depends(department)], number: str = NUMBER
    ) -> dict[str, Any]:
        """Take a step on one of my department's tickets: accept, return (with the reason),
        ask an extension (days and reason), reply."""
        if body.step not in DEPARTMENT_STEPS:
            allowed = ", ".join(s.value for s in DEPARTMENT_STEPS)
            raise HTTPException(422, f"step: a department takes {allowed}, not {body.step.value}")
        data = workflow.StepData(note=body.note, days=body.days)
        return await take(who, number, body.step, lc.Party.DEPARTMENT, data)

    @router.get("/api/v1/callbacks/pending", response_model=list[WorkTicketOut])
    async def callbacks_pending(
        who: Annotated[Any, Depends(centre)], limit: int = Query(100, ge=1, le=500)
    ) -> list[dict[str, Any]]:
        """Replied tickets an operator must call back (the oldest reply first): every one
        when the service calls no one itself, else those whose calls ran out or whose number
        is withheld. The rating goes in as the ``call_back`` step."""
        async with store.sessions()() as session:
            found = await pending_callbacks(
                session,
                callback_rules or CallbackRules(),
                automatic=automatic_callbacks,
                limit=limit,
            )
            return [await shown(session, t) for t in found]

    @router.get("/api/v1/callbacks/rate", response_model=CallbackRateOut)
    async def callbacks_rate(
        who: Annotated[Any, Depends(supervisor)],
        start: Annotated[str, Query(pattern=AWARE_TIME, examples=["2026-11-01T00:00:00+08:00"])],
        end: Annotated[str, Query(pattern=AWARE_TIME, examples=["2026-12-01T00:00:00+08:00"])],
    ) -> dict[str, Any]:
        """回访核实率: of the tickets replied in ``[start, end)``, the share called back (by
        the callback survey or an operator); ``null`` with none replied."""
        since, until = parse_time("start", start), parse_time("end", end)
        assert since is not None and until is not None
        if until <= since:
            raise HTTPException(422, "end: after start")
        async with store.sessions()() as session:
            got = await callback_rate(session, since, until)
        return {"replied": got.replied, "called_back": got.called_back, "rate": got.rate}

    @router.get("/api/v1/supervision", response_model=list[FlagOut])
    async def supervision(who: Annotated[Any, Depends(supervisor)]) -> list[dict[str, Any]]:
        """The running tickets due soon or overdue now: leader-instructed first, then overdue,
        then the least time left; and the level already escalated to their department."""
        async with store.sessions()() as session:
            flags = await scan(session, now())
        return [
            {
                "number": f.number,
                "department": f.department,
                "state": f.state,
                "level": f.level.label,
                "due_at": _iso(f.due_at),
                "remaining_s": f.remaining_s,
                "leader_instructed": f.leader_instructed,
                "escalated": f.escalated.label,
            }
            for f in flags
        ]

    return router


@contextmanager
def _ticket_errors() -> Iterator[None]:
    """No such ticket (or not one this department may see): 404; a wrong check digit: 422."""
    try:
        yield
    except workflow.TicketNotFound as e:
        raise HTTPException(404, str(e)) from None
    except workflow.BadNumber as e:
        raise HTTPException(422, str(e)) from None


def _no_catalogue() -> Any:
    return None


def _with_catalogue(body: StepIn, cat: Any) -> StepIn:
    """A dispatch checked against the catalogue: the matter must be one of its (its
    department is the default lead, its limit the default limit), the departments too. A site
    without a catalogue (no departments) takes any code."""
    if cat is None or not cat.departments:
        return body
    changes: dict[str, Any] = {}
    if body.matter is not None:
        matter = cat.matters.get(body.matter)
        if matter is None:
            raise HTTPException(422, f"matter: {body.matter!r} is not a matter of the catalogue")
        if body.department is None:
            changes["department"] = matter.department
        if body.limit_days is None:
            changes["limit_days"] = matter.limit_days
    lead = changes.get("department", body.department)
    for name, code in [("department", lead), *(("assisting", a) for a in body.assisting)]:
        if code is not None and code not in cat.departments:
            raise HTTPException(422, f"{name}: {code!r} is not a department of the catalogue")
    return body.model_copy(update=changes)


#: When a person may act as several parties, the step is taken as the highest allowed.
_PARTY_ORDER = [lc.Party.OPERATOR, lc.Party.DISPATCHER, lc.Party.SUPERVISOR]
_OPEN_HERE = (lc.State.DISPATCHED, lc.State.ACCEPTED, lc.State.EXTENSION_ASKED)
