"""The seat lifecycle over HTTP: an operator's own seat (``/api/v1/me/seat``) and the
supervisors' forced pause and sign-out of any seat (``/api/v1/seats/{interface}/...``,
audited).

What a request answers is what Asterisk confirmed (``state``), with what it has not yet
(``pending``). Asterisk refusing an action is a 409 carrying its message; the AMI link down
(or silent) is a 503: nothing is queued to be done later.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi import Path as FastApiPath
from pydantic import BaseModel, Field

from agents.audit import add_entry
from agents.authentication import Authenticator, SignedIn
from agents.roles import Role
from agents.seat_lifecycle import SeatLifecycle, SeatView
from agents.shift import ShiftRefused
from pbx.ami_actions import AmiActionError, AmiNotConnected, AmiTimeout

__all__ = [
    "ERRORS",
    "Interface",
    "PauseIn",
    "SeatStateOut",
    "SignInIn",
    "asterisk_errors",
    "audit_seat_action",
    "make_router",
]

INTERFACE = r"^[A-Za-z0-9]+/[A-Za-z0-9@._/-]{1,70}$"

#: A seat in a path: ``/api/v1/seats/SIP/8001/pause`` (the interface has a slash).
Interface = Annotated[str, FastApiPath(min_length=3, max_length=80, pattern=INTERFACE)]

ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "Not allowed in the seat's state, or Asterisk refused (its message)."},
    503: {"description": "The AMI link is down or Asterisk did not answer: nothing was done."},
}


class SignInIn(BaseModel):
    interface: str | None = Field(
        default=None,
        pattern=INTERFACE,
        max_length=80,
        description="The phone to sign in at; default: the user's seat.",
        examples=["SIP/8001"],
    )


class PauseIn(BaseModel):
    code: str = Field(
        min_length=1,
        max_length=32,
        description="A code of config/pause_codes.yaml.",
        examples=["lunch"],
    )


class ForcedPauseIn(BaseModel):
    code: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="A pause code; default: the supervisor code of config/pause_codes.yaml.",
    )


class PauseCodeOut(BaseModel):
    code: str = Field(examples=["lunch"])
    label: str = Field(description="What the desktop shows.", examples=["午餐"])
    limit_s: float = Field(description="How long the pause may last before it is overdue.")
    counts_as_working_time: bool
    auto_ready: bool = Field(description="The seat is made ready again at the limit.")


class SeatStateOut(BaseModel):
    interface: str | None
    state: str = Field(
        description="As Asterisk confirmed it: signed_out, signing_in, ready, paused, signing_out."
    )
    reason: str = Field(description="The pause code Asterisk has (when paused).")
    reason_label: str = ""
    since: float | None = Field(description="When the state asked for began (Unix time).")
    limit_s: float | None = Field(description="The pause code's limit in seconds.")
    overdue: bool
    pending: str | None = Field(description="Asked, not yet confirmed by Asterisk.")
    queues: dict[str, int] = Field(description="Skill queues and their penalties.")


def _out(view: SeatView, lifecycle: SeatLifecycle) -> SeatStateOut:
    code = lifecycle.pause_codes.get(view.reason) if view.reason else None
    return SeatStateOut(
        interface=view.interface,
        state=view.state,
        reason=view.reason,
        reason_label=code.label if code is not None else "",
        since=view.since,
        limit_s=view.limit_s,
        overdue=view.overdue,
        pending=view.pending,
        queues=view.queues,
    )


@asynccontextmanager
async def asterisk_errors() -> AsyncIterator[None]:
    """Asterisk refusing (or our rules) as a 409 with its message; the link down as a 503."""
    try:
        yield
    except ShiftRefused as e:
        raise HTTPException(409, str(e)) from None
    except AmiActionError as e:
        raise HTTPException(409, str(e)) from None
    except (AmiNotConnected, AmiTimeout) as e:
        raise HTTPException(503, str(e)) from None


async def audit_seat_action(
    auth: Authenticator, who: SignedIn, action: str, interface: str, detail: dict[str, Any]
) -> None:
    """A supervisor's action on a seat, into the audit log (its own transaction)."""
    async with auth.sessions()() as session, session.begin():
        add_entry(
            session,
            at=auth.now(),
            actor=who.username,
            role=str(who.role),
            action=action,
            target=interface,
            detail=detail,
        )


