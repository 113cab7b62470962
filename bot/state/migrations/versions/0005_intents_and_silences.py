"""What the bot is about to do to containers (intents), and silenced containers.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "intents",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("engine", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_intents_started_at", "intents", ["started_at"])
    op.create_table(
        "silences",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("engine", sa.String(length=128), nullable=False),
        sa.Column("pattern", sa.String(length=256), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_silences_until", "silences", ["until"])


def downgrade() -> None:
    op.drop_index("ix_silences_until", table_name="silences")
    op.drop_table("silences")
    op.drop_index("ix_intents_started_at", table_name="intents")
    op.drop_table("intents")
