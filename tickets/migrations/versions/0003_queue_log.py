"""Asterisk's queue_log table (its contrib layout, plus the ``data`` fallback column) and the
backfill's cursor per queue_log source.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: BIGSERIAL on PostgreSQL, as Asterisk's contrib schema; SQLite's INTEGER PRIMARY KEY.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "queue_log",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("time", sa.DateTime(timezone=False), nullable=True),
        sa.Column("callid", sa.String(length=80), nullable=True),
        sa.Column("queuename", sa.String(length=256), nullable=True),
        sa.Column("agent", sa.String(length=80), nullable=True),
        sa.Column("event", sa.String(length=32), nullable=True),
        sa.Column("data1", sa.String(length=100), nullable=True),
        sa.Column("data2", sa.String(length=100), nullable=True),
        sa.Column("data3", sa.String(length=100), nullable=True),
        sa.Column("data4", sa.String(length=100), nullable=True),
        sa.Column("data5", sa.String(length=100), nullable=True),
        sa.Column("data", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_log")),
    )
    op.create_index(op.f("ix_queue_log_time"), "queue_log", ["time"], unique=False)
    op.create_index(op.f("ix_queue_log_callid"), "queue_log", ["callid"], unique=False)
    op.create_table(
        "queue_log_cursors",
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("settled_id", _ID, nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_queue_log_cursors")),
    )


def downgrade() -> None:
    op.drop_table("queue_log_cursors")
    op.drop_index(op.f("ix_queue_log_callid"), table_name="queue_log")
    op.drop_index(op.f("ix_queue_log_time"), table_name="queue_log")
    op.drop_table("queue_log")
