"""Reports owed about requests a sweep ended (interrupted, expired, run when their veto window
ended), kept until they are made: a sweep cut short between the move and the report no longer
loses it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 23:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "approval_reports",
        sa.Column("approval_id", _ID, nullable=False),
        sa.Column("owed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["approval_id"], ["approvals.id"]),
        sa.PrimaryKeyConstraint("approval_id"),
    )


def downgrade() -> None:
    op.drop_table("approval_reports")
