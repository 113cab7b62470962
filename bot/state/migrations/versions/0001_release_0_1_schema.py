"""The schema of release 0.1 (made by create_all before migrations existed): approvals,
their votes and executions, the audit chain, housekeeping runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-29 21:04:49.852774
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database from before migrations already has some or all of these (create_all made
    # them at every start): only the missing ones are made, as create_all would have.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "approvals" not in existing:
        op.create_table(
            "approvals",
            sa.Column(
                "id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                autoincrement=True,
                nullable=False,
            ),
            sa.Column("state", sa.String(length=16), nullable=False),
            sa.Column("requester", sa.String(length=32), nullable=False),
            sa.Column("channel_id", sa.String(length=32), nullable=True),
            sa.Column("engine", sa.String(length=128), nullable=False),
            sa.Column("command_text", sa.Text(), nullable=False),
            sa.Column("plan", sa.JSON(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("message_channel", sa.String(length=32), nullable=True),
            sa.Column("message_ts", sa.String(length=32), nullable=True),
            sa.Column("outcome", sa.Text(), nullable=False),
            sa.Column("auto_run", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("approvals", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_approvals_state"), ["state"], unique=False)
    if "audit_entries" not in existing:
        op.create_table(
            "audit_entries",
            sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("event", sa.String(length=32), nullable=False),
            sa.Column("actor", sa.String(length=32), nullable=False),
            sa.Column("channel_id", sa.String(length=32), nullable=True),
            sa.Column("engine", sa.String(length=128), nullable=True),
            sa.Column("command", sa.Text(), nullable=False),
            sa.Column("detail", sa.Text(), nullable=False),
            sa.Column("prev_hash", sa.String(length=128), nullable=False),
            sa.Column("hash", sa.String(length=128), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    if "audit_head" not in existing:
        op.create_table(
            "audit_head",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("hash", sa.String(length=64), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    if "audit_log" not in existing:
        op.create_table(
            "audit_log",
            sa.Column(
                "id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                autoincrement=True,
                nullable=False,
            ),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("event", sa.String(length=32), nullable=False),
            sa.Column("actor", sa.String(length=32), nullable=False),
            sa.Column("channel_id", sa.String(length=32), nullable=True),
            sa.Column("engine", sa.String(length=128), nullable=True),
            sa.Column("command", sa.Text(), nullable=False),
            sa.Column("detail", sa.Text(), nullable=False),
            sa.Column("prev_hash", sa.String(length=64), nullable=False),
            sa.Column("hash", sa.String(length=64), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    if "cleanup_runs" not in existing:
        op.create_table(
            "cleanup_runs",
            sa.Column("engine", sa.String(length=128), nullable=False),
            sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
            sa.Column("claimed_by", sa.String(length=64), nullable=False),
            sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("result", sa.Text(), nullable=False),
            sa.UniqueConstraint("engine", "scheduled_for"),
        )
    if "approval_executions" not in existing:
        op.create_table(
            "approval_executions",
            sa.Column(
                "approval_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.Column("holder", sa.String(length=64), nullable=False),
            sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(
                ["approval_id"],
                ["approvals.id"],
            ),
            sa.PrimaryKeyConstraint("approval_id"),
        )
        with op.batch_alter_table("approval_executions", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_approval_executions_holder"), ["holder"], unique=False
            )
    if "approval_votes" not in existing:
        op.create_table(
            "approval_votes",
            sa.Column(
                "approval_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.Column("user_id", sa.String(length=32), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(
                ["approval_id"],
                ["approvals.id"],
            ),
            sa.UniqueConstraint("approval_id", "user_id"),
        )


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_table("approval_votes")
    with op.batch_alter_table("approval_executions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_executions_holder"))

    op.drop_table("approval_executions")
    op.drop_table("cleanup_runs")
    op.drop_table("audit_log")
    op.drop_table("audit_head")
    op.drop_table("audit_entries")
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approvals_state"))

    op.drop_table("approvals")
    # ### end Alembic commands ###
