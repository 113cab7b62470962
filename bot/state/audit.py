"""The audit log in the database: append-only, each entry's keyed hash covering the previous one's.

Entries are chained with HMAC-SHA256 under CHATOPS_AUDIT_KEY, which never enters the database:
whoever can write the database but lacks the key can neither edit an entry and recompute the
chain nor extend it. Entries written before the key existed hold a bare SHA-256 hex digest; the
chain runs through them with plain SHA-256 up to the first keyed entry, and no unkeyed entry may
follow a keyed one. Deleting the newest entries (and moving the head stored here) is caught
against a head published outside the database (``bot.audit_head``): ``verify(published=...)``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import (
    insert,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.engine import Connection, Engine, RowMapping

from bot.core.audit import AuditEntry, AuditHead, ChainCheck
from bot.errors import AuditError, ConfigError
from bot.state.database import as_utc
from bot.state.tables import audit_entries, audit_head, audit_log

GENESIS = "0" * 64
KEYED = "hmac-sha256:"
MIN_KEY_CHARACTERS = 32

_COLUMNS = (
    "id",
    "at",
    "event",
    "actor",
    "channel_id",
    "engine",
    "command",
    "detail",
    "prev_hash",
    "hash",
)


def audit_key(secret: SecretStr | None) -> bytes:
    """CHATOPS_AUDIT_KEY as the HMAC key; a one-line ``ConfigError`` if missing or too short."""
    make_one = "make one with: python -c 'import secrets; print(secrets.token_hex(32))'"
    if secret is None:
        raise ConfigError(f"CHATOPS_AUDIT_KEY is not set (it keys the audit log); {make_one}")
    text = secret.get_secret_value()
    if len(text) < MIN_KEY_CHARACTERS:
        raise ConfigError(
            f"CHATOPS_AUDIT_KEY is too short: it needs at least {MIN_KEY_CHARACTERS} characters; "
            f"{make_one}"
        )
    return text.encode()


def _message(
    *,
    prev_hash: str,
    at: datetime,
    event: str,
    actor: str,
    channel_id: str | None,
    engine: str | None,
    command: str,
    detail: str,
) -> bytes:
    fields = [
        prev_hash,
        at.astimezone(UTC).isoformat(),
        event,
        actor,
        channel_id,
        engine,
        command,
        detail,
    ]
    return json.dumps(fields, separators=(",", ":")).encode()


def entry_hash(
    *,
    prev_hash: str,
    at: datetime,
    event: str,
    actor: str,
    channel_id: str | None,
    engine: str | None,
    command: str,
    detail: str,
) -> str:
    """The unkeyed (legacy) hash: a bare SHA-256 hex digest, as written before keys."""
    return hashlib.sha256(
        _message(
            prev_hash=prev_hash,
            at=at,
            event=event,
            actor=actor,
            channel_id=channel_id,
            engine=engine,
            command=command,
            detail=detail,
        )
    ).hexdigest()


def keyed_hash(
    *,
    key: bytes,
    prev_hash: str,
    at: datetime,
    event: str,
    actor: str,
    channel_id: str | None,
    engine: str | None,
    command: str,
    detail: str,
) -> str:
    """``hmac-sha256:`` and the HMAC-SHA256 hex digest of the same fields."""
    message = _message(
        prev_hash=prev_hash,
        at=at,
        event=event,
        actor=actor,
        channel_id=channel_id,
        engine=engine,
        command=command,
        detail=detail,
    )
    return KEYED + hmac.new(key, message, hashlib.sha256).hexdigest()


def _digest(stored: str) -> str:
    # audit_head.hash is VARCHAR(64) too: it holds a keyed head's hex digest without its scheme.
    return stored.removeprefix(KEYED)


class _KeyNeeded(Exception):
    """A keyed entry was met while verifying without a key."""


class SqlAuditLog:
    """``AuditTrail`` over SQLAlchemy Core, keyed. Appends are serialised through the head row."""

    def __init__(self, *, engine: Engine, key: bytes) -> None:
        self._engine = engine
        self._key = key
        _prepare(engine)

    def record(
        self,
        *,
        event: str,
        actor: str,
        channel_id: str | None = None,
        engine: str | None = None,
        command: str = "",
        detail: str = "",
    ) -> None:
        at = datetime.now(UTC).replace(microsecond=0)
        shown = command  # rendered from the parsed operation: values already redacted
        with self._engine.begin() as connection:
            stored_head = self._lock_head(connection)
            newest = _newest(connection)
            self._refuse_foreign(newest)
            prev_hash = _chain_tip(stored_head, newest)
            digest = keyed_hash(
                key=self._key,
                prev_hash=prev_hash,
                at=at,
                event=event,
                actor=actor,
                channel_id=channel_id,
                engine=engine,
                command=shown,
                detail=detail,
            )
            connection.execute(
                insert(audit_entries).values(
                    id=1 if newest is None else int(newest["id"]) + 1,
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
            connection.execute(
                update(audit_head).where(audit_head.c.id == 1).values(hash=_digest(digest))
            )

    @staticmethod
    def _lock_head(connection: Connection) -> str:
        # A no-op UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite) before
        # the head is read, so two appends can never chain to the same predecessor.
        connection.execute(
            update(audit_head).where(audit_head.c.id == 1).values(hash=audit_head.c.hash)
        )
        return str(connection.execute(select(audit_head.c.hash)).scalar_one())

    def check_key(self) -> None:
        """Raise ``AuditError`` if the newest entry is keyed under another key (for start-up)."""
        with self._engine.connect() as connection:
            self._refuse_foreign(_newest(connection))

    def _refuse_foreign(self, newest: RowMapping | None) -> None:
        # Only the newest entry is checked on each append (verify() checks them all): a chain
        # whose tip we cannot reproduce must not be extended, or our key would bless it.
        if newest is None or not newest["hash"].startswith(KEYED):
            return
        expected = keyed_hash(key=self._key, **_fields(newest))
        if not hmac.compare_digest(expected, newest["hash"]):
            raise AuditError(
                "The audit log was written with another CHATOPS_AUDIT_KEY (or its newest entry, "
                f"{newest['id']}, was altered): refusing to extend it. Start the bot with the key "
                "it was written with; `python -m bot audit verify` checks the chain."
            )

    def head(self) -> AuditHead:
        """The newest entry and its hash, to publish outside the database."""
        with self._engine.connect() as connection:
            newest = _newest(connection)
        if newest is None:
            return AuditHead(entry=0, hash=GENESIS)
        return AuditHead(entry=int(newest["id"]), hash=str(newest["hash"]))

    def recent(self, count: int) -> list[AuditEntry]:
        columns = [audit_log.c[name] for name in _COLUMNS]
        keyed = [audit_entries.c[name] for name in _COLUMNS]
        both = union_all(select(*columns), select(*keyed)).subquery()
        with self._engine.connect() as connection:
            rows = connection.execute(select(both).order_by(both.c.id.desc()).limit(count)).all()
        return [_entry(row._mapping) for row in rows]

    def verify(self, *, published: str | None = None) -> ChainCheck:
        """Recompute the chain; ``published``: a head published earlier must be in it."""
        with self._engine.connect() as connection:
            return _verify(connection, key=self._key, published=published)


def verify_unkeyed(engine: Engine, *, published: str | None = None) -> ChainCheck | None:
    """Verify a chain without the key; None if it holds a keyed entry (only the key checks it)."""
    _prepare(engine)
    try:
        with engine.connect() as connection:
            return _verify(connection, key=None, published=published)
    except _KeyNeeded:
        return None


def _prepare(engine: Engine) -> None:
    # The head row is what appends lock.
    with engine.begin() as connection:
        if connection.execute(select(audit_head.c.id)).first() is None:
            connection.execute(insert(audit_head).values(id=1, hash=GENESIS))


def _newest(connection: Connection) -> RowMapping | None:
    """The entry with the highest id in either table (the keyed one on a tie)."""
    keyed = connection.execute(
        select(audit_entries).order_by(audit_entries.c.id.desc()).limit(1)
    ).first()
    legacy = connection.execute(select(audit_log).order_by(audit_log.c.id.desc()).limit(1)).first()
    if keyed is None or (legacy is not None and legacy.id > keyed.id):
        return None if legacy is None else legacy._mapping
    return keyed._mapping


def _chain_tip(stored_head: str, newest: RowMapping | None) -> str:
    """What the next entry chains to: the head the database names, in its full form.

    When the newest entry is not that head (entries removed without moving it), the stored
    head is used as it is, so the gap stays visible to verify() instead of being papered over.
    """
    if newest is not None and _digest(newest["hash"]) == stored_head:
        return str(newest["hash"])
    return stored_head


def _fields(values: RowMapping) -> dict[str, Any]:
    return {
        "prev_hash": values["prev_hash"],
        "at": as_utc(values["at"]),
        "event": values["event"],
        "actor": values["actor"],
        "channel_id": values["channel_id"],
        "engine": values["engine"],
        "command": values["command"],
        "detail": values["detail"],
    }


def _chain(connection: Connection) -> Iterator[RowMapping]:
    """Every entry of both tables in id order; on a tie the keyed one first."""
    legacy = select(
        *[audit_log.c[name] for name in _COLUMNS], literal_column("1").label("tie_break")
    )
    keyed = select(
        *[audit_entries.c[name] for name in _COLUMNS], literal_column("0").label("tie_break")
    )
    both = union_all(legacy, keyed).subquery()
    for row in connection.execute(select(both).order_by(both.c.id, both.c.tie_break)):
        yield row._mapping


def _verify(connection: Connection, *, key: bytes | None, published: str | None) -> ChainCheck:
    prev = GENESIS
    count = unkeyed = 0
    keyed_seen = False
    found = published is None

    def broken(problem: str, entry: int | None = None) -> ChainCheck:
        return ChainCheck(
            ok=False, entries=count, first_bad=entry, problem=problem, unkeyed=unkeyed
        )

    for values in _chain(connection):
        count += 1
        entry = int(values["id"])
        stored = str(values["hash"])
        if values["prev_hash"] != prev:
            return broken("does not follow the entry before it", entry)
        if stored.startswith(KEYED):
            if key is None:
                raise _KeyNeeded
            keyed_seen = True
            expected = keyed_hash(key=key, **_fields(values))
            problem = "was changed after it was written, or written with another CHATOPS_AUDIT_KEY"
        elif keyed_seen:
            # What an attacker without the key would write: refused, whatever its hash.
            return broken("is unkeyed but follows a keyed entry (a downgrade)", entry)
        else:
            unkeyed += 1
            expected = entry_hash(**_fields(values))
            problem = "was changed after it was written"
        if not hmac.compare_digest(expected, stored):
            return broken(problem, entry)
        found = found or stored == published
        prev = stored
    head = connection.execute(select(audit_head.c.hash)).scalar_one_or_none() or GENESIS
    if _digest(prev) != head:
        return broken("its newest entries were removed (the head stored with it names another)")
    if not found:
        return broken(
            f"the published head {published} is not in the chain: entries were removed or rewritten"
        )
    return ChainCheck(ok=True, entries=count, unkeyed=unkeyed)


def _entry(values: RowMapping) -> AuditEntry:
    return AuditEntry(
        id=int(values["id"]),
        at=as_utc(values["at"]),
        event=values["event"],
        actor=values["actor"],
        channel_id=values["channel_id"],
        engine=values["engine"],
        command=values["command"],
        detail=values["detail"],
    )
