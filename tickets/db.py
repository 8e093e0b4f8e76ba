"""Connecting to the ticket store and migrating it (SQLAlchemy asyncio + Alembic, no ini file).

URLs are the ones users write in ``HOTLINE_DATABASE_URL``: ``sqlite:///var/hotline.db`` or
``postgresql://user@host/db``; the asyncio drivers (aiosqlite, asyncpg) are chosen here.

Alembic is configured in code (:func:`alembic_config`); its scripts live in the
``tickets/migrations`` package. :class:`Base` (from :mod:`store.base`) is the store's one
declarative base: every package declares its tables on it (``tickets/models.py``,
``ivr/models.py``, ``agents/models.py``), and ``hotline.models`` gathers them all. To write
a new migration from the models, see ``hotline.models.migrations_config``.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError
from sqlalchemy import MetaData, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from config.centres import DEFAULT_CENTRE
from config.settings import async_database_url

# The store's base and column types live below the domains (store.base), so that every
# package may declare tables; re-exported here, where they always were.
from store.base import NAMING_CONVENTION as NAMING_CONVENTION
from store.base import Base as Base
from store.base import UTCDateTime as UTCDateTime
from store.centre import INFO_KEY as CENTRE_KEY

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def dialect_insert(dialect: str) -> Any:
    """The ``insert`` of this database's dialect (the one with ``ON CONFLICT``: PostgreSQL's
    or SQLite's), for upserts and inserts that skip what is stored already."""
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise RuntimeError(f"unsupported database {dialect!r}: use PostgreSQL or SQLite")


#: Connections an SQLite file engine keeps open (and as many more at a peak).
SQLITE_POOL_SIZE = 20


def async_url(url: str | URL) -> URL:
    """``url`` with its asyncio driver, as a SQLAlchemy ``URL``."""
    text = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
    return make_url(async_database_url(text))


def make_engine(url: str | URL, *, durable: bool = True, **engine_kw: Any) -> AsyncEngine:
    """An ``AsyncEngine`` for a ``postgresql://`` or ``sqlite://`` URL (explicit drivers kept).

    SQLite: the file's directory is created when missing, and the database runs in WAL mode
    (readers do not block the writer) with foreign keys enforced; its statements run on the
    event loop's thread and its commits in the connection's (:class:`LoopSqliteConnection`).
    ``durable=False`` (a scratch file, e.g. a simulation's temporary database): SQLite's
    ``synchronous=OFF``, so a commit does not wait for the disk, and it runs on the loop's
    thread too; never for a database whose tickets matter. ``sqlite://`` alone (or
    ``:memory:``) is one in-memory database shared by the engine's single connection.
    """
    u = async_url(url)
    if u.get_backend_name() == "sqlite":
        database = u.database or ""
        in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
        if in_memory:
            engine_kw.setdefault("poolclass", StaticPool)
        else:
            if not database.startswith("file:"):
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            # Keep the connections: with aiosqlite each one is a thread plus two PRAGMAs, and
            # the default pool (5, overflow 10) closed the overflow ones on return. The IVR's
            # sessions come in bursts: 1,000 simulated calls opened 560 connections.
            if "poolclass" not in engine_kw:  # a NullPool (migrations) takes no sizes
                engine_kw.setdefault("pool_size", SQLITE_POOL_SIZE)
                engine_kw.setdefault("max_overflow", SQLITE_POOL_SIZE)
            if "creator" not in engine_kw and "async_creator" not in engine_kw:
                engine_kw["async_creator"] = _loop_sqlite_creator(u, engine_kw, durable)
        engine = create_async_engine(u, **engine_kw)
        _sqlite_pragmas(engine, wal=not in_memory, durable=durable)
        return engine
    return create_async_engine(u, **engine_kw)


def _loop_sqlite_creator(u: URL, engine_kw: dict[str, Any], durable: bool) -> Callable[[], Any]:
    """Connections of :class:`LoopSqliteConnection`, with the arguments the dialect would
    give ``sqlite3.connect`` (``check_same_thread=False`` for a file: the pool's default)."""
    args, params = create_async_engine(u).dialect.create_connect_args(u)
    params.update(engine_kw.get("connect_args", {}))
    params["check_same_thread"] = False

    async def creator() -> aiosqlite.Connection:
        conn = LoopSqliteConnection(functools.partial(sqlite3.connect, *args, **params), 64)
        conn.commit_in_thread = durable
        conn._thread.daemon = True  # as SQLAlchemy's own aiosqlite dialect does
        return await conn

    return creator


