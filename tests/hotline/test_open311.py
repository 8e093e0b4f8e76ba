"""Open311 GeoReport v2: the catalogue's matters as services (open), requests created as web
tickets by a signed-in system account and read back with the standard's open/closed and the
ticket's own state in the extension field."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import httpx

from agents.roles import Role
from config.settings import Settings
from hotline.app import create_app
from tests.agents.signin import make_user, tokens
from tickets import lifecycle as lc
from tickets import workflow
from tickets.db import session_factory

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def test_services_requests_and_their_states(engine) -> None:
    sessions = session_factory(engine)
    await make_user(sessions, "city-app", Role.OPERATOR)
    runtime = SimpleNamespace(
        sessions=sessions, now=lambda: NOW.timestamp(), settings=Settings(_env_file=None)
    )
    app = create_app(runtime)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        services = (await client.get("/open311/v2/services.json")).json()
        assert len(services) >= 300
        pipe = next(s for s in services if s["service_code"] == "GS-001")
        assert (pipe["service_name"], pipe["group"]) == ("停水与供水故障", "杭州市水务集团")
        assert "停水" in pipe["keywords"].split(",") and pipe["type"] == "realtime"
        r = await client.get("/open311/v2/services/GS-001.json")
        assert r.json() == {"service_code": "GS-001", "attributes": []}
        assert (await client.get("/open311/v2/services/NOPE.json")).status_code == 404

        form = {
            "service_code": "GS-001",
            "description": "整栋楼停水一天了",
            "address_string": "西湖区文三路1号",
            "phone": "13812345678",
            "first_name": "伟",
            "last_name": "张",
        }
        assert (await client.post("/open311/v2/requests.json", data=form)).status_code == 401
        token = (await tokens(client, "city-app"))["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        r = await client.post(
            "/open311/v2/requests.json", data={**form, "service_code": "NOPE"}, headers=auth
        )
        assert r.status_code == 422 and "service_code" in r.json()["detail"]
        r = await client.post(
            "/open311/v2/requests.json", data={**form, "description": " "}, headers=auth
        )
        assert r.status_code == 422 and "description" in r.text
        r = await client.post("/open311/v2/requests.json", data=form, headers=auth)
        assert r.status_code == 201, r.text
        (created,) = r.json()
        number = created["service_request_id"]

        r = await client.get(f"/open311/v2/requests/{number}.json", headers=auth)
        (got,) = r.json()
        assert (got["status"], got["extended_attributes"], got["service_code"]) == (
            "open",
            {"state": "awaiting_routing"},
            "GS-001",
        )
        assert got["description"] == "整栋楼停水一天了" and "13812345678" not in r.text
        async with sessions() as s:
            await workflow.take_step(
                s,
                number,
                lc.Step.DISPATCH,
                lc.Actor("disp1", lc.Party.DISPATCHER),
                NOW,
                workflow.StepData(department="water_supply", matter="GS-001"),
            )
        r = await client.get(
            "/open311/v2/requests.json",
            params={"service_request_id": number, "status": "open"},
            headers=auth,
        )
        (got,) = r.json()
        assert got["agency_responsible"] == "杭州市水务集团"
        assert got["extended_attributes"] == {"state": "dispatched"}
        assert got["expected_datetime"] is not None
        r = await client.get("/open311/v2/requests.json", params={"status": "closed"}, headers=auth)
        assert r.json() == []
        r = await client.get(
            "/open311/v2/requests.json", params={"start_date": "2026-11-01T00:00:00"}, headers=auth
        )
        assert r.status_code == 422 and "start_date" in r.text
