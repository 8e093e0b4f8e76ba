"""The centre of each row (the "1 + 7" platform: several controllers on one database).

``tickets.centre`` (indexed), ``ticket_drafts.centre``, ``pending_satisfaction.centre``,
``queue_log_cursors.centre``, ``audit_log.centre`` and ``ticket_steps.centre``: not null, the city
centre (the default centre of config/centres.yaml) for every existing row, so a single-centre site's
data reads as before. A call is one ticket per centre: the unique keys that were Asterisk's
``call_uniqueid`` (or ``linkedid``) alone now start with the centre, as two centres' Asterisks can
number a call alike; the queue_log cursor is one per centre and source.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The default centre (config.centres.DEFAULT_CENTRE), written out: a migration keeps the
#: value it had when it was written.
CITY = "city"


def _centre() -> sa.Column[str]:
    return sa.Column("centre", sa.String(length=16), server_default=CITY, nullable=False)


def _sqlite_sequence() -> int | None:
    """SQLite: the highest ticket id ever given (``sqlite_sequence``), which a rebuild of the
    table would forget (the copy starts it at the highest id left); None elsewhere."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return None
    got = bind.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'tickets'"))
    return got.scalar()


def _keep_sqlite_sequence(seq: int | None) -> None:
    if seq is not None:
        op.execute(
            sa.text(
                "UPDATE sqlite_sequence SET seq = max(seq, :seq) WHERE name = 'tickets'"
            ).bindparams(seq=seq)
        )


def upgrade() -> None:
    seq = _sqlite_sequence()
    # SQLite rebuilds the table: keep AUTOINCREMENT and its high-water mark, so a ticket
    # number is never reused.
    with op.batch_alter_table("tickets", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(_centre())
        batch.drop_constraint(op.f("uq_tickets_call_uniqueid_answered_at"), type_="unique")
        batch.create_unique_constraint(
            op.f("uq_tickets_centre_call_uniqueid_answered_at"),
            ["centre", "call_uniqueid", "answered_at"],
        )
        batch.create_index(op.f("ix_tickets_centre"), ["centre"])
    _keep_sqlite_sequence(seq)
    with op.batch_alter_table("ticket_drafts") as batch:
        batch.add_column(_centre())
        batch.drop_constraint(op.f("uq_ticket_drafts_call_uniqueid"), type_="unique")
        batch.create_unique_constraint(
            op.f("uq_ticket_drafts_centre_call_uniqueid"), ["centre", "call_uniqueid"]
        )
    for table, key in (("pending_satisfaction", "linkedid"), ("queue_log_cursors", "source")):
        with op.batch_alter_table(table) as batch:
            batch.add_column(_centre())
            batch.drop_constraint(op.f(f"pk_{table}"), type_="primary")
            batch.create_primary_key(op.f(f"pk_{table}"), ["centre", key])
    # No batch: a rebuild of the table on SQLite would drop their append-only triggers
    # (0004, 0008).
    op.add_column("audit_log", _centre())
    op.add_column("ticket_steps", _centre())


def downgrade() -> None:
    # Back to one centre: the rows of the other centres would break the old unique keys.
    for table in ("tickets", "ticket_drafts", "pending_satisfaction", "queue_log_cursors"):
        op.execute(sa.text(f"DELETE FROM {table} WHERE centre <> '{CITY}'"))
    op.drop_column("audit_log", "centre")
    op.drop_column("ticket_steps", "centre")
    for table, key in (("pending_satisfaction", "linkedid"), ("queue_log_cursors", "source")):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"pk_{table}"), type_="primary")
            batch.create_primary_key(op.f(f"pk_{table}"), [key])
            batch.drop_column("centre")
    with op.batch_alter_table("ticket_drafts") as batch:
        batch.drop_constraint(op.f("uq_ticket_drafts_centre_call_uniqueid"), type_="unique")
        batch.create_unique_constraint(op.f("uq_ticket_drafts_call_uniqueid"), ["call_uniqueid"])
        batch.drop_column("centre")
    seq = _sqlite_sequence()
    with op.batch_alter_table("tickets", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_index(op.f("ix_tickets_centre"))
        batch.drop_constraint(op.f("uq_tickets_centre_call_uniqueid_answered_at"), type_="unique")
        batch.create_unique_constraint(
            op.f("uq_tickets_call_uniqueid_answered_at"), ["call_uniqueid", "answered_at"]
        )
        batch.drop_column("centre")
    _keep_sqlite_sequence(seq)
