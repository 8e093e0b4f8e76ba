"""Routing tickets to departments (issue 12): what the citizen asked (description, district,
address, the answer given) and the lifecycle's fields on tickets, the append-only trail of
steps, and a department for department users.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REFUSE = "ticket_steps is append-only: its rows are never updated or deleted"


def _ticket_columns() -> list[sa.Column]:  # fresh each time: a Column joins one table
    return [
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("district", sa.String(length=40), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("matter", sa.String(length=64), nullable=True),
        sa.Column("lead_department", sa.String(length=64), nullable=True),
        sa.Column("assisting", sa.JSON(), nullable=True),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("limit_amount", sa.SmallInteger(), nullable=True),
        sa.Column("limit_unit", sa.String(length=16), nullable=True),
        sa.Column("extension_days", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("extension_asked_days", sa.SmallInteger(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rating", sa.String(length=24), nullable=True),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("leader_instructed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("callback_attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("callback_last_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("repeat_of", sa.Integer(), nullable=True),
        sa.Column("intake_key", sa.String(length=100), nullable=True),
        sa.Column("intake_hash", sa.String(length=64), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        for column in _ticket_columns():
            batch.add_column(column)
        batch.create_unique_constraint(op.f("uq_tickets_intake_key"), ["intake_key"])
    op.create_index(op.f("ix_tickets_lead_department"), "tickets", ["lead_department"])
    op.create_index(op.f("ix_tickets_status"), "tickets", ["status"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("department", sa.String(length=64), nullable=True))
    op.create_table(
        "ticket_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=24), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=False),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_steps_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_steps")),
    )
    op.create_index(op.f("ix_ticket_steps_ticket_id"), "ticket_steps", ["ticket_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION ticket_steps_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{_REFUSE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER ticket_steps_append_only BEFORE UPDATE OR DELETE ON ticket_steps "
            "FOR EACH ROW EXECUTE FUNCTION ticket_steps_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ticket_steps_no_{verb.lower()} BEFORE {verb} ON ticket_steps "
                f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ticket_steps_append_only ON ticket_steps")
        op.execute("DROP FUNCTION ticket_steps_append_only()")
    else:
        op.execute("DROP TRIGGER ticket_steps_no_update")
        op.execute("DROP TRIGGER ticket_steps_no_delete")
    op.drop_index(op.f("ix_ticket_steps_ticket_id"), table_name="ticket_steps")
    op.drop_table("ticket_steps")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("department")
    op.drop_index(op.f("ix_tickets_status"), table_name="tickets")
    op.drop_index(op.f("ix_tickets_lead_department"), table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint(op.f("uq_tickets_intake_key"), type_="unique")
        for column in reversed(_ticket_columns()):
            batch.drop_column(column.name)
