"""An index on tickets.created_at: the early warning counts the tickets of a window of time
(tickets/burst_counts.py) every few minutes, over today and the baseline days.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_tickets_created_at"), "tickets", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_tickets_created_at"), table_name="tickets")
