"""The seat lifecycle against the real Asterisk, through the HTTP API: an operator signs in
(QueueAdd of each skill queue with its penalty), pauses with a coded reason (QueuePause) and
signs out (QueueRemove); Asterisk's own QueueStatus says each step happened, and each answer
is what Asterisk's events confirmed. Asterisk refusing is a 409 carrying its message."""

from __future__ import annotations

import httpx
import pytest

from agents.roles import Role
from hotline.app import create_app
from pbx.gateway import AmiGateway
from tests.agents.signin import make_user, tokens

from .people import eventually, seat_interface

pytestmark = pytest.mark.asterisk

SEAT = seat_interface(8001)


async def _members(gw: AmiGateway) -> dict[str, tuple[bool, str]]:
    """Asterisk's QueueStatus of the seat: queue -> (paused, reason)."""
    status = await gw.queue_status()
    return {m.queue: (m.paused, m.paused_reason) for m in status.members if m.interface == SEAT}


async def _penalties(gw: AmiGateway) -> dict[str, str]:
    r = await gw.link.action({"Action": "QueueStatus"}, kind="list")
    return {
        f.get("Queue"): f.get("Penalty")
        for f in r.items
        if f.event == "QueueMember" and f.get("Location") == SEAT
    }


async def test_sign_in_pause_sign_out_on_asterisk(runtime) -> None:
    gw = AmiGateway(runtime.link)
    # zhangwei (config/skills.yaml): general {hotline: 0} and urgent {urgent: 0, hotline: 1}
    await make_user(runtime.sessions, "zhangwei", Role.OPERATOR, seat=SEAT)
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        c.headers["Authorization"] = f"Bearer {(await tokens(c, 'zhangwei'))['access_token']}"

        r = await c.post("/api/v1/me/seat/sign-in", json={})
        assert r.status_code == 200, r.text
        assert (r.json()["state"], r.json()["pending"]) == ("ready", None)
        assert await _members(gw) == {"hotline": (False, ""), "urgent": (False, "")}
        assert await _penalties(gw) == {"hotline": "0", "urgent": "0"}

        r = await c.post("/api/v1/me/seat/pause", json={"code": "lunch"})
        assert r.status_code == 200, r.text
        assert (r.json()["state"], r.json()["reason"], r.json()["pending"]) == (
            "paused",
            "lunch",
            None,
        )
        assert await _members(gw) == {"hotline": (True, "lunch"), "urgent": (True, "lunch")}

        r = await c.post("/api/v1/me/seat/ready")
        assert r.status_code == 200 and r.json()["state"] == "ready"
        assert await _members(gw) == {"hotline": (False, ""), "urgent": (False, "")}

        r = await c.post("/api/v1/me/seat/sign-out")
        assert r.status_code == 200 and r.json()["state"] == "signed_out", r.text
        assert await _members(gw) == {}

        # signed in again, then taken out of every queue behind our back: Asterisk refuses
        # the pause, and the 409 says what it said; the seat shows what Asterisk has
        assert (await c.post("/api/v1/me/seat/sign-in", json={})).status_code == 200
        await gw.remove_member("hotline", SEAT)
        await gw.remove_member("urgent", SEAT)
        await eventually(lambda: SEAT not in runtime.controller.seats.seats, what="removed")
        r = await c.post("/api/v1/me/seat/pause", json={"code": "meeting"})
        assert r.status_code == 409, r.text
        assert r.json()["detail"] == "Asterisk refused QueuePause: Interface not found"
        r = await c.get("/api/v1/me/seat")
        assert (r.json()["state"], r.json()["pending"]) == ("signing_in", "ready")
