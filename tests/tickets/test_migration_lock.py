"""Several controllers on one database: their migrations run one at a time (a PostgreSQL
advisory lock), and a controller older than the schema refuses to start, saying so."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from pbx.private_asterisk import free_port
from tickets.db import SchemaNewerThanCode, make_engine, upgrade

HOTLINE = Path(sys.executable).parent / "hotline"


async def _revisions(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return list(
                (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars()
            )
    finally:
        await engine.dispose()


MIGRATE = "import sys; from tickets.db import upgrade_sync; upgrade_sync(sys.argv[1])"


async def test_eight_controllers_migrating_a_fresh_database_at_once(database_url: str) -> None:
    """Eight processes (as eight centres' controllers) migrate one fresh database at the same
    moment: all succeed, and the schema is at head once."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several controllers share a PostgreSQL database, never a SQLite file")
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", MIGRATE, database_url, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(8)
    ]
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(p.communicate() for p in procs)), timeout=120
    )
    failed = [
        err.decode()[-300:] for p, (_, err) in zip(procs, outcomes, strict=True) if p.returncode
    ]
    assert failed == []
    from tests.tickets.test_tickets_migrations import HEAD

    assert await _revisions(database_url) == [HEAD]


async def _make_newer(url: str) -> None:
    await upgrade(url)
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    finally:
        await engine.dispose()


async def test_a_schema_newer_than_the_code_is_refused_and_left_as_it_is(database_url: str) -> None:
    await _make_newer(database_url)
    with pytest.raises(
        SchemaNewerThanCode, match=r"at revision 0999.*does not know.*newer version"
    ):
        await upgrade(database_url)
    assert await _revisions(database_url) == ["0999"]


@pytest.mark.e2e
async def test_hotline_serve_on_a_newer_schema_exits_with_the_reason(
    database_url: str, tmp_path: Path
) -> None:
    await _make_newer(database_url)
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_HTTP_PORT": str(free_port()),
        "HOTLINE_AGI_PORT": "0",
        "HOTLINE_SPOOL_DIR": str(tmp_path / "spool"),
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [str(HOTLINE), "serve", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    message = " ".join(done.stderr.split())
    assert "could not start: the database's schema is at revision 0999" in message
    assert "newer version" in message
