"""The operator's desk end to end against the embedded PBX: sign in through the accounts API,
open the live stream (a WebSocket on a real uvicorn), a call connects at the seat, the screen
pop arrives with the masked number, the IVR's path and the caller's earlier tickets, the draft
is filled and submitted (idempotently), and the call's ticket is stored with the operator's
kind and outcome; a desktop that reconnects resumes without a gap."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from agents.roles import Role
from config.settings import Settings
from hotline.app import create_app
from hotline.runtime import Runtime
from pbx.simulator import SimulatorConfig
from tests.agents.signin import make_user, tokens
from tests.hotline.desk_setup import CALLER, SEAT, desk_runtime, earlier_tickets, place_call, serve
from tickets.models import Ticket

pytestmark = pytest.mark.e2e


async def _next(ws, kind: str, timeout: float = 20.0) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            msg = json.loads(await ws.recv())
            if msg["kind"] == kind:
                return msg


async def test_screen_pop_draft_and_ticket_over_the_live_stream(tmp_path: Path) -> None:
    rt = desk_runtime(tmp_path)
    await rt.start()
    server, serving, port = await serve(create_app(rt))
    try:
        assert rt.sessions is not None and rt.gateway is not None
        await make_user(rt.sessions, "op1", Role.OPERATOR, seat=SEAT)
        await make_user(rt.sessions, "nobody", Role.OPERATOR)
        await earlier_tickets(rt)
        base = f"http://127.0.0.1:{port}"
        url = f"ws://127.0.0.1:{port}/api/v1/me/stream"
        async with httpx.AsyncClient(base_url=base, timeout=20.0) as http:
            token = (await tokens(http, "op1"))["access_token"]
            seatless = (await tokens(http, "nobody"))["access_token"]
            http.headers["Authorization"] = f"Bearer {token}"

            # refusals: a clear close code each
            for protocols, code in (
                (None, 4401),
                (["bearer", "not-a-token"], 4401),
                (["bearer", seatless], 4403),
            ):
                async with connect(url, subprotocols=protocols) as bad:
                    with pytest.raises(ConnectionClosed) as closed:
                        await bad.recv()
                    assert closed.value.rcvd.code == code, protocols

            async with connect(url, subprotocols=["bearer", token]) as ws:
                assert ws.subprotocol == "bearer"
                snap = json.loads(await ws.recv())
                assert snap["kind"] == "snapshot" and snap["seat"] == SEAT
                assert snap["state"] == "ready" and snap["call"] is None

                await place_call(rt, caller_id=f'"张伟" <{CALLER}>', talk_s=60)
                rung = await _next(ws, "rung")
                pop = await _next(ws, "connected")
                assert pop["seq"] > rung["seq"] > snap["seq"]
                assert pop["caller"] == "138****5678" and "caller_number" not in pop
                assert CALLER not in json.dumps(pop)
                assert pop["caller_name"] == "张伟"
                assert pop["linkedid"] and pop["call"] and pop["draft"] is True
                assert pop["waited_s"] >= 0
                assert [t["kind"] for t in pop["earlier_tickets"]] == ["report", "complaint"]
                assert pop["repeat_caller"] is True  # the newest is 3 days old
                assert pop["ivr"] is not None and pop["ivr"]["language"]
                assert pop["ivr"]["queue"]
                call = pop["call"]

                # the draft was stored at connect; fill it, then submit (twice: same answer)
                draft = (await http.get(f"/api/v1/me/drafts/{call}")).json()
                assert draft["status"] == "open" and draft["seat"] == SEAT
                assert draft["ticket"] is None  # written when the call ends
                r = await http.patch(f"/api/v1/me/drafts/{call}", json={"kind": "gossip"})
                assert r.status_code == 422 and "kind" in r.json()["detail"]
                r = await http.patch(
                    f"/api/v1/me/drafts/{call}",
                    json={"kind": "consultation", "district": "鼓楼区"},
                )
                assert r.status_code == 200, r.text
                body = {"description": "问社保卡补办", "answer": "带身份证去社保网点"}
                missing = await http.post(f"/api/v1/me/drafts/{call}/submit", json=body)
                assert missing.status_code == 422  # no Idempotency-Key
                key = {"Idempotency-Key": "submit-1"}
                first = await http.post(f"/api/v1/me/drafts/{call}/submit", json=body, headers=key)
                again = await http.post(f"/api/v1/me/drafts/{call}/submit", json=body, headers=key)
                assert first.status_code == again.status_code == 200, first.text
                assert first.json() == again.json()
                assert first.json()["resolved_on_call"] is True
                changed = await http.post(
                    f"/api/v1/me/drafts/{call}/submit",
                    json={**body, "answer": None},
                    headers=key,
                )
                assert changed.status_code == 409
                other = await http.get("/api/v1/me/drafts/1.1")
                assert other.status_code == 404

                last = (await _next(ws, "ended", timeout=30.0))["seq"]

            # reconnect: resume after the rung, the missed messages come in order
            async with connect(f"{url}?after={rung['seq']}", subprotocols=["bearer", token]) as ws:
                replay = [json.loads(await ws.recv()) for _ in range(last - rung["seq"])]
                assert [m["seq"] for m in replay] == list(range(rung["seq"] + 1, last + 1))
                assert replay[[m["kind"] for m in replay].index("connected")]["call"] == call

            # supervisors see no incomplete draft: it was submitted
            r = await http.get("/api/v1/drafts?status=incomplete")
            assert r.status_code == 403  # an operator may not list them

        await rt.settle()
        async with rt.sessions() as s:
            t = await s.scalar(select(Ticket).where(Ticket.call_uniqueid == call))
        assert t is not None
        assert (t.kind, t.resolved_on_call, t.status) == ("consultation", True, "resolved")
        assert t.linkedid == pop["linkedid"]
        async with httpx.AsyncClient(base_url=base, timeout=20.0) as http:
            http.headers["Authorization"] = f"Bearer {token}"
            draft = (await http.get(f"/api/v1/me/drafts/{call}")).json()
        assert draft["ticket"] == t.number  # where the articles that helped are recorded
        assert rt.controller.resolved_on_call == 1 and rt.controller.calls_ended == 1
    finally:
        server.should_exit = True
        await serving
        await rt.stop()


async def test_a_draft_left_past_the_wrap_up_limit_is_incomplete_and_listed(
    tmp_path: Path,
) -> None:
    rt = Runtime(
        Settings(
            _env_file=None,
            spool_dir=tmp_path / "spool",
            draft_sweep_s=3600.0,  # swept by hand below, on the PBX's (injected) clock
            draft_wrapup_limit_s=5.0,
        ),
        database_url=f"sqlite:///{tmp_path / 'desk.db'}",
        simulation=SimulatorConfig(seats=1, speed=20.0, seed=6, ivr=False),
        agi_port=0,
    )
    await rt.start()
    server, serving, port = await serve(create_app(rt))
    try:
        assert rt.sessions is not None and rt.gateway is not None
        await make_user(rt.sessions, "op1", Role.OPERATOR, seat=SEAT)
        await make_user(rt.sessions, "boss", Role.SUPERVISOR)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20.0) as http:
            token = (await tokens(http, "op1"))["access_token"]
            boss = (await tokens(http, "boss"))["access_token"]
            async with connect(
                f"ws://127.0.0.1:{port}/api/v1/me/stream", subprotocols=["bearer", token]
            ) as ws:
                await _next(ws, "snapshot")
                await place_call(rt, caller_id="<>", talk_s=20)
                pop = await _next(ws, "connected")
                assert pop["caller"] == "" and pop["earlier_tickets"] == []
                assert pop["ivr"] is None  # this PBX ran no IVR for the call
                ended = await _next(ws, "ended", timeout=30.0)
                await rt.settle()
                assert await rt.desk.sweep() == 0  # within the limit
                # the PBX's clock runs 20x: 5 virtual seconds are a quarter of a real one
                await asyncio.sleep(max(0.0, ended["at"] + 5.0 - rt.now()) / 20.0 + 0.1)
                assert await rt.desk.sweep() == 1
                note = await _next(ws, "draft_incomplete")
                assert note["call"] == pop["call"]
            r = await http.get(
                "/api/v1/drafts?status=incomplete", headers={"Authorization": f"Bearer {boss}"}
            )
            assert r.status_code == 200
            assert [d["call"] for d in r.json()] == [pop["call"]]
        async with rt.sessions() as s:
            t = await s.scalar(select(Ticket).where(Ticket.call_uniqueid == pop["call"]))
        # nobody classified it: the operator, not the simulated one, was at the seat
        assert (t.kind, t.resolved_on_call) == ("unclassified", False)
        assert rt.controller.resolved_on_call == 0
    finally:
        server.should_exit = True
        await serving
        await rt.stop()
