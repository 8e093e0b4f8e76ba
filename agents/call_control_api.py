"""During the call, over HTTP: an operator transfers the call at their own seat to another
queue or a department's number, or hangs up; supervisors see every seat on a live board and
listen to, whisper to or barge in on an operator's call (audited).

Asterisk does each: a transfer is an AMI ``Redirect`` of the caller's channel into the shipped
dialplan's ``[hotline-transfer]`` (the channel is the same, so its ``Linkedid``, the thread to
the tickets, is kept); a hang-up is an AMI ``Hangup`` of the operator's channel (the caller
then goes on to the survey, as when the operator hangs up the phone); listening is an AMI
``Originate`` of the supervisor's own phone (their account's seat) into ``[hotline-spy]``,
whose ``ChanSpy`` spies on the operator's device. The answer is 202: Asterisk's events
(``QueueCallerJoin``, ``AgentComplete``, ``ChanSpyStart``) say what happened next, on the
desks' streams and the board. Asterisk refusing is a 409 with its message; the AMI link down
a 503, and nothing is queued for later.

What a call is, and which seat it is at, comes from the composition root
(:class:`CallControl`): the controller's books, which follow Asterisk's events.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema

from agents.authentication import Authenticator, SignedIn
from agents.roles import Role
from agents.seats import SEAT_STATES
from agents.shift_api import ERRORS, Interface, asterisk_errors, audit_seat_action
from pbx.ami_actions import AmiNotConnected
from pbx.gateway import Gateway

__all__ = [
    "SPY_CONTEXT",
    "TRANSFER_CONTEXT",
    "BoardSeat",
    "CallControl",
    "LiveCall",
    "make_router",
    "spy_target",
]

#: The shipped dialplan's contexts (pbx/asterisk/extensions.conf).
TRANSFER_CONTEXT = "hotline-transfer"
SPY_CONTEXT = "hotline-spy"

QUEUE = r"^[A-Za-z0-9_-]{1,64}$"
NUMBER = r"^[0-9]{3,20}$"


@dataclass(frozen=True, slots=True)
class LiveCall:
    """An answered call talking at a seat, as the controller holds it."""

    uniqueid: str
    linkedid: str
    queue: str
    answered_at: float
    #: The caller's channel when the controller knows it ("": ask Asterisk).
    channel: str = ""


@dataclass(frozen=True, slots=True)
class BoardSeat:
    """One seat on the supervisors' board."""

    interface: str
    name: str
    operator: str | None
    state: str
    reason: str
    since: float | None
    queues: list[str]
    calls_taken: int
    call: LiveCall | None


class CallControl(Protocol):
    """What the routes need of the live state (the composition root implements it)."""

    def now(self) -> float: ...
    def gateway(self) -> Gateway | None: ...
    def seat_of(self, who: SignedIn) -> str | None: ...
    def call_at(self, interface: str) -> LiveCall | None: ...
    def queues(self) -> Collection[str]: ...
    def board(self) -> list[BoardSeat]: ...
    def reason_label(self, code: str) -> str: ...


def spy_target(interface: str) -> str:
    """ChanSpy's channel prefix for a seat: its device's channels and only them
    (``SIP/seat8001`` -> ``SIP/seat8001-``, not ``SIP/seat80010-...``; a ``Local`` seat's
    ``/n`` is not part of its channels' names)."""
    return interface.removesuffix("/n") + "-"


