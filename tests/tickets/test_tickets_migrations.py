"""The Alembic migrations: up, down, and equal to the models (on SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from tickets.db import alembic_config, downgrade, make_engine, upgrade
from tickets.models import Base


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:

            def compare(sync_conn):
                import hotline.models  # noqa: F401  (the registry: every package's tables on Base)

                ctx = MigrationContext.configure(
                    sync_conn, opts={"compare_type": True, "compare_server_default": True}
                )
                return compare_metadata(ctx, Base.metadata)

            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


async def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
    finally:
        await engine.dispose()


#: The newest migration. A new migration changes this line: the test then proves that
#: ``upgrade`` reaches it, and that the chain has one head (two branches would not).
HEAD = "0010"


def test_the_migrations_form_one_chain_ending_at_the_newest():
    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_heads() == [HEAD]
    chain = [s.revision for s in scripts.walk_revisions("base", "heads")]
    assert chain[0] == HEAD and chain[-1] == "0001" and len(chain) == len(set(chain))


async def test_upgrade_reaches_the_newest_revision(migrated_url):
    assert await _revision(migrated_url) == HEAD
    await downgrade(migrated_url, "0001")
    assert await _revision(migrated_url) == "0001"
    await upgrade(migrated_url)
    assert await _revision(migrated_url) == HEAD


async def test_migrations_equal_models(migrated_url):
    assert await _diff(migrated_url) == []


async def test_upgrade_creates_tables(migrated_url):
    assert {"tickets", "alembic_version"} <= await _tables(migrated_url)
    engine = make_engine(migrated_url)
    try:
        async with engine.connect() as conn:
            indexes = await conn.run_sync(lambda c: inspect(c).get_indexes("tickets"))
            uniques = await conn.run_sync(lambda c: inspect(c).get_unique_constraints("tickets"))
    finally:
        await engine.dispose()
    assert {i["name"] for i in indexes} >= {
        "ix_tickets_linkedid",
        "ix_tickets_caller_num",
        "ix_tickets_centre",
    }
    # One answered call is one ticket per centre: two centres' Asterisks may number alike.
    assert ["centre", "call_uniqueid", "answered_at"] in [u["column_names"] for u in uniques]


async def test_rows_stored_before_centres_are_the_city_centres(migrated_url):
    """0010 on a database with data: the existing rows read as the default centre's, and
    SQLite's rebuilt ``tickets`` keeps AUTOINCREMENT (no ticket number is ever reused)."""
    from sqlalchemy import text

    from config.centres import DEFAULT_CENTRE

    await downgrade(migrated_url, "0009")
    engine = make_engine(migrated_url)
    try:
        async with engine.begin() as conn:
            ids = []
            for n in (0, 1):
                got_id = await conn.execute(
                    text(
                        "INSERT INTO tickets (number, channel, kind, status, resolved_on_call,"
                        " call_uniqueid, answered_at) VALUES (:n, 'phone', 'complaint',"
                        " 'resolved', true, :uid, '2026-12-01 08:00:00') RETURNING id"
                    ),
                    {"n": f"old{n}", "uid": f"1795966595.{n}"},
                )
                ids.append(got_id.scalar_one())
            for sql in (
                "INSERT INTO queue_log_cursors (source, settled_id) VALUES ('asterisk', 7)",
                "INSERT INTO pending_satisfaction (linkedid, score) VALUES ('1795966595.1', 1)",
                f"DELETE FROM tickets WHERE id = {ids[1]}",
            ):
                await conn.execute(text(sql))
        await upgrade(migrated_url)
        async with engine.begin() as conn:
            got = {
                table: (await conn.execute(text(f"SELECT centre FROM {table}"))).scalars().all()
                for table in ("tickets", "queue_log_cursors", "pending_satisfaction")
            }
            fresh = await conn.execute(
                text(
                    "INSERT INTO tickets (number, channel, kind, status, resolved_on_call) "
                    "VALUES ('n', 'web', 'consultation', 'registered', false) RETURNING id"
                )
            )
            new_id = fresh.scalar_one()
    finally:
        await engine.dispose()
    assert got == {t: [DEFAULT_CENTRE] for t in got}
    assert new_id == ids[1] + 1  # after the deleted one: not reused


async def test_downgrade_to_base_and_up_again(migrated_url):
    await downgrade(migrated_url, "base")
    assert "tickets" not in await _tables(migrated_url)
    await upgrade(migrated_url)
    assert "tickets" in await _tables(migrated_url)
    assert await _diff(migrated_url) == []


async def test_upgrade_is_repeatable(migrated_url):
    await upgrade(migrated_url)  # already at head: nothing to do, no error
    assert await _diff(migrated_url) == []
