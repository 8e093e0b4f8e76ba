"""Helpers for tests of the HTTP API: a user in the store, and a client signed in as them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from agents.accounts import Actor, add_user
from agents.roles import Role

PASSWORD = "correct horse battery staple"
TEST_ACTOR = Actor("test", "system")


async def make_user(
    sessions: Any,
    username: str,
    role: Role,
    *,
    seat: str | None = None,
    department: str | None = None,
    password: str = PASSWORD,
    at: datetime | None = None,
) -> None:
    async with sessions() as session:
        await add_user(
            session,
            username=username,
            role=role,
            password=password,
            seat=seat,
            department=department,
            at=at or datetime(2026, 11, 30, tzinfo=UTC),
            by=TEST_ACTOR,
        )


async def tokens(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> dict:
    r = await client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


async def sign_in(
    client: httpx.AsyncClient, sessions: Any, role: Role, username: str | None = None
) -> dict:
    """Add a user of ``role`` and make ``client`` send their access token; their tokens."""
    name = username or f"test-{role}"
    await make_user(sessions, name, role, department="housing" if role == "department" else None)
    got = await tokens(client, name)
    client.headers["Authorization"] = f"Bearer {got['access_token']}"
    return got
