"""The live state the call-control routes (``agents.call_control_api``) read, joined here from
what three parts know: the controller's books (Asterisk's seats and the calls talking at
them, and since when each seat is in its state), the seat lifecycle (who is signed in where,
the pause codes) and the gateway. Only the composition root may know all three.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from agents.authentication import SignedIn
from agents.call_control_api import BoardSeat, LiveCall
from pbx.gateway import Gateway

if TYPE_CHECKING:
    from hotline.runtime import Runtime

__all__ = ["RuntimeCallControl"]


class RuntimeCallControl:
    """:class:`agents.call_control_api.CallControl` over a runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def now(self) -> float:
        return self.runtime.now()

    def gateway(self) -> Gateway | None:
        return self.runtime.gateway

    def seat_of(self, who: SignedIn) -> str | None:
        """Where the operator is signed in now, else their account's seat."""
        shift = self.runtime.seat_lifecycle.book.of_user(who.username)
        return shift.interface if shift is not None else who.seat

    def call_at(self, interface: str) -> LiveCall | None:
        controller = self.runtime.controller
        seat = controller.seats.seats.get(interface)
        uid = seat.call if seat is not None else None
        call = controller.calls.talking.get(uid) if uid is not None else None
        if call is None or call.answered_at is None:
            return None
        return LiveCall(call.uniqueid, call.linkedid, call.queue, call.answered_at, call.channel)

    def queues(self) -> Collection[str]:
        """The queues Asterisk listed at the last resync, and those calls were seen in."""
        calls = self.runtime.controller.calls
        return {*calls.pbx_base, *calls.stats}

    def board(self) -> list[BoardSeat]:
        controller, lifecycle = self.runtime.controller, self.runtime.seat_lifecycle
        now = self.now()
        out = []
        for iface, seat in sorted(controller.seats.seats.items()):
            state = seat.state(now)
            out.append(
                BoardSeat(
                    interface=iface,
                    name=seat.name,
                    operator=lifecycle.user_at(iface),
                    state=state,
                    reason=seat.paused_reason if state == "paused" else "",
                    since=controller.seat_since(iface, now),
                    queues=sorted(seat.queues),
                    calls_taken=seat.calls_taken,
                    call=self.call_at(iface),
                )
            )
        return out

    def reason_label(self, code: str) -> str:
        found = self.runtime.seat_lifecycle.pause_codes.get(code)
        return found.label if found is not None else ""
