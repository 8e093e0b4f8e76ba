"""Routing tickets over HTTP: a dispatcher dispatches, a department takes from its work queue,
accepts and replies, the centre calls back; each person only where their role and department
allow, every refusal naming what was wrong, nothing half stored."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
from sqlalchemy import func, select

from agents.roles import Role
from config.settings import Settings
from hotline.app import create_app
from tests.agents.signin import make_user, tokens
from tests.tickets.calls import answered
from tickets.db import session_factory
from tickets.models import Ticket, TicketStep
from tickets.service import TicketDraft, create_tickets

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 at the centre


def _calls(n: int) -> list[TicketDraft]:
    return answered(NOW, n=n)


async def test_a_ticket_goes_through_dispatch_a_department_and_the_callback(engine) -> None:
    sessions = session_factory(engine)
    async with sessions() as s:
        first, second = [t.number for t in await create_tickets(s, _calls(2))]
    people = {
        "op1": (Role.OPERATOR, None),
        "disp1": (Role.DISPATCHER, None),
        "water1": (Role.DEPARTMENT, "water"),
        "water2": (Role.DEPARTMENT, "water"),
        "housing1": (Role.DEPARTMENT, "housing"),
    }
    for name, (role, dept) in people.items():
        await make_user(sessions, name, role, department=dept)
    runtime = SimpleNamespace(
        sessions=sessions, now=lambda: NOW.timestamp(), settings=Settings(_env_file=None)
    )
    app = create_app(runtime)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        auth = {}
        for name in people:
            token = (await tokens(client, name))["access_token"]
            auth[name] = {"Authorization": f"Bearer {token}"}

        async def post(who: str, path: str, body: dict | None = None) -> httpx.Response:
            return await client.post(path, json=body, headers=auth[who])

        # an operator does not dispatch; a dispatcher must name the department
        r = await post("op1", f"/api/v1/tickets/{first}/steps", {"step": "dispatch"})
        assert r.status_code == 403 and "taken by dispatcher" in r.json()["detail"]
        r = await post("disp1", f"/api/v1/tickets/{first}/steps", {"step": "dispatch"})
        assert r.status_code == 422 and "department: required" in r.json()["detail"]
        r = await post("disp1", f"/api/v1/tickets/{first}/steps", {"step": "dispatch", "x": 1})
        assert r.status_code == 422 and "x" in r.text
        r = await client.get("/api/v1/dispatch/queue", headers=auth["disp1"])
        assert [t["number"] for t in r.json()] == [first, second]
        assert r.json()[0]["allowed_steps"] == ["dispatch", "merge"]
        for bad, field in [
            ({"department": "nowhere"}, "department: 'nowhere' is not a department"),
            ({"department": "water", "assisting": ["x"]}, "assisting: 'x' is not"),
            ({"matter": "ZZ-999"}, "matter: 'ZZ-999' is not a matter"),
        ]:
            r = await post("disp1", f"/api/v1/tickets/{first}/steps", {"step": "dispatch", **bad})
            assert r.status_code == 422 and field in r.json()["detail"], r.text
        # the matter names its department (林水局) and its limit (10 days); the limit is set here
        r = await post(
            "disp1",
            f"/api/v1/tickets/{first}/steps",
            {"step": "dispatch", "matter": "SL-002", "limit_days": 2},
        )
        assert r.status_code == 200, r.text
        dispatched = r.json()
        assert (dispatched["status"], dispatched["lead_department"]) == ("dispatched", "water")
        assert dispatched["matter"] == "SL-002"
        assert dispatched["deadline"]["due_at"] == "2026-11-25T16:00:00+00:00"  # end of Wed
        assert dispatched["caller"] == "138****5678"

        # only water sees it; two of water take from the queue: one gets it, one gets nothing
        r = await client.get("/api/v1/department/tickets", headers=auth["housing1"])
        assert r.status_code == 200 and r.json() == []
        r = await client.get(f"/api/v1/department/tickets/{first}", headers=auth["housing1"])
        assert r.status_code == 404
        r = await post("housing1", f"/api/v1/department/tickets/{first}/steps", {"step": "accept"})
        assert r.status_code == 404
        r = await post("water1", "/api/v1/department/queue/take")
        assert r.status_code == 200 and r.json()["claimed_by"] == "water1"
        r = await post("water2", "/api/v1/department/queue/take")
        assert r.status_code == 204
        r = await client.get("/api/v1/dispatch/queue", headers=auth["water1"])
        assert r.status_code == 403  # a department does not see the centre's queue

        steps = f"/api/v1/department/tickets/{first}/steps"
        r = await post("water1", steps, {"step": "close"})
        assert r.status_code == 422 and r.json()["detail"].startswith("step:")
        r = await post("water1", steps, {"step": "reply"})
        assert r.status_code == 409 and "cannot reply a ticket that is dispatched" in r.text
        assert (await post("water1", steps, {"step": "accept"})).status_code == 200
        r = await post("water1", steps, {"step": "reply"})
        assert r.status_code == 422 and "note (the reply): required" in r.text
        r = await post("water1", steps, {"step": "reply", "note": "水管已更换"})
        assert r.status_code == 200 and r.json()["deadline"] is None

        r = await post("op1", f"/api/v1/tickets/{first}/steps", {"step": "call_back"})
        assert r.status_code == 422 and "rating" in r.json()["detail"]
        r = await post(
            "op1", f"/api/v1/tickets/{first}/steps", {"step": "call_back", "rating": "dissatisfied"}
        )
        assert r.status_code == 200 and r.json()["status"] == "reopened"
        r = await client.get("/api/v1/dispatch/queue", headers=auth["disp1"])
        assert [t["number"] for t in r.json()] == [first, second]  # reopened first

        r = await client.get(f"/api/v1/tickets/{first}/steps", headers=auth["op1"])
        trail = r.json()
        assert [(s["actor"], s["step"]) for s in trail] == [
            ("disp1", "dispatch"),
            ("water1", "accept"),
            ("water1", "reply"),
            ("op1", "call_back"),
        ]
        assert trail[2]["note"] == "水管已更换"
    async with sessions() as s:  # the refused requests stored nothing
        assert await s.scalar(select(func.count()).select_from(TicketStep)) == 4


async def test_tickets_from_other_channels_come_in_once_and_repeats_are_linked(engine) -> None:
    sessions = session_factory(engine)
    await make_user(sessions, "op1", Role.OPERATOR)
    await make_user(sessions, "disp1", Role.DISPATCHER)
    runtime = SimpleNamespace(
        sessions=sessions, now=lambda: NOW.timestamp(), settings=Settings(_env_file=None)
    )
    app = create_app(runtime)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        op = {"Authorization": f"Bearer {(await tokens(client, 'op1'))['access_token']}"}
        letter = {
            "channel": "letter",
            "kind": "complaint",
            "description": "小区门口夜间施工噪音",
            "caller_num": "13812345678",
            "matter": "construction-noise",
        }

        async def post(body: dict, key: str) -> httpx.Response:
            return await client.post(
                "/api/v1/tickets", json=body, headers={**op, "Idempotency-Key": key}
            )

        for bad, field in [
            ({**letter, "channel": "phone"}, "channel"),
            ({**letter, "kind": "unclassified"}, "kind"),
            ({**letter, "description": ""}, "description"),
            ({**letter, "caller_num": "abc"}, "caller_num"),
        ]:
            r = await post(bad, "bad")
            assert r.status_code == 422 and field in r.text, (field, r.text)
        r = await client.post("/api/v1/tickets", json=letter, headers=op)
        assert r.status_code == 422 and "idempotency-key" in r.text.lower()
        first = await post(letter, "k1")
        assert first.status_code == 201, first.text
        assert (first.json()["status"], first.json()["repeat_of"]) == ("awaiting_routing", None)
        again = await post(letter, "k1")
        assert again.status_code == 200 and again.json()["number"] == first.json()["number"]
        r = await post({**letter, "description": "另一件事"}, "k1")
        assert r.status_code == 409
        second = await post({**letter, "channel": "web"}, "k2")  # the same matter again
        assert second.status_code == 201 and second.json()["repeat_of"] is not None
        visit = {**letter, "channel": "visit", "matter": None, "answer": "已当场解释政策"}
        r = await post(visit, "k3")
        assert r.status_code == 201 and r.json()["status"] == "resolved"
        number = first.json()["number"]
        r = await client.get(f"/api/v1/tickets/{number}/steps", headers=op)
        assert [(s["actor"], s["step"], s["note"]) for s in r.json()] == [
            ("op1", "route", "channel letter")
        ]
    async with sessions() as s:  # three tickets: the refused and repeated requests added none
        assert await s.scalar(select(func.count()).select_from(Ticket)) == 3


async def test_a_citizen_looks_a_ticket_up_with_the_phones_last_digits_and_learns_nothing_else(
    engine,
) -> None:
    sessions = session_factory(engine)
    async with sessions() as s:
        (number,) = [t.number for t in await create_tickets(s, _calls(1))]
    people_now = [1_800_000_000.0]
    runtime = SimpleNamespace(
        sessions=sessions, now=lambda: NOW.timestamp(), settings=Settings(_env_file=None)
    )
    app = create_app(runtime, people_clock=lambda: people_now[0])  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

        async def ask(last4: str, which: str = number) -> httpx.Response:
            return await client.post(
                "/api/v1/public/lookup", json={"number": which, "phone_last4": last4}
            )

        r = await ask("5678")
        assert r.status_code == 200, r.text
        found = r.json()
        assert (found["status"], found["status_text"]) == ("awaiting_routing", "待转办")
        assert "13812345678" not in r.text and "张伟" not in r.text and "caller" not in found
        assert (await ask("123")).status_code == 422  # four digits, named
        wrong, unknown = await ask("0000"), await ask("5678", "00000026")
        assert wrong.status_code == unknown.status_code == 404
        assert wrong.json()["detail"] == unknown.json()["detail"]  # existence not told
        for _ in range(4):  # five wrong tries in all on this number: locked
            assert (await ask("1111")).status_code == 404
        locked = await ask("5678")  # even the right digits wait now
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
        people_now[0] += 3600
        assert (await ask("5678")).status_code == 200
