"""``GET /api/v1/reports/monthly`` on SQLite and PostgreSQL: supervisors (and admins) get the
seeded month's hand counts as JSON, CSV, HTML and PDF; operators, dispatchers and department
users are refused; a bad month is a problem naming it."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest

from agents.roles import Role
from config.settings import Settings
from hotline.app import PROBLEM, create_app
from tests.agents.signin import sign_in
from tests.metrics.month import AS_OF, EXPECTED, MONTH, seed
from tests.metrics.report_font import font_or_skip
from tickets.db import session_factory

URL = "/api/v1/reports/monthly"


async def test_supervisors_get_the_month_and_no_one_else(engine) -> None:
    sessions = session_factory(engine)
    await seed(sessions)
    runtime = SimpleNamespace(
        sessions=sessions, now=lambda: AS_OF.timestamp(), settings=Settings(_env_file=None)
    )
    transport = httpx.ASGITransport(app=create_app(runtime))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get(URL, params={"month": MONTH})).status_code == 401
        for role in (Role.OPERATOR, Role.DISPATCHER, Role.DEPARTMENT):
            await sign_in(client, sessions, role)
            r = await client.get(URL, params={"month": MONTH})
            assert r.status_code == 403, role
        await sign_in(client, sessions, Role.SUPERVISOR)

        r = await client.get(URL, params={"month": MONTH})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["month"] == MONTH and body["as_of"].startswith("2026-11-30T16:00")
        rows = {d["department"]: d for d in body["departments"]}
        for dept, counts in EXPECTED.items():
            assert {k: rows[dept][k] for k in counts} == counts, dept
        assert [(d["department"], d["rank"]) for d in body["departments"]] == [
            ("urban", 1),
            ("water", 2),
        ]
        assert rows["water"]["name"] == "杭州市林业水利局"
        assert rows["water"]["completion_on_time"] == pytest.approx(0.6)
        centre = body["centre"]
        assert (centre["offered"], centre["answered"], centre["answer_rate"]) == (10, 8, 0.8)
        assert centre["instant_resolution"] == 0.25 and centre["dispatched"] == 8

        r = await client.get(URL, params={"month": MONTH, "format": "csv"})
        assert r.headers["content-type"].startswith("text/csv")
        lines = r.text.splitlines()
        assert lines[0].startswith("rank,department,name,dispatched")
        assert lines[1].startswith("1,urban,杭州市城市管理局,2,") and lines[-1].startswith(
            ",centre,"
        )

        for bad in ("2026-13", "1999-01"):
            r = await client.get(URL, params={"month": bad})
            assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
            assert f"month: {bad!r} is not a month" in r.json()["detail"]
        r = await client.get(URL, params={"month": "2026-1"})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "month"]
        r = await client.get(URL, params={"month": MONTH, "format": "xlsx"})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "format"]

        font_or_skip()
        r = await client.get(URL, params={"month": MONTH, "format": "html"})
        assert r.headers["content-type"].startswith("text/html")
        assert r.text.count("data:image/png;base64,") == 2 and "杭州市林业水利局" in r.text
        r = await client.get(URL, params={"month": MONTH, "format": "pdf"})
        assert r.headers["content-type"] == "application/pdf"
        assert r.content.startswith(b"%PDF-")
