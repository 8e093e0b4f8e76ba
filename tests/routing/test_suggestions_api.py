"""The routing help over HTTP: POST /api/v1/routing/suggestions answers the top three matters
with their departments and flags, for an operator or above; bad input is a 422 naming
``text``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from agents.roles import Role
from config.settings import Settings
from hotline.app import PROBLEM, create_app
from hotline.runtime import Runtime
from routing.suggestions import MAX_TEXT
from tests.agents.signin import sign_in
from tickets.db import make_engine, session_factory

URL = "/api/v1/routing/suggestions"


@pytest_asyncio.fixture
async def runtime(migrated_url: str) -> AsyncIterator[Runtime]:
    rt = Runtime(Settings(_env_file=None), database_url=migrated_url)
    rt.engine = make_engine(migrated_url)
    rt.sessions = session_factory(rt.engine)
    yield rt
    await rt.engine.dispose()


@pytest_asyncio.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_an_operator_gets_three_suggestions_with_departments_and_flags(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    assert len(runtime.catalogue.matters) >= 300  # the shipped catalogue, loaded at start
    r = await client.post(URL, json={"text": "公司把我辞退了"})
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
    await sign_in(client, runtime.sessions, Role.OPERATOR)
    r = await client.post(URL, json={"text": "公司无缘无故把我辞退了，一分钱赔偿都没有"})
    assert r.status_code == 200, r.text
    got = r.json()["suggestions"]
    assert len(got) == 3
    assert [g["score"] for g in got] == sorted((g["score"] for g in got), reverse=True)
    dismissal = next(g for g in got if g["code"] == "RS-004")
    assert dismissal["matter"] == "劳动合同争议"
    assert dismissal["department"] == "杭州市劳动人事争议仲裁院"
    assert dismissal["legal_route"] == "labour_arbitration"
    assert dismissal["legal_route_name"] == "劳动仲裁" and dismissal["flag"] is True
    assert "劳动仲裁" in dismissal["advice"] and dismissal["limit_days"] == 15
    r = await client.post(URL, json={"text": "我家门口的路灯坏了一个星期了"})
    top = r.json()["suggestions"][0]
    assert top["code"] == "CG-006" and top["department"] == "杭州市城市管理局"
    assert top["flag"] is False and top["legal_route"] is None and top["advice"] is None
    r = await client.post(URL, json={"text": "？？？"})
    assert r.status_code == 200 and r.json() == {"suggestions": []}


@pytest.mark.parametrize(
    "body",
    [{}, {"text": ""}, {"text": "   "}, {"text": 12}, {"text": "噪" * (MAX_TEXT + 1)}],
)
async def test_bad_text_is_a_422_naming_text(
    client: httpx.AsyncClient, runtime: Runtime, body: dict
) -> None:
    await sign_in(client, runtime.sessions, Role.SUPERVISOR)
    r = await client.post(URL, json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    assert ["body", "text"] in [e["loc"] for e in r.json()["errors"]], r.json()


async def test_the_help_learns_the_dispatchers_choices_from_the_store(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import update

    from tests.tickets.calls import answered
    from tickets import lifecycle as lc
    from tickets import workflow
    from tickets.models import Ticket
    from tickets.service import create_tickets

    text = "共享充电宝押金退不回来"
    await sign_in(client, runtime.sessions, Role.OPERATOR)
    before = (await client.post(URL, json={"text": text})).json()["suggestions"]
    assert before[0]["code"] != "SJ-024"
    at = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    async with runtime.sessions() as s:  # two citizens said it so; dispatched as SJ-024
        tickets = await create_tickets(s, answered(at, n=2))
    for t in tickets:
        async with runtime.sessions() as s:
            await s.execute(
                update(Ticket).where(Ticket.id == t.id).values(description=f"{text}，已经一个月了")
            )
            await s.commit()
        async with runtime.sessions() as s:
            await workflow.take_step(
                s,
                t.number,
                lc.Step.DISPATCH,
                lc.Actor("disp1", lc.Party.DISPATCHER),
                at,
                workflow.StepData(department="market", matter="SJ-024"),
            )
    assert await runtime.relearn_routing() == 2
    after = (await client.post(URL, json={"text": text})).json()["suggestions"]
    assert after[0]["code"] == "SJ-024"