class TransferIn(BaseModel):
    """Exactly one of ``queue`` and ``number``."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"minProperties": 1, "maxProperties": 1}
    )

    queue: Annotated[str, StringConstraints(pattern=QUEUE)] | SkipJsonSchema[None] = Field(
        default=None,
        description="A queue of the PBX (a district centre, an expert queue).",
        examples=["xiaoshan"],
    )
    number: Annotated[str, StringConstraints(pattern=NUMBER)] | SkipJsonSchema[None] = Field(
        default=None,
        description="A department's number (digits), dialled out through the trunk.",
        examples=["057187000000"],
    )

    @model_validator(mode="after")
    def _one(self) -> TransferIn:
        if (self.queue is None) == (self.number is None):
            raise ValueError("give either queue or number")
        return self


class CallOut(BaseModel):
    call: str = Field(description="The caller's Uniqueid (the draft's id).")
    linkedid: str
    queue: str = Field(description="The queue the call was answered from.")
    since: float = Field(description="When it was answered (Unix time).")


class TransferOut(BaseModel):
    call: CallOut
    to_queue: str | None
    to_number: str | None


class SpyIn(BaseModel):
    mode: Literal["listen", "whisper", "barge"] = Field(
        description="listen: hear both; whisper: the operator hears you; barge: both do."
    )


class SpyOut(BaseModel):
    interface: str
    mode: str
    phone: str = Field(description="Your phone, rung now; the spying starts when you answer.")
    call: CallOut


class BoardSeatOut(BaseModel):
    interface: str
    name: str
    operator: str | None = Field(description="Who is signed in at the seat (user name).")
    state: str = Field(
        description="on_call, ringing, paused, unavailable, wrapup or ready (Asterisk's)."
    )
    reason: str = Field(description="The pause code (when paused).")
    reason_label: str = ""
    since: float | None = Field(description="When the state began (Unix time); null: unknown.")
    time_in_state_s: float | None = Field(description="Seconds in the state; null: unknown.")
    queues: list[str]
    calls_taken: int
    call: CallOut | None


class BoardOut(BaseModel):
    counts: dict[str, int] = Field(description="Seats in each state (every state named).")
    seats: list[BoardSeatOut]


def _call_out(call: LiveCall) -> CallOut:
    return CallOut(
        call=call.uniqueid, linkedid=call.linkedid, queue=call.queue, since=call.answered_at
    )


NO_CALL = {
    **ERRORS,
    404: {"description": "No such seat."},
    422: {"description": "A field is invalid (it is named)."},
}


def make_router(auth: Authenticator, control: Callable[[], CallControl]) -> APIRouter:
    router = APIRouter(tags=["call"])
    operator = auth.require(Role.OPERATOR)
    supervisor = auth.require(Role.SUPERVISOR)

    def gateway() -> Gateway:
        gw = control().gateway()
        if gw is None:
            raise HTTPException(503, str(AmiNotConnected("the call action")))
        return gw

    def my_call(who: SignedIn) -> tuple[str, LiveCall]:
        seat = control().seat_of(who)
        call = control().call_at(seat) if seat else None
        if seat is None or call is None:
            raise HTTPException(409, "there is no call at your seat")
        return seat, call

    async def channels_of(gw: Gateway, call: LiveCall) -> tuple[str, str | None]:
        """The caller's channel, and the channel bridged with it (the operator's)."""
        async with asterisk_errors():
            listed = await gw.channels()
        mine = next((c for c in listed if c.uniqueid == call.uniqueid), None)
        if mine is None:
            raise HTTPException(409, "the call has ended")
        peer = next(
            (
                c.channel
                for c in listed
                if mine.bridge_id and c.bridge_id == mine.bridge_id and c is not mine
            ),
            None,
        )
        return mine.channel, peer

    @router.post(
        "/api/v1/me/call/transfer", status_code=202, response_model=TransferOut, responses=NO_CALL
    )
    async def transfer(body: TransferIn, who: SignedIn = Depends(operator)) -> TransferOut:
        """Transfer the call at my seat to another queue or a department's number (AMI
        ``Redirect`` of the caller's channel: its Linkedid is kept)."""
        _, call = my_call(who)
        if body.queue is not None:
            known = control().queues()
            if body.queue not in known:
                raise HTTPException(
                    422, f"queue: {body.queue!r} is not a queue of the PBX; one of {sorted(known)}"
                )
            if body.queue == call.queue:
                raise HTTPException(422, f"queue: the call is in {body.queue} already")
            exten = "q" + body.queue
        else:
            exten = "d" + str(body.number)
        gw = gateway()
        channel = call.channel or (await channels_of(gw, call))[0]
        async with asterisk_errors():
            await gw.redirect(channel, context=TRANSFER_CONTEXT, exten=exten)
        return TransferOut(call=_call_out(call), to_queue=body.queue, to_number=body.number)

    @router.post(
        "/api/v1/me/call/hangup", status_code=202, response_model=CallOut, responses=NO_CALL
    )
    async def hangup(who: SignedIn = Depends(operator)) -> CallOut:
        """Hang up the call at my seat (AMI ``Hangup`` of my channel: the caller goes on to
        the satisfaction survey, as when I put the phone down)."""
        _, call = my_call(who)
        gw = gateway()
        caller, mine = await channels_of(gw, call)
        async with asterisk_errors():
            await gw.hangup(mine or caller)
        return _call_out(call)

    @router.get("/api/v1/seats", response_model=BoardOut, tags=["live"])
    async def board(who: SignedIn = Depends(supervisor)) -> BoardOut:
        """Every seat now (supervisor): who is signed in, its state and since when, the pause
        reason, the call it is on."""
        c = control()
        now = c.now()
        seats = c.board()
        counts = dict.fromkeys(SEAT_STATES, 0)
        out = []
        for s in seats:
            counts[s.state] = counts.get(s.state, 0) + 1
            out.append(
                BoardSeatOut(
                    interface=s.interface,
                    name=s.name,
                    operator=s.operator,
                    state=s.state,
                    reason=s.reason,
                    reason_label=c.reason_label(s.reason) if s.reason else "",
                    since=s.since,
                    time_in_state_s=round(max(0.0, now - s.since), 1)
                    if s.since is not None
                    else None,
                    queues=s.queues,
                    calls_taken=s.calls_taken,
                    call=_call_out(s.call) if s.call is not None else None,
                )
            )
        return BoardOut(counts=counts, seats=out)

    @router.post(
        "/api/v1/seats/{interface:path}/spy",
        status_code=202,
        response_model=SpyOut,
        responses=NO_CALL,
    )
    async def spy(interface: Interface, body: SpyIn, who: SignedIn = Depends(supervisor)) -> SpyOut:
        """Listen to, whisper to or barge in on the call at an operator's seat (supervisor;
        audited as ``seat.spy``, before Asterisk is asked): my own phone (my account's seat)
        rings, and spies on the call once I answer, until the call ends or I hang up."""
        phone = who.seat
        if not phone:
            raise HTTPException(422, "seat: your account has no phone to listen on (users.seat)")
        if phone == interface:
            raise HTTPException(422, "interface: that is your own phone")
        call = control().call_at(interface)
        if call is None:
            raise HTTPException(409, f"interface: there is no call at {interface}")
        gw = gateway()
        # audited before Asterisk is asked: a listener is never left out of the log
        detail: dict[str, Any] = {"mode": body.mode, "linkedid": call.linkedid, "phone": phone}
        await audit_seat_action(auth, who, "seat.spy", interface, detail)
        async with asterisk_errors():
            await gw.originate(
                phone,
                context=SPY_CONTEXT,
                exten=body.mode,
                variables={"SPY_TARGET": spy_target(interface)},
            )
        return SpyOut(interface=interface, mode=body.mode, phone=phone, call=_call_out(call))

    return router
