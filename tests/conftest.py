"""Fixtures shared by every test package (tests/tickets, tests/routing, tests/hotline, ...).

Database fixtures, each test getting its own fresh database:

* ``database_url``: a plain URL as users write it (``sqlite:///...`` or ``postgresql://...``),
  parametrized ``[sqlite]`` (a file in ``tmp_path``) and ``[postgresql]`` (a throw-away
  database ``hotline_t_<hex>`` created on the server named by ``HOTLINE_TEST_DATABASE_URL``
  and dropped afterwards). Without that variable the PostgreSQL half is skipped, saying so;
  with it set but the server unreachable the test ERRORs: a CI that asked for PostgreSQL
  must not pass on SQLite alone.
* ``migrated_url``: the same, migrated to Alembic's head.
* ``engine``: an ``AsyncEngine`` on ``migrated_url`` (disposed afterwards).
* ``session``: an ``AsyncSession`` from ``tickets.db.session_factory(engine)``.

Example::

    async def test_something(session):
        await create_tickets(session, [...])
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

PG_ENV = "HOTLINE_TEST_DATABASE_URL"
PG_SKIP_REASON = f"{PG_ENV} not set: PostgreSQL half skipped"

DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=pytest.mark.skipif(not os.environ.get(PG_ENV), reason=PG_SKIP_REASON),
    ),
]


def _server_url() -> URL:
    raw = os.environ[PG_ENV]
    url = make_url(raw)
    if url.get_backend_name() != "postgresql":
        pytest.fail(f"{PG_ENV} must be a postgresql:// URL, got {url.render_as_string()}")
    return url.set(drivername="postgresql")  # asyncpg.connect wants the plain scheme


def _asyncpg_dsn(url: URL) -> str:
    return url.render_as_string(hide_password=False)


async def _admin_connect(url: URL):  # -> asyncpg.Connection
    import asyncpg

    try:
        return await asyncpg.connect(_asyncpg_dsn(url), timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"{PG_ENV} is set, but PostgreSQL at {url.render_as_string()} cannot be used: "
            f"{type(exc).__name__}: {exc}. Start the server (or fix the URL), or unset "
            f"{PG_ENV} to run the SQLite half only.",
            pytrace=False,
        )


@pytest_asyncio.fixture(params=DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hotline.db'}"
        return

    server = _server_url()
    name = f"hotline_t_{secrets.token_hex(6)}"
    admin = await _admin_connect(server)
    try:
        await admin.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
    finally:
        await admin.close()
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await _admin_connect(server)
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        finally:
            await admin.close()


@pytest_asyncio.fixture
async def migrated_url(database_url: str) -> str:
    from tickets.db import upgrade

    await upgrade(database_url)
    return database_url


@pytest_asyncio.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    from tickets.db import make_engine

    eng = make_engine(migrated_url)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest_asyncio.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    from tickets.db import session_factory

    async with session_factory(engine)() as s:
        yield s
