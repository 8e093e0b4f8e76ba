"""Signing in over HTTP (SQLite and PostgreSQL): tokens, refresh rotation, logout, expiry on
the injected clock, the slowdown of failed sign-ins, 401/403 as problem details, the admin
API of the users and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
import pytest

from agents.roles import Role
from config.settings import Settings
from hotline.app import create_app
from tests.agents.signin import PASSWORD, make_user, tokens
from tickets.db import session_factory

T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC).timestamp()
PROBLEM = "application/problem+json"


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def client(engine):
    clock = Clock()
    runtime = SimpleNamespace(
        sessions=session_factory(engine), now=clock, settings=Settings(_env_file=None)
    )
    transport = httpx.ASGITransport(app=create_app(runtime))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        c.clock = clock  # type: ignore[attr-defined]
        c.sessions = runtime.sessions  # type: ignore[attr-defined]
        await make_user(runtime.sessions, "root", Role.ADMIN)
        await make_user(runtime.sessions, "op1", Role.OPERATOR, seat="SIP/8001")
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_sign_in_me_expiry_and_refresh(client) -> None:
    got = await tokens(client, "OP1")
    assert got["token_type"] == "bearer" and got["expires_in"] == 900
    me = await client.get("/api/v1/auth/me", headers=bearer(got["access_token"]))
    assert me.json() == {
        "username": "op1",
        "display_name": "op1",
        "role": "operator",
        "seat": "SIP/8001",
    }
    client.clock.t += 900  # 15 minutes of the injected clock
    r = await client.get("/api/v1/auth/me", headers=bearer(got["access_token"]))
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    new = await client.post("/api/v1/auth/refresh", json={"refresh_token": got["refresh_token"]})
    assert new.status_code == 200, new.text
    fresh = new.json()
    assert fresh["refresh_token"] != got["refresh_token"]
    assert fresh["refresh_expires_at"] == got["refresh_expires_at"]
    assert (await client.get("/api/v1/auth/me", headers=bearer(fresh["access_token"]))).is_success


async def test_a_reused_refresh_token_ends_the_sign_in(client) -> None:
    got = await tokens(client, "op1")
    r1 = await client.post("/api/v1/auth/refresh", json={"refresh_token": got["refresh_token"]})
    assert r1.status_code == 200
    again = await client.post("/api/v1/auth/refresh", json={"refresh_token": got["refresh_token"]})
    assert again.status_code == 401 and "reused" in again.json()["detail"]
    owner = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": r1.json()["refresh_token"]}
    )
    assert owner.status_code == 401  # the family is revoked: the owner signs in again


async def test_logout_revokes_the_refresh_token(client) -> None:
    got = await tokens(client, "op1")
    r = await client.post("/api/v1/auth/logout", json={"refresh_token": got["refresh_token"]})
    assert r.status_code == 204
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": got["refresh_token"]})
    assert r.status_code == 401
    assert (
        await client.post("/api/v1/auth/logout", json={"refresh_token": "x"})
    ).status_code == 204


async def test_unknown_name_and_wrong_password_get_the_same_answer(client) -> None:
    wrong = await client.post("/api/v1/auth/token", json={"username": "op1", "password": "nope"})
    unknown = await client.post(
        "/api/v1/auth/token", json={"username": "ghost", "password": "nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["content-type"] == PROBLEM


async def test_failed_sign_ins_are_slowed_down_with_retry_after(client) -> None:
    for _ in range(5):  # HOTLINE_SIGNIN_MAX_FAILURES
        r = await client.post("/api/v1/auth/token", json={"username": "op1", "password": "x"})
        assert r.status_code == 401
    r = await client.post("/api/v1/auth/token", json={"username": "op1", "password": PASSWORD})
    assert r.status_code == 429 and r.headers["retry-after"] == "30"
    assert r.headers["content-type"] == PROBLEM and "30 s" in r.json()["detail"]
    other = await client.post("/api/v1/auth/token", json={"username": "root", "password": PASSWORD})
    assert other.status_code == 200  # one name locked, not the floor
    client.clock.t += 30
    assert (await tokens(client, "op1"))["access_token"]


async def test_no_token_bad_token_and_wrong_role(client) -> None:
    r = await client.get("/api/v1/users")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.headers["content-type"] == PROBLEM and "sign in" in r.json()["detail"]
    r = await client.get("/api/v1/users", headers=bearer("not.a.token"))
    assert r.status_code == 401 and "invalid_token" in r.headers["www-authenticate"]
    r = await client.get("/api/v1/users", headers={"Authorization": "Basic cm9vdDp4"})
    assert r.status_code == 401
    op = await tokens(client, "op1")
    r = await client.get("/api/v1/users", headers=bearer(op["access_token"]))
    assert r.status_code == 403 and r.headers["content-type"] == PROBLEM
    assert "admin" in r.json()["detail"]


async def test_admin_adds_lists_and_disables_users_audited(client) -> None:
    admin = bearer((await tokens(client, "root"))["access_token"])
    body = {
        "username": "sup1",
        "role": "supervisor",
        "password": "another long password",
        "display_name": "王班长",
    }
    r = await client.post("/api/v1/users", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "supervisor" and "password" not in r.json()
    assert (await client.post("/api/v1/users", json=body, headers=admin)).status_code == 409
    r = await client.post(
        "/api/v1/users", json={**body, "username": "x2", "seat": "80 01"}, headers=admin
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "seat"
    r = await client.post(
        "/api/v1/users", json={**body, "username": "x3", "password": "short"}, headers=admin
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "password"
    names = [u["username"] for u in (await client.get("/api/v1/users", headers=admin)).json()]
    assert names == ["op1", "root", "sup1"]
    sup = await tokens(client, "sup1", "another long password")
    r = await client.post("/api/v1/users/sup1/disable", headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    assert (await client.post("/api/v1/users/ghost/disable", headers=admin)).status_code == 404
    # the disabled user's tokens stop at once
    r = await client.get("/api/v1/auth/me", headers=bearer(sup["access_token"]))
    assert r.status_code == 401
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": sup["refresh_token"]})
    assert r.status_code == 401
    audit = (await client.get("/api/v1/audit", headers=admin)).json()
    assert [(e["actor"], e["role"], e["action"], e["target"]) for e in audit[:2]] == [
        ("root", "admin", "user.disable", "user:sup1"),
        ("root", "admin", "user.add", "user:sup1"),
    ]
    assert "another long password" not in str(audit)