def make_router(auth: Authenticator, seats: Callable[[], SeatLifecycle]) -> APIRouter:
    """The routes; ``seats`` gives the runtime's lifecycle when a request comes."""
    router = APIRouter(tags=["seat"])
    operator = auth.require(Role.OPERATOR)
    supervisor = auth.require(Role.SUPERVISOR)

    def code_of(code: str, *, by_operator: bool) -> str:
        found = seats().pause_codes.get(code)
        if found is None or (by_operator and found.system):
            allowed = sorted(c for c, p in seats().pause_codes.codes.items() if not p.system)
            raise HTTPException(422, f"code: {code!r} is not a pause code; use one of {allowed}")
        return code

    @router.get("/api/v1/me/seat/pause-codes", response_model=list[PauseCodeOut])
    async def pause_codes(who: SignedIn = Depends(operator)) -> list[PauseCodeOut]:
        """The codes I may pause with (config/pause_codes.yaml; not the backend's own)."""
        return [
            PauseCodeOut(
                code=p.code,
                label=p.label,
                limit_s=p.limit_s,
                counts_as_working_time=p.counts_as_working_time,
                auto_ready=p.auto_ready,
            )
            for p in seats().pause_codes.codes.values()
            if not p.system
        ]

    @router.get("/api/v1/me/seat", response_model=SeatStateOut)
    async def my_seat(who: SignedIn = Depends(operator)) -> SeatStateOut:
        """My seat: its state as Asterisk confirmed it, the pause reason, since when, the
        reason's limit."""
        shift = seats().book.of_user(who.username)
        return _out(seats().view(shift, who.seat), seats())

    @router.post("/api/v1/me/seat/sign-in", response_model=SeatStateOut, responses=ERRORS)
    async def sign_in(body: SignInIn, who: SignedIn = Depends(operator)) -> SeatStateOut:
        """Sign in to my seat (or the phone ``interface``): join my skill queues
        (config/skills.yaml) with their penalties, ready."""
        interface = body.interface or who.seat
        if not interface:
            raise HTTPException(422, "interface: you have no seat; give the phone's interface")
        async with asterisk_errors():
            view = await seats().sign_in(who.username, interface, who.display_name)
        return _out(view, seats())

    @router.post("/api/v1/me/seat/ready", response_model=SeatStateOut, responses=ERRORS)
    async def ready(who: SignedIn = Depends(operator)) -> SeatStateOut:
        """Take calls again (unpause in every queue)."""
        async with asterisk_errors():
            view = await seats().ready(who.username)
        return _out(view, seats())

    @router.post("/api/v1/me/seat/pause", response_model=SeatStateOut, responses=ERRORS)
    async def pause(body: PauseIn, who: SignedIn = Depends(operator)) -> SeatStateOut:
        """Pause my seat in every queue with a coded reason (config/pause_codes.yaml)."""
        code = code_of(body.code, by_operator=True)
        async with asterisk_errors():
            view = await seats().pause(who.username, code)
        return _out(view, seats())

    @router.post("/api/v1/me/seat/sign-out", response_model=SeatStateOut, responses=ERRORS)
    async def sign_out(who: SignedIn = Depends(operator)) -> SeatStateOut:
        """Leave every queue."""
        async with asterisk_errors():
            view = await seats().sign_out(who.username)
        return _out(view, seats())

    NOT_SIGNED_IN = {**ERRORS, 404: {"description": "No one is signed in at this seat."}}

    def holder(interface: str) -> str:
        user = seats().user_at(interface)
        if user is None:
            raise HTTPException(404, f"interface: no one is signed in at {interface}")
        return user

    @router.post(
        "/api/v1/seats/{interface:path}/pause",
        response_model=SeatStateOut,
        responses=NOT_SIGNED_IN,
    )
    async def force_pause(
        interface: Interface, body: ForcedPauseIn, who: SignedIn = Depends(supervisor)
    ) -> SeatStateOut:
        """Pause an operator's seat (supervisor; audited as ``seat.pause``)."""
        code = code_of(body.code or seats().pause_codes.supervisor_code, by_operator=False)
        user = holder(interface)
        async with asterisk_errors():
            view = await seats().pause(user, code)
        detail = {"operator": user, "code": code}
        await audit_seat_action(auth, who, "seat.pause", interface, detail)
        return _out(view, seats())

    @router.post(
        "/api/v1/seats/{interface:path}/sign-out",
        response_model=SeatStateOut,
        responses=NOT_SIGNED_IN,
    )
    async def force_sign_out(
        interface: Interface, who: SignedIn = Depends(supervisor)
    ) -> SeatStateOut:
        """Sign an operator out of their seat (supervisor; audited as ``seat.sign_out``)."""
        user = holder(interface)
        async with asterisk_errors():
            view = await seats().sign_out(user)
        await audit_seat_action(auth, who, "seat.sign_out", interface, {"operator": user})
        return _out(view, seats())

    return router
