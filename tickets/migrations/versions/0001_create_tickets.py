"""Create the tickets table.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("caller_num", sa.String(length=64), nullable=True),
        sa.Column("caller_name", sa.String(length=100), nullable=True),
        sa.Column("queue", sa.String(length=80), nullable=True),
        sa.Column("seat", sa.String(length=80), nullable=True),
        sa.Column("linkedid", sa.String(length=64), nullable=True),
        sa.Column("call_uniqueid", sa.String(length=64), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("resolved_on_call", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint(
            "call_uniqueid", "answered_at", name=op.f("uq_tickets_call_uniqueid_answered_at")
        ),
        sa.UniqueConstraint("number", name=op.f("uq_tickets_number")),
        # SQLite: AUTOINCREMENT, so an id (and its ticket number) is never handed out twice.
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_tickets_caller_num"), "tickets", ["caller_num"], unique=False)
    op.create_index(op.f("ix_tickets_linkedid"), "tickets", ["linkedid"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_tickets_linkedid"), table_name="tickets")
    op.drop_index(op.f("ix_tickets_caller_num"), table_name="tickets")
    op.drop_table("tickets")
