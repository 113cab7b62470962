"""Container upgrades: each step recorded before it is taken, so the next start can finish one;
and the updates told, each new digest once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "upgrades",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("engine", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("old_id", sa.String(length=64), nullable=False),
        sa.Column("old_image_id", sa.String(length=128), nullable=False),
        sa.Column("new_image", sa.Text(), nullable=False),
        sa.Column("new_image_id", sa.String(length=128), nullable=False),
        sa.Column("was_running", sa.Boolean(), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("new_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("active", sa.String(length=200), nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("active"),
    )

    op.create_table(
        "update_notices",
        sa.Column("engine", sa.String(length=128), nullable=False),
        sa.Column("container_id", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=128), nullable=False),
        sa.Column("noticed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("engine", "container_id", "digest"),
    )


def downgrade() -> None:
    op.drop_table("update_notices")
    op.drop_table("upgrades")
