"""The seat lifecycle against the real Asterisk, through the HTTP API: an operator signs in
(QueueAdd of each skill queue with its penalty), pauses with a coded reason (QueuePause) and
signs out (QueueRemove); Asterisk's own QueueStatus says each step happened, and each answer
is what Asterisk's events confirmed. Asterisk refusing is a 409 carrying its message."""

from __future__ import annotations

import asyncio

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


async def test_the_seats_come_back_after_asterisk_restarts(runtime, pbx) -> None:
    """Asterisk (persistentmembers = no) forgets its dynamic members and their pause reasons
    on a restart; after the controller's resync they are back, paused with their reason."""
    gw = AmiGateway(runtime.link)
    other = seat_interface(8002)
    await make_user(runtime.sessions, "zhangwei", Role.OPERATOR, seat=SEAT)
    await make_user(runtime.sessions, "op2", Role.OPERATOR, seat=other)
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        for user in ("zhangwei", "op2"):
            token = (await tokens(c, user))["access_token"]
            c.headers["Authorization"] = f"Bearer {token}"
            assert (await c.post("/api/v1/me/seat/sign-in", json={})).status_code == 200
        r = await c.post("/api/v1/me/seat/pause", json={"code": "training"})  # op2
        assert r.status_code == 200 and r.json()["reason"] == "training"
        assert (await gw.queue_status()).members  # they are in

        restarts = runtime.controller.restarts
        await asyncio.to_thread(pbx.restart)
        await eventually(
            lambda: runtime.controller.restarts > restarts and runtime.ami_connected,
            30,
            "the controller resynced after the restart",
        )

        async def members() -> dict[tuple[str, str], tuple[bool, str]]:
            status = await AmiGateway(runtime.link).queue_status()
            return {(m.interface, m.queue): (m.paused, m.paused_reason) for m in status.members}

        want = {
            (SEAT, "hotline"): (False, ""),
            (SEAT, "urgent"): (False, ""),
            (other, "hotline"): (True, "training"),
        }
        got: dict = {}
        for _ in range(100):
            got = await members()
            if got == want:
                break
            await asyncio.sleep(0.1)
        assert got == want
        assert runtime.seat_lifecycle.restores >= 1  # Asterisk had forgotten: we sent them
        r = await c.get("/api/v1/me/seat")  # op2
        assert (r.json()["state"], r.json()["reason"], r.json()["pending"]) == (
            "paused",
            "training",
            None,
        )
