"""The audit log in the database: append-only, each row's hash covering the previous row's."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from bot.core.audit import AuditEntry, ChainCheck
from bot.core.parsing.redaction import redact_command_text
from bot.state.database import as_utc, audit_head, audit_log

GENESIS = "0" * 64


def entry_hash(
    *, prev_hash: str, at: datetime, event: str, actor: str, channel_id: str | None,
    engine: str | None, command: str, detail: str,
) -> str:  # fmt: skip
    fields = [prev_hash, at.astimezone(UTC).isoformat(), event, actor, channel_id, engine,
              command, detail]  # fmt: skip
    return hashlib.sha256(json.dumps(fields, separators=(",", ":")).encode()).hexdigest()


class SqlAuditLog:
    """``AuditTrail`` over SQLAlchemy Core. Appends are serialised through the head row."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        with self._engine.begin() as connection:
            if connection.execute(select(audit_head.c.id)).first() is None:
                connection.execute(insert(audit_head).values(id=1, hash=GENESIS))

    def record(
        self, *, event: str, actor: str, channel_id: str | None = None, engine: str | None = None,
        command: str = "", detail: str = "",
    ) -> None:  # fmt: skip
        at = datetime.now(UTC).replace(microsecond=0)
        shown = redact_command_text(command) if command else ""
        with self._engine.begin() as connection:
            prev_hash = self._lock_head(connection)
            digest = entry_hash(
                prev_hash=prev_hash, at=at, event=event, actor=actor, channel_id=channel_id,
                engine=engine, command=shown, detail=detail,
            )  # fmt: skip
            connection.execute(
                insert(audit_log).values(
                    at=at,
                    event=event,
                    actor=actor,
                    channel_id=channel_id,
                    engine=engine,
                    command=shown,
                    detail=detail,
                    prev_hash=prev_hash,
                    hash=digest,
                )
            )
            connection.execute(update(audit_head).where(audit_head.c.id == 1).values(hash=digest))

    @staticmethod
    def _lock_head(connection: Connection) -> str:
        # A no-op UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite) before
        # the head is read, so two appends can never chain to the same predecessor.
        connection.execute(
            update(audit_head).where(audit_head.c.id == 1).values(hash=audit_head.c.hash)
        )
        return str(connection.execute(select(audit_head.c.hash)).scalar_one())

    def recent(self, count: int) -> list[AuditEntry]:
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(audit_log).order_by(audit_log.c.id.desc()).limit(count)
            ).all()
        return [_entry(row._mapping) for row in rows]

    def verify(self) -> ChainCheck:
        """Recompute the chain: an edited, removed or inserted row breaks it."""
        prev = GENESIS
        count = 0
        with self._engine.connect() as connection:
            for row in connection.execute(select(audit_log).order_by(audit_log.c.id)):
                values = row._mapping
                count += 1
                if values["prev_hash"] != prev:
                    return ChainCheck(ok=False, entries=count, first_bad=int(values["id"]),
                                      problem="does not follow the entry before it")  # fmt: skip
                expected = entry_hash(
                    prev_hash=prev, at=as_utc(values["at"]), event=values["event"],
                    actor=values["actor"], channel_id=values["channel_id"],
                    engine=values["engine"], command=values["command"], detail=values["detail"],
                )  # fmt: skip
                if expected != values["hash"]:
                    return ChainCheck(ok=False, entries=count, first_bad=int(values["id"]),
                                      problem="was changed after it was written")  # fmt: skip
                prev = values["hash"]
            head = str(connection.execute(select(audit_head.c.hash)).scalar_one())
        if head != prev:
            return ChainCheck(ok=False, entries=count, problem="newest entries were removed")
        return ChainCheck(ok=True, entries=count)


def _entry(values: object) -> AuditEntry:
    row = dict(values)  # type: ignore[call-overload]
    return AuditEntry(
        id=int(row["id"]), at=as_utc(row["at"]), event=row["event"], actor=row["actor"],
        channel_id=row["channel_id"], engine=row["engine"], command=row["command"],
        detail=row["detail"],
    )  # fmt: skip
