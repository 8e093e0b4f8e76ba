"""A throw-away PostgreSQL database for a benchmark: made on the server named by
``HOTLINE_TEST_DATABASE_URL``, handed to the benchmark as a URL, dropped afterwards."""

from __future__ import annotations

import os
import secrets
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["on_throwaway_postgres"]

T = TypeVar("T")


async def on_throwaway_postgres(run: Callable[[str], Awaitable[T]]) -> T | None:
    """``run(url)`` on a fresh database; ``None`` when no server is named."""
    server = os.environ.get("HOTLINE_TEST_DATABASE_URL")
    if not server:
        return None
    import asyncpg
    from sqlalchemy.engine import make_url

    base = make_url(server).set(drivername="postgresql")
    name = f"hotline_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(base.render_as_string(hide_password=False))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            return await run(base.set(database=name).render_as_string(hide_password=False))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
