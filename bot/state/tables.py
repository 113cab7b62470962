"""The bot's tables (SQLAlchemy Core): what the code reads and writes, and what the schema's
migrations are checked against. ``bot.state.database`` opens a database holding them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# Integer on SQLite keeps ROWID autoincrement; BigInteger elsewhere.
_ID = BigInteger().with_variant(Integer(), "sqlite")

approvals = Table(
    "approvals",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("state", String(16), nullable=False, index=True),
    Column("requester", String(32), nullable=False),
    Column("channel_id", String(32)),
    Column("engine", String(128), nullable=False),
    Column("command_text", Text, nullable=False),
    Column("plan", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("message_channel", String(32)),
    Column("message_ts", String(32)),
    Column("outcome", Text, nullable=False, default=""),
    # A veto-window request: it runs when it expires, unless someone cancelled it.
    Column("auto_run", Boolean, nullable=False, default=False),
    # HMAC-SHA256 over every column above and the row's votes (bot.state.approval_macs),
    # under a key derived from CHATOPS_AUDIT_KEY; NULL: stored before rows carried one.
    Column("mac", String(128), nullable=True),
)

# The lease of an execution under way: its process renews heartbeat_at while it runs, so a
# lease that goes stale means the process died (the request is then reported interrupted).
approval_executions = Table(
    "approval_executions",
    metadata,
    Column("approval_id", _ID, ForeignKey("approvals.id"), primary_key=True),
    Column("holder", String(64), nullable=False, index=True),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
)

# A report owed about a request's end, written in the same transaction as the move that ended
# it: a sweep that stops (a crash, a restart) between the move and the report leaves the row,
# and the next sweep, in any replica, reports it (claimed until claimed_until, then deleted).
approval_reports = Table(
    "approval_reports",
    metadata,
    Column("approval_id", _ID, ForeignKey("approvals.id"), primary_key=True),
    Column("owed_at", DateTime(timezone=True), nullable=False),
    Column("claimed_until", DateTime(timezone=True), nullable=True),
)

approval_votes = Table(
    "approval_votes",
    metadata,
    Column("approval_id", _ID, ForeignKey("approvals.id"), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("approval_id", "user_id"),
)


def _audit_columns(*, hash_length: int) -> list[Column[Any]]:
    """The columns of an audit table (the two differ only in the width of their hashes)."""
    return [
        Column("at", DateTime(timezone=True), nullable=False),
        Column("event", String(32), nullable=False),
        Column("actor", String(32), nullable=False),
        Column("channel_id", String(32)),
        Column("engine", String(128)),
        Column("command", Text, nullable=False, default=""),
        Column("detail", Text, nullable=False, default=""),
        Column("prev_hash", String(hash_length), nullable=False),
        Column("hash", String(hash_length), nullable=False),
    ]


audit_log = Table(
    "audit_log",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    *_audit_columns(hash_length=64),
)

# Keyed entries. audit_log's hash columns are VARCHAR(64), too narrow for "hmac-sha256:" and 64
# hex digits, and create_all alters no existing table: rows written before keys stay in
# audit_log and the chain continues here, numbered on from them (ids are given, not generated).
audit_entries = Table(
    "audit_entries",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    *_audit_columns(hash_length=128),
)

# One row holding the newest audit hash: updating it serialises appends on every database.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("hash", String(64), nullable=False),
)


# One row per scheduled housekeeping run: the unique key lets exactly one replica claim it.
cleanup_runs = Table(
    "cleanup_runs",
    metadata,
    Column("engine", String(128), nullable=False),
    Column("scheduled_for", DateTime(timezone=True), nullable=False),
    Column("claimed_by", String(64), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("result", Text, nullable=False, default=""),
    UniqueConstraint("engine", "scheduled_for"),
)

# Each engine's event stream: the last event seen (resume point) and the process streaming
# it (a lease renewed while it runs, so that with several processes exactly one streams).
event_streams = Table(
    "event_streams",
    metadata,
    Column("engine", String(128), primary_key=True),
    Column("cursor_ns", BigInteger, nullable=True),
    Column("owner", String(128), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
)

# Slack Events API deliveries taken (event_id): a retried delivery, to this process or to
# another one on the same database, is not run twice. Rows older than a day are dropped.
slack_events = Table(
    "slack_events",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
)

# Container upgrades, each step recorded before it is taken (bot.core.upgrades). While one is
# unfinished, ``active`` holds "engine/container ID": unique, so two replicas cannot upgrade
# one container at once; NULL once finished (NULLs never collide).
upgrades = Table(
    "upgrades",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("engine", String(128), nullable=False),
    Column("name", String(256), nullable=False),
    Column("old_id", String(64), nullable=False),
    Column("old_image_id", String(128), nullable=False),
    Column("new_image", Text, nullable=False),
    Column("new_image_id", String(128), nullable=False),
    Column("was_running", Boolean, nullable=False),
    Column("phase", String(16), nullable=False),
    Column("new_id", String(64)),
    Column("reason", Text, nullable=False, default=""),
    Column("active", String(200), unique=True),
    Column("saved_at", DateTime(timezone=True), nullable=False),
)

# Updates told to the notification channel: one row per (engine, container, digest), so each
# new digest is posted once, by one replica.
update_notices = Table(
    "update_notices",
    metadata,
    Column("engine", String(128), primary_key=True),
    Column("container_id", String(64), primary_key=True),
    Column("digest", String(128), primary_key=True),
    Column("noticed_at", DateTime(timezone=True), nullable=False),
)

# What the bot is about to do to containers (bot.core.notices.intents), written before it
# acts: the event watcher, in this replica or another, does not tell what it caused as a
# crash. Rows are dropped an hour after they end (the longest replay of missed events).
intents = Table(
    "intents",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("engine", String(128), nullable=False),
    Column("action", String(32), nullable=False),
    Column("targets", JSON, nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False, index=True),
    Column("finished_at", DateTime(timezone=True)),
)

# Silenced containers (``silence``, the notices' Silence buttons): a container name or glob
# on an engine, until a time; ``ended_at`` set by ``unsilence``. Kept for the audit of who
# silenced what.
silences = Table(
    "silences",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("engine", String(128), nullable=False),
    Column("pattern", String(256), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("until", DateTime(timezone=True), nullable=False, index=True),
    Column("ended_at", DateTime(timezone=True)),
    Column("ended_by", String(64)),
)

# Notices held during [notifications] quiet_hours, counted per container and kind, until the
# digest for their channel is posted (whichever replica posts it takes the rows): a restart
# during the hours loses nothing.
held_notices = Table(
    "held_notices",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("channel", String(64), nullable=False),
    Column("engine", String(128), nullable=False),
    Column("name", String(256), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("count", Integer, nullable=False),
    Column("first_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("channel", "engine", "name", "kind", name="uq_held_notices"),
)
