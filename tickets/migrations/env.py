"""Alembic environment of the ticket store, asyncio style (Alembic's async cookbook).

Configured in code by ``tickets.db.alembic_config`` (there is no alembic.ini):

* ``config.attributes["connection"]``: a synchronous ``Connection`` handed over from
  ``AsyncConnection.run_sync`` (``tickets.db.upgrade``): migrations run on it, in the
  caller's transaction;
* otherwise ``config.attributes["url"]`` (or, failing that, ``HOTLINE_DATABASE_URL`` via the
  settings): an async engine is made here and driven with ``asyncio.run``;
* ``config.attributes["target_metadata"]``: every table of the store, for autogenerate. It is
  handed down by the caller (``hotline.models.migrations_config``), the one registry that
  knows every package's models: this package sits below some of them (``ivr``) and must not
  import them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from tickets.db import UTCDateTime, async_url, make_engine

config = context.config
target_metadata = config.attributes.get("target_metadata")


def _url() -> Any:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from config.settings import Settings

        url = Settings().database_url
    return async_url(url)


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Generated migrations spell the column type portably instead of importing the models.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kw: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_item=_render_item,
        render_as_batch=True,  # SQLite cannot ALTER most things: batch mode copies the table
        **kw,
    )


def run_migrations_offline() -> None:
    """``--sql`` mode: print the SQL instead of running it."""
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = make_engine(_url(), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