class LoopSqliteConnection(aiosqlite.Connection):
    """aiosqlite's connection to an SQLite file, but its statements run at once on the
    calling (event-loop) thread; only ``commit``, the call that waits for the disk (fsync of
    the WAL), goes to the connection's own thread.

    Why: through aiosqlite every statement is about four round trips to the connection's
    thread (cursor, execute, fetch, close), each a wake-up of that thread and of the loop, and
    those hand-overs, not SQLite, were most of the database's cost (a survey answer or an open
    ticket lookup ~1 ms of CPU, the SQLite work ~0.05 ms). An SQLite statement on a local
    file takes microseconds, so running it on the loop blocks it no longer than the hand-over
    did. What stays safe: a connection is used by one session at a time (the pool), so its
    calls never overlap whichever thread runs them; a statement that finds another
    connection's write transaction committing waits (SQLite's busy timeout) for that commit,
    which goes on in that connection's thread without the loop. The rule this adds: a
    transaction that has written must not await anything but the database before it ends
    (another session's write would wait for its lock on the loop's thread, up to SQLite's
    busy timeout). Every writer in the project keeps it (tickets, survey answers, the API).
    """

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    #: False when commits do not wait for the disk (``synchronous=OFF``): then they run on
    #: the calling thread as well.
    commit_in_thread = True

    async def commit(self) -> None:
        if self.commit_in_thread:
            await super()._execute(self._conn.commit)
        else:
            await self._execute(self._conn.commit)


def _sqlite_pragmas(engine: AsyncEngine, *, wal: bool, durable: bool = True) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
            if not durable:
                cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()


def session_factory(
    engine: AsyncEngine, centre: str = DEFAULT_CENTRE
) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``engine``, writing as ``centre`` (``store.centre``).
    ``expire_on_commit=False``: objects stay readable after a commit without a lazy load
    (which asyncio does not allow)."""
    return async_sessionmaker(engine, expire_on_commit=False, info={CENTRE_KEY: centre})


def alembic_config(url: str | URL | None = None, *, metadata: MetaData | None = None) -> Config:
    """Alembic's configuration, built in code: scripts in ``tickets/migrations``, the
    database URL passed to ``env.py`` as ``attributes["url"]`` (never through configparser,
    which would mangle a ``%`` in a password). Without ``url``, env.py uses the settings.

    ``metadata``: the tables autogenerate compares with (``attributes["target_metadata"]``);
    give every table of the store (``hotline.models.metadata``). Upgrading and downgrading
    need none: they run the scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if url is not None:
        cfg.attributes["url"] = async_url(url)
    if metadata is not None:
        cfg.attributes["target_metadata"] = metadata
    return cfg


#: The PostgreSQL advisory lock every migration runs under (``pg_advisory_xact_lock``, held
#: to the end of the migration's transaction): the controllers of several centres started
#: together on one database migrate one after the other; the later ones find it at head.
MIGRATION_LOCK_KEY = 12345_0001


class SchemaNewerThanCode(RuntimeError):
    """The database was migrated by a newer version of the code than this one."""


def refuse_newer_schema(cfg: Config, connection: Connection) -> None:
    """Raise :class:`SchemaNewerThanCode` when the database's revision is one this code's
    migrations do not know: a newer controller migrated it, and this one would misread it."""
    scripts = ScriptDirectory.from_config(cfg)
    for current in MigrationContext.configure(connection).get_current_heads():
        try:
            known = scripts.get_revision(current) is not None
        except (ResolutionError, CommandError):  # the script directory wraps the first
            known = False
        if not known:
            raise SchemaNewerThanCode(
                f"the database's schema is at revision {current}, which this version of "
                f"hotline does not know (its newest is {scripts.get_current_head()}): a newer "
                "version migrated it. Run that version here (README: upgrading the centres)."
            )


async def upgrade(url: str | URL, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` (from inside an event loop); refuses a
    schema newer than this code (:class:`SchemaNewerThanCode`)."""

    def run(cfg: Config) -> None:
        refuse_newer_schema(cfg, cfg.attributes["connection"])
        command.upgrade(cfg, revision)

    await _run_on_connection(url, run)


async def downgrade(url: str | URL, revision: str = "base") -> None:
    """Migrate the database at ``url`` down to ``revision`` (``base``: no tables)."""
    await _run_on_connection(url, lambda cfg: command.downgrade(cfg, revision))


def upgrade_sync(url: str | URL, revision: str = "head") -> None:
    """:func:`upgrade` for code without an event loop (a CLI, a script); not from a coroutine."""
    asyncio.run(upgrade(url, revision))


async def _run_on_connection(url: str | URL, run: Any) -> None:
    # Alembic's asyncio cookbook ("programmatic API use with asyncio"): the commands are
    # synchronous, so they run inside run_sync on one connection, in one transaction.
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:

            def _in_sync(connection: Connection) -> None:
                if connection.dialect.name == "postgresql":  # one migrating at a time
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
                cfg = alembic_config(url)
                cfg.attributes["connection"] = connection
                run(cfg)

            await conn.run_sync(_in_sync)
    finally:
        await engine.dispose()
