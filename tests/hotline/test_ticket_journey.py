"""A ticket of a simulated day goes the whole way: the simulated operators write it during
the call, the routing help suggests its matter, a dispatcher dispatches it (due on China's
calendar: over the National Day holiday, the make-up Saturday counted), the department takes
it from its work queue, accepts and replies, the citizen rates it at the callback survey, and
an operator closes it; every step on its trail."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import httpx
from sqlalchemy import select

from agents.roles import Role
from config.settings import Settings
from hotline.app import create_app
from hotline.simulation import run_simulation
from ivr.server import DbIvrDeps
from tests.agents.signin import make_user, tokens
from tickets.db import make_engine, session_factory
from tickets.models import Ticket

#: Wednesday 30 September 2026, 10:00 at the centre: the day before the National Day holiday.
NOW = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)


async def test_a_simulated_days_ticket_is_dispatched_handled_called_back_and_closed(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'day.db'}"
    summary = await run_simulation(
        Settings(_env_file=None),
        seats=4,
        calls=30,
        hours=0.05,
        speed=1000.0,
        seed=7,
        talk_mean=60.0,
        patience_mean=300.0,
        wrapup=5.0,
        ring=1.0,
        database_url=url,
        progress=False,
    )
    assert summary["submitted_by_operators"] == summary["tickets"] > 0
    engine = make_engine(url)
    sessions = session_factory(engine)
    try:
        async with sessions() as s:
            ticket = await s.scalar(
                select(Ticket).where(Ticket.status == "awaiting_routing").order_by(Ticket.id)
            )
        assert ticket is not None and ticket.description  # the operator's words
        runtime = SimpleNamespace(
            sessions=sessions, now=lambda: NOW.timestamp(), settings=Settings(_env_file=None)
        )
        app = create_app(runtime)  # type: ignore[arg-type]
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:

            async def as_(name: str, role: Role, department: str | None = None) -> dict:
                await make_user(sessions, name, role, department=department)
                token = (await tokens(client, name))["access_token"]
                return {"Authorization": f"Bearer {token}"}

            dispatcher = await as_("disp1", Role.DISPATCHER)
            r = await client.post(
                "/api/v1/routing/suggestions", json={"text": ticket.description}, headers=dispatcher
            )
            top = r.json()["suggestions"][0]
            steps = f"/api/v1/tickets/{ticket.number}/steps"
            r = await client.post(
                steps,
                json={"step": "dispatch", "matter": top["code"], "limit_days": 5},
                headers=dispatcher,
            )
            assert r.status_code == 200, r.text
            assert r.json()["lead_department"] == top["department_code"]
            # 5 working days from Wed 30 Sep: Thu 8, Fri 9, Sat 10 (made a working day),
            # Mon 12, Tue 13 October: due at the end of Tuesday 13 October, UTC+8
            assert r.json()["deadline"]["due_at"] == "2026-10-13T16:00:00+00:00"

            dept = await as_("dept1", Role.DEPARTMENT, top["department_code"])
            r = await client.post("/api/v1/department/queue/take", headers=dept)
            assert r.status_code == 200 and r.json()["number"] == ticket.number
            mine = f"/api/v1/department/tickets/{ticket.number}/steps"
            for body in ({"step": "accept"}, {"step": "reply", "note": "已派员现场处理完毕"}):
                r = await client.post(mine, json=body, headers=dept)
                assert r.status_code == 200, r.text

            # the citizen keys 1 (satisfied) in the callback survey
            ivr = DbIvrDeps(sessions, now=NOW.timestamp)
            assert await ivr.record_callback(ticket.number, 1) == "applied"

            operator = await as_("op9", Role.OPERATOR)
            r = await client.post(steps, json={"step": "close"}, headers=operator)
            assert r.status_code == 200 and r.json()["status"] == "closed"
            r = await client.get(steps, headers=operator)
            assert [(s["step"], s["to_state"]) for s in r.json()] == [
                ("dispatch", "dispatched"),
                ("accept", "accepted"),
                ("reply", "replied"),
                ("call_back", "called_back"),
                ("close", "closed"),
            ]
            r = await client.post(
                "/api/v1/public/lookup",
                json={"number": ticket.number, "phone_last4": ticket.caller_num[-4:]},
            )
            assert (r.json()["status"], r.json()["status_text"]) == ("closed", "已办结")
    finally:
        await engine.dispose()
