"""Engines, sessions and programmatic Alembic (tickets.db)."""

from __future__ import annotations

from sqlalchemy import text

from tickets.db import async_url, make_engine, session_factory, upgrade_sync


def test_async_url_picks_the_asyncio_driver():
    assert async_url("sqlite:///var/x.db").drivername == "sqlite+aiosqlite"
    assert async_url("postgresql://u:p%25w@h/db").drivername == "postgresql+asyncpg"
    assert async_url("postgresql://u:p%25w@h/db").password == "p%w"


async def test_sqlite_creates_directory_and_uses_wal(tmp_path):
    path = tmp_path / "a" / "b" / "hotline.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        async with engine.connect() as conn:
            mode = await conn.scalar(text("PRAGMA journal_mode"))
            fks = await conn.scalar(text("PRAGMA foreign_keys"))
    finally:
        await engine.dispose()
    assert path.exists()
    assert mode == "wal"
    assert fks == 1


async def test_sqlite_in_memory_is_one_database():
    engine = make_engine("sqlite://")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM t")) == 0
    finally:
        await engine.dispose()


def test_upgrade_sync_outside_an_event_loop(database_url):
    upgrade_sync(database_url)
    upgrade_sync(database_url)  # idempotent


async def test_session_factory_keeps_objects_after_commit(engine):
    factory = session_factory(engine)
    assert factory.kw["expire_on_commit"] is False
    async with factory() as s:
        assert await s.scalar(text("SELECT 1")) == 1
