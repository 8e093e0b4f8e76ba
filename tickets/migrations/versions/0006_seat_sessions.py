"""Seat sessions: who is signed in to which seat, paused why, kept by us because Asterisk
forgets its dynamic members and their pause reasons on a restart.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seat_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("interface", sa.String(length=80), nullable=False),
        sa.Column("member_name", sa.String(length=100), nullable=False),
        sa.Column("queues", sa.JSON(), nullable=False),
        sa.Column("signed_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_code", sa.String(length=32), nullable=True),
        sa.Column("paused_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seat_sessions")),
    )
    for column in ("username", "interface", "signed_out_at"):
        op.create_index(op.f(f"ix_seat_sessions_{column}"), "seat_sessions", [column], unique=False)


def downgrade() -> None:
    for column in ("signed_out_at", "interface", "username"):
        op.drop_index(op.f(f"ix_seat_sessions_{column}"), table_name="seat_sessions")
    op.drop_table("seat_sessions")
