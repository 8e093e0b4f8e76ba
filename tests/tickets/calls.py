"""Tickets for the routing, supervision and callback tests: answered calls made into tickets,
and taken along the lifecycle to where a test starts (dispatched, replied)."""

from __future__ import annotations

from datetime import datetime

from tickets import lifecycle as lc
from tickets import workflow
from tickets.service import TicketDraft, create_tickets

CALLER = "13812345678"
DISPATCHER = lc.Actor("disp1", lc.Party.DISPATCHER)


def answered(
    at: datetime, callers: list[str] | None = None, *, n: int = 1, prefix: str = "1795000000"
) -> list[TicketDraft]:
    """One answered call (to be routed) per caller, or ``n`` of :data:`CALLER`."""
    return [
        TicketDraft(
            linkedid=f"{prefix}.{i}",
            call_uniqueid=f"{prefix}.{i}",
            caller_num=num,
            caller_name="张伟",
            queue="hotline",
            seat="SIP/8001",
            joined_at=at,
            answered_at=at,
            ended_at=at,
            kind="complaint",
            resolved_on_call=False,
        )
        for i, num in enumerate(callers if callers is not None else [CALLER] * n)
    ]


async def ticket_numbers(sessions, drafts: list[TicketDraft]) -> list[str]:  # type: ignore[no-untyped-def]
    async with sessions() as s:
        return [t.number for t in await create_tickets(s, drafts)]


async def replied(sessions, numbers: list[str], at: datetime, department: str = "water") -> None:  # type: ignore[no-untyped-def]
    """Dispatch each ticket to ``department``, accept it there and reply: a callback is due."""
    dept = lc.Actor(f"{department}1", lc.Party.DEPARTMENT, department=department)
    for number in numbers:
        for what, actor, data in [
            (lc.Step.DISPATCH, DISPATCHER, workflow.StepData(department=department)),
            (lc.Step.ACCEPT, dept, None),
            (lc.Step.REPLY, dept, workflow.StepData(note="已处理")),
        ]:
            async with sessions() as s:
                await workflow.take_step(s, number, what, actor, at, data)
