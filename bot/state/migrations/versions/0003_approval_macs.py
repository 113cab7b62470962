"""Approval requests sealed by a MAC: the approvals.mac column.

Rows stored before it have none (NULL) and are not given one: nobody can tell them from rows
edited before the upgrade. An unfinished one (pending, approved, executing) is never run: the
bot marks it tampered ("unverifiable") when it meets it and says so in the approvals channel;
finished ones stay as history, readable as they were.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Made only if missing, as 0002 does: a development build may have it already.
    columns = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("approvals")}
    if "mac" not in columns:
        with op.batch_alter_table("approvals", schema=None) as batch_op:
            batch_op.add_column(sa.Column("mac", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_column("mac")
