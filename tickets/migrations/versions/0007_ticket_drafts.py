"""Operators' ticket drafts, written during the call (issue 11, item 4).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_drafts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_uniqueid", sa.String(length=64), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("seat", sa.String(length=80), nullable=False),
        sa.Column("queue", sa.String(length=80), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("matter", sa.String(length=80), nullable=True),
        sa.Column("district", sa.String(length=40), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("resolved_on_call", sa.Boolean(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_drafts")),
        sa.UniqueConstraint("call_uniqueid", name=op.f("uq_ticket_drafts_call_uniqueid")),
    )
    op.create_index(op.f("ix_ticket_drafts_linkedid"), "ticket_drafts", ["linkedid"])
    op.create_index(op.f("ix_ticket_drafts_operator_id"), "ticket_drafts", ["operator_id"])
    op.create_index(op.f("ix_ticket_drafts_status"), "ticket_drafts", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_drafts_status"), table_name="ticket_drafts")
    op.drop_index(op.f("ix_ticket_drafts_operator_id"), table_name="ticket_drafts")
    op.drop_index(op.f("ix_ticket_drafts_linkedid"), table_name="ticket_drafts")
    op.drop_table("ticket_drafts")
