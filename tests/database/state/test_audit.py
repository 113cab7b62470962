"""The audit log's keyed hash chain: intact when untouched, broken by any edit, serial under load,
and not rewritable by someone who can write the database but lacks CHATOPS_AUDIT_KEY."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import pytest
from sqlalchemy import create_engine, delete, func, insert, select, update
from sqlalchemy.engine import Engine

from bot.errors import AuditError
from bot.state.audit import (
    GENESIS,
    KEYED,
    SqlAuditLog,
    entry_hash,
    keyed_hash,
    verify_unkeyed,
)
from bot.state.database import as_utc, open_database
from bot.state.tables import audit_entries, audit_head, audit_log, metadata

KEY = b"k" * 32
OTHER_KEY = b"o" * 32

Hasher = Callable[..., str]


def log_at(url: str, key: bytes = KEY) -> tuple[SqlAuditLog, Engine]:
    engine = open_database(url)
    return SqlAuditLog(engine=engine, key=key), engine


def legacy_record(engine: Engine, *, actor: str, command: str = "") -> None:
    """What the code before keys wrote: a bare SHA-256, chained from audit_head, in audit_log."""
    at = datetime.now(UTC).replace(microsecond=0)
    with engine.begin() as connection:
        prev = connection.execute(select(audit_head.c.hash)).scalar_one_or_none()
        if prev is None:
            connection.execute(insert(audit_head).values(id=1, hash=GENESIS))
            prev = GENESIS
        fields = [prev, at.isoformat(), "executed", actor, None, None, command, ""]
        digest = hashlib.sha256(json.dumps(fields, separators=(",", ":")).encode()).hexdigest()
        connection.execute(
            insert(audit_log).values(
                at=at,
                event="executed",
                actor=actor,
                channel_id=None,
                engine=None,
                command=command,
                detail="",
                prev_hash=prev,
                hash=digest,
            )
        )
        connection.execute(update(audit_head).values(hash=digest))


def legacy_database(url: str, entries: int) -> None:
    """A database as the code before keys left it: audit_log and audit_head only."""
    engine = create_engine(url)
    metadata.create_all(engine, tables=[audit_log, audit_head])
    for index in range(entries):
        legacy_record(engine, actor=f"U{index}", command=f"rm old{index}")
    engine.dispose()


def move_head(engine: Engine, stored_hash: str) -> None:
    with engine.begin() as connection:
        connection.execute(update(audit_head).values(hash=stored_hash.removeprefix(KEYED)))


def rewrite_from(engine: Engine, first: int, hasher: Hasher) -> None:
    """Recompute the keyed entries from ``first`` on with ``hasher`` and move the head: all that
    someone with database access can do."""
    with engine.begin() as connection:
        before = select(audit_entries.c.hash).where(audit_entries.c.id == first - 1)
        prev = connection.execute(before).scalar_one_or_none() or GENESIS
        rows = connection.execute(
            select(audit_entries).where(audit_entries.c.id >= first).order_by(audit_entries.c.id)
        ).all()
        for row in rows:
            values = row._mapping
            digest = hasher(
                prev_hash=prev,
                at=as_utc(values["at"]),
                event=values["event"],
                actor=values["actor"],
                channel_id=values["channel_id"],
                engine=values["engine"],
                command=values["command"],
                detail=values["detail"],
            )
            connection.execute(
                update(audit_entries)
                .where(audit_entries.c.id == values["id"])
                .values(prev_hash=prev, hash=digest)
            )
            prev = digest
    move_head(engine, prev)


def count_entries(engine: Engine) -> int:
    with engine.connect() as connection:
        keyed = connection.execute(select(func.count()).select_from(audit_entries)).scalar_one()
        legacy = connection.execute(select(func.count()).select_from(audit_log)).scalar_one()
    return int(keyed) + int(legacy)


def test_chain_verifies(database_url: str) -> None:
    audit, _ = log_at(database_url)
    audit.record(
        event="executed",
        actor="U1",
        channel_id="C1",
        engine="local",
        command="run -e 'TOKEN=<redacted>' busybox",
        detail="ok",
    )
    audit.record(event="denied", actor="U2", command="rm web", detail="needs operator")
    check = audit.verify()
    assert check.ok and check.entries == 2 and check.unkeyed == 0
    newest = audit.recent(1)[0]
    assert newest.event == "denied" and newest.actor == "U2"
    assert audit.recent(2)[1].command == "run -e 'TOKEN=<redacted>' busybox"
    head = audit.head()
    assert head.entry == 2 and head.hash.startswith(KEYED) and len(head.hash) == 76


def test_an_empty_log_has_the_genesis_head(database_url: str) -> None:
    audit, _ = log_at(database_url)
    assert audit.head().entry == 0 and audit.head().hash == GENESIS
    assert audit.verify().ok


def test_an_edited_row_is_detected(database_url: str) -> None:
    audit, engine = log_at(database_url)
    for index in range(5):
        audit.record(event="executed", actor=f"U{index}", command=f"rm c{index}")
    with engine.begin() as connection:
        connection.execute(update(audit_entries).where(audit_entries.c.id == 3).values(actor="U9"))
    check = audit.verify()
    assert not check.ok and check.first_bad == 3 and "changed" in check.problem


def test_a_removed_row_is_detected(database_url: str) -> None:
    audit, engine = log_at(database_url)
    for index in range(4):
        audit.record(event="executed", actor="U1", command=f"rm c{index}")
    with engine.begin() as connection:
        connection.execute(delete(audit_entries).where(audit_entries.c.id == 2))
    assert audit.verify().first_bad == 3
    with engine.begin() as connection:
        connection.execute(delete(audit_entries).where(audit_entries.c.id == 4))
    # Removing the newest entry is caught through the head hash.
    audit2, _ = log_at(database_url)
    assert not audit2.verify().ok


def test_an_append_after_a_removal_keeps_the_gap_visible(database_url: str) -> None:
    audit, engine = log_at(database_url)
    for index in range(3):
        audit.record(event="executed", actor="U1", command=f"rm c{index}")
    with engine.begin() as connection:
        connection.execute(delete(audit_entries).where(audit_entries.c.id == 3))
    # The next entry chains to the head the database names, not to the newest row left.
    audit.record(event="executed", actor="U1", command="rm after")
    check = audit.verify()
    assert not check.ok and check.first_bad == 3 and "does not follow" in check.problem


def test_truncation_with_the_head_moved_is_caught_by_a_published_head(database_url: str) -> None:
    audit, engine = log_at(database_url)
    for index in range(3):
        audit.record(event="executed", actor="U1", command=f"rm c{index}")
    published = audit.head()
    for index in range(2):
        audit.record(event="executed", actor="U1", command=f"rm later{index}")
    assert audit.verify(published=published.hash).ok  # control: the published head is there
    second = audit.recent(4)[-1]
    assert second.id == 2
    with engine.begin() as connection:
        second_hash = connection.execute(
            select(audit_entries.c.hash).where(audit_entries.c.id == 2)
        ).scalar_one()
        connection.execute(delete(audit_entries).where(audit_entries.c.id >= 3))
    move_head(engine, second_hash)
    # The database alone cannot tell: what is left is a consistent chain with its head.
    assert audit.verify().ok
    check = audit.verify(published=published.hash)
    assert not check.ok and check.entries == 2
    assert f"published head {published.hash} is not in the chain" in check.problem


@pytest.mark.parametrize(
    ("hasher", "problem"),
    [
        (entry_hash, "unkeyed but follows a keyed entry"),
        (lambda **fields: KEYED + entry_hash(**fields), "another CHATOPS_AUDIT_KEY"),
    ],
    ids=["bare-sha256", "sha256-labelled-hmac"],
)
def test_an_edit_with_the_chain_recomputed_without_the_key_fails(
    database_url: str, hasher: Hasher, problem: str
) -> None:
    audit, engine = log_at(database_url)
    for index in range(5):
        audit.record(event="executed", actor=f"U{index}", command=f"rm c{index}")
    with engine.begin() as connection:
        connection.execute(update(audit_entries).where(audit_entries.c.id == 3).values(actor="U9"))
    rewrite_from(engine, 3, hasher)
    check = audit.verify()
    assert not check.ok and check.first_bad == 3 and problem in check.problem


def test_a_chain_recomputed_with_another_key_fails(database_url: str) -> None:
    audit, engine = log_at(database_url)
    for index in range(4):
        audit.record(event="executed", actor=f"U{index}")
    rewrite_from(engine, 1, partial(keyed_hash, key=OTHER_KEY))
    assert SqlAuditLog(engine=engine, key=OTHER_KEY).verify().ok  # control: it is a real chain
    check = audit.verify()
    assert not check.ok and check.first_bad == 1 and "another CHATOPS_AUDIT_KEY" in check.problem


def test_a_chain_rewritten_whole_without_the_key_is_caught_by_a_published_head(
    database_url: str,
) -> None:
    audit, engine = log_at(database_url)
    for index in range(4):
        audit.record(event="executed", actor=f"U{index}")
    published = audit.head()
    rewrite_from(engine, 1, entry_hash)
    # Rewritten from its first keyed entry on, the log looks like one written before keys: the
    # database alone cannot tell, so the unkeyed entries are counted (and shown by the CLI)...
    check = audit.verify()
    assert check.ok and check.unkeyed == 4
    # ... and the head published outside the database catches it.
    assert not audit.verify(published=published.hash).ok


def test_record_under_another_key_is_refused(database_url: str) -> None:
    audit, engine = log_at(database_url)
    audit.record(event="executed", actor="U1")
    audit.check_key()  # control: the key it was written with passes
    stranger = SqlAuditLog(engine=engine, key=OTHER_KEY)
    with pytest.raises(AuditError, match="written with another CHATOPS_AUDIT_KEY") as caught:
        stranger.record(event="executed", actor="U2")
    assert "\n" not in str(caught.value)
    with pytest.raises(AuditError):
        stranger.check_key()
    assert count_entries(engine) == 1
    audit.record(event="executed", actor="U3")
    assert audit.verify().ok and audit.verify().entries == 2


def test_a_legacy_chain_followed_by_keyed_entries_verifies(database_url: str) -> None:
    legacy_database(database_url, 3)
    assert verify_unkeyed(open_database(database_url)) is not None  # no key needed yet
    audit, engine = log_at(database_url)
    assert audit.verify().ok and audit.verify().unkeyed == 3
    audit.check_key()  # an unkeyed tip is no other key's
    audit.record(event="executed", actor="U8", command="rm new")
    audit.record(event="executed", actor="U9", command="rm newer")
    check = audit.verify()
    assert check.ok and check.entries == 5 and check.unkeyed == 3
    with engine.connect() as connection:
        last_legacy = connection.execute(select(audit_log.c.hash).where(audit_log.c.id == 3))
        first_keyed = connection.execute(select(audit_entries).where(audit_entries.c.id == 4))
        assert first_keyed.one().prev_hash == last_legacy.scalar_one()
    assert [entry.id for entry in audit.recent(10)] == [5, 4, 3, 2, 1]
    assert [entry.actor for entry in audit.recent(3)] == ["U9", "U8", "U2"]
    assert verify_unkeyed(engine) is None  # keyed entries need the key
    # Legacy entries are still checked: an edit among them is caught.
    with engine.begin() as connection:
        connection.execute(update(audit_log).where(audit_log.c.id == 2).values(actor="U7"))
    check = audit.verify()
    assert not check.ok and check.first_bad == 2 and "changed" in check.problem


def test_a_legacy_entry_after_a_keyed_one_fails(database_url: str) -> None:
    legacy_database(database_url, 2)
    audit, engine = log_at(database_url)
    audit.record(event="executed", actor="U3")
    audit.record(event="executed", actor="U4")
    newest = audit.head()
    # An attacker without the key extends the keyed chain with a plain SHA-256 entry.
    at = datetime.now(UTC).replace(microsecond=0)
    forged = entry_hash(
        prev_hash=newest.hash,
        at=at,
        event="executed",
        actor="U5",
        channel_id=None,
        engine=None,
        command="",
        detail="",
    )
    with engine.begin() as connection:
        connection.execute(
            insert(audit_entries).values(
                id=5,
                at=at,
                event="executed",
                actor="U5",
                command="",
                detail="",
                prev_hash=newest.hash,
                hash=forged,
            )
        )
    move_head(engine, forged)
    check = audit.verify()
    assert not check.ok and check.first_bad == 5 and "follows a keyed entry" in check.problem


def test_the_unkeyed_code_appending_after_keyed_entries_fails(database_url: str) -> None:
    legacy_database(database_url, 2)
    audit, engine = log_at(database_url)
    audit.record(event="executed", actor="U3")
    assert audit.verify().ok
    legacy_record(engine, actor="U4")  # the old version of the bot, started again
    assert not audit.verify().ok


def test_concurrent_appends_keep_one_chain(database_url: str) -> None:
    audit, _ = log_at(database_url)

    def append_ten(index: int) -> None:
        for _ in range(10):
            audit.record(event="read", actor=f"U{index}")

    threads = [threading.Thread(target=append_ten, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check = audit.verify()
    assert check.ok and check.entries == 80
