"""The knowledge base over HTTP: search, read, admin CRUD with archive, helpful articles,
problem details on bad input (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest_asyncio

from agents.roles import Role
from config.knowledge import load_starter
from config.settings import CONFIG_DIR, Settings
from hotline.app import PROBLEM, create_app
from hotline.runtime import Runtime
from knowledge.service import load_starter_articles
from tests.agents.signin import sign_in
from tickets.db import make_engine, session_factory
from tickets.numbers import make_number
from tickets.service import TicketDraft, create_tickets

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BASE = "/api/v1/knowledge"
ARTICLE = {
    "title": "电动自行车上牌登记",
    "body": "电动自行车上道路行驶应当登记上牌，携带购车发票、合格证和身份证到指定登记点办理。",
    "tags": ["电瓶车上牌", "电动车牌照"],
    "department": "公安局（交通管理）",
}


@pytest_asyncio.fixture
async def runtime(migrated_url: str) -> AsyncIterator[Runtime]:
    rt = Runtime(Settings(_env_file=None), database_url=migrated_url)
    rt.engine = make_engine(migrated_url)
    rt.sessions = session_factory(rt.engine)
    rt.now = lambda: NOW.timestamp()
    async with rt.sessions() as s:
        await load_starter_articles(s, load_starter(CONFIG_DIR), at=NOW)
    yield rt
    await rt.engine.dispose()


@pytest_asyncio.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        # an administrator: may read and write (which role may do what: test_roles_everywhere)
        await sign_in(c, runtime.sessions, Role.ADMIN)
        yield c


async def a_ticket(runtime: Runtime) -> str:
    draft = TicketDraft(
        linkedid="1795966595.7",
        call_uniqueid="1795966595.7",
        caller_num="13800000007",
        caller_name="李四",
        queue="hotline",
        seat="Local/8001@agents/n",
        joined_at=NOW,
        answered_at=NOW,
        ended_at=NOW,
        kind="consultation",
        resolved_on_call=True,
    )
    async with runtime.sessions() as s:
        (t,) = await create_tickets(s, [draft])
    return t.number


async def titles(client: httpx.AsyncClient, q: str, **params) -> list[str]:
    r = await client.get(f"{BASE}/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return [h["title"] for h in r.json()]


async def test_search_finds_the_starter_articles(client) -> None:
    r = await client.get(f"{BASE}/search", params={"q": "公积金怎么提取", "limit": 3})
    hits = r.json()
    assert r.status_code == 200 and 1 <= len(hits) <= 3
    assert hits[0]["title"] == "住房公积金提取条件与办理方式"
    assert hits[0]["department"] == "住房公积金管理中心" and hits[0]["snippet"]
    assert (await titles(client, "社保卡丢了补办"))[0] == "社会保障卡挂失与补办"
    assert await titles(client, "的了吗") == []


async def test_search_as_at_another_moment(client) -> None:
    assert "汛期积水、内涝和防汛防台" not in await titles(client, "路上积水")
    summer = await titles(client, "路上积水", at="2026-07-01T10:00:00+08:00")
    assert summer[0] == "汛期积水、内涝和防汛防台"
    r = await client.get(f"{BASE}/search", params={"q": "积水", "at": "2026-07-01T10:00:00"})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert ["query", "at"] in [e["loc"] for e in r.json()["errors"]]


async def test_create_is_searchable_at_once_then_update_then_archive(client) -> None:
    r = await client.post(f"{BASE}/articles", json={**ARTICLE, "created_by": "管理员"})
    assert r.status_code == 201, r.text
    made = r.json()
    ident = made["id"]
    assert made["created_by"] == "管理员" and made["archived_at"] is None
    assert made["starter_key"] is None and made["created_at"] == made["updated_at"]
    assert (await titles(client, "电瓶车上牌"))[0] == ARTICLE["title"]

    changed = {**ARTICLE, "title": "电动自行车登记上牌和转让", "tags": ["电动车过户"]}
    r = await client.put(f"{BASE}/articles/{ident}", json=changed)
    assert r.status_code == 200 and r.json()["title"] == changed["title"]
    assert (await titles(client, "电动车过户"))[0] == changed["title"]
    assert ARTICLE["title"] not in await titles(client, "电瓶车上牌")

    assert (await client.delete(f"{BASE}/articles/{ident}")).status_code == 204
    assert changed["title"] not in await titles(client, "电动车过户")
    r = await client.get(f"{BASE}/articles/{ident}")
    assert r.status_code == 200 and r.json()["archived_at"] is not None
    assert (await client.delete(f"{BASE}/articles/{ident}")).status_code == 204
    listed = (await client.get(f"{BASE}/articles", params={"limit": 500})).json()
    assert ident not in {a["id"] for a in listed} and len(listed) >= 60
    everything = await client.get(f"{BASE}/articles?include_archived=true&after={ident - 1}")
    assert [a["id"] for a in everything.json()] == [ident]


async def test_unknown_articles_are_404_problems(client) -> None:
    for method in ("GET", "PUT", "DELETE"):
        r = await client.request(method, f"{BASE}/articles/99999", json=ARTICLE)
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM, method


async def test_bad_input_is_a_422_naming_the_field_and_stores_nothing(client) -> None:
    before = len((await client.get(f"{BASE}/articles", params={"limit": 500})).json())
    bad = [
        ({**ARTICLE, "title": "   "}, ["body", "title"]),
        ({**ARTICLE, "body": ""}, ["body", "body"]),
        ({**ARTICLE, "tags": ["x" * 41]}, ["body", "tags", 0]),
        ({**ARTICLE, "department": None}, ["body", "department"]),
        ({**ARTICLE, "valid_from": "2026-12-01T00:00:00"}, ["body", "valid_from"]),
        (
            {
                **ARTICLE,
                "valid_from": "2026-12-01T00:00:00+08:00",
                "valid_to": "2026-12-01T00:00:00+08:00",
            },
            ["body", "valid_to"],
        ),
        ({**ARTICLE, "colour": "red"}, ["body", "colour"]),
    ]
    for body, loc in bad:
        r = await client.post(f"{BASE}/articles", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"] == PROBLEM
        assert loc in [e["loc"] for e in r.json()["errors"]], r.json()
        r = await client.put(f"{BASE}/articles/1", json=body)
        assert r.status_code == 422, (body, r.text)
    assert len((await client.get(f"{BASE}/articles", params={"limit": 500})).json()) == before
    assert (await client.get(f"{BASE}/articles/1")).json()["title"] != ARTICLE["title"]


async def test_record_a_helpful_article_on_a_ticket(client, runtime) -> None:
    number = await a_ticket(runtime)
    first = (await client.get(f"{BASE}/search", params={"q": "居住证"})).json()[0]
    url = f"{BASE}/articles/{first['id']}/helpful"
    r = await client.post(url, json={"ticket": number})
    assert r.status_code == 201, r.text
    assert r.json() == {
        "ticket": number,
        "article_id": first["id"],
        "title": first["title"],
        "at": "2026-11-30T09:00:00Z",
    }
    assert (await client.post(url, json={"ticket": number})).status_code == 200  # once
    r = await client.get(f"{BASE}/tickets/{number}/articles")
    assert [a["article_id"] for a in r.json()] == [first["id"]]

    wrong_digit = number[:-1] + str((int(number[-1]) + 1) % 10)
    r = await client.post(url, json={"ticket": wrong_digit})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    r = await client.post(url, json={"ticket": make_number(4242)})
    assert r.status_code == 404 and "no ticket" in r.json()["detail"]
    r = await client.post(f"{BASE}/articles/99999/helpful", json={"ticket": number})
    assert r.status_code == 404 and "no article" in r.json()["detail"]
    assert (await client.get(f"{BASE}/tickets/{make_number(4242)}/articles")).json() == []


async def test_search_is_a_503_problem_while_the_index_cannot_be_built(client, runtime) -> None:
    from knowledge.live import LiveIndex

    runtime.knowledge._sessions = lambda: None  # as before the database is open
    assert isinstance(runtime.knowledge, LiveIndex)
    r = await client.get(f"{BASE}/search", params={"q": "护照"})
    assert r.status_code == 503 and r.headers["content-type"] == PROBLEM
