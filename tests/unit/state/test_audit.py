"""The audit log's hash chain: intact when untouched, broken by any edit, serial under load."""

from __future__ import annotations

import threading

from sqlalchemy import delete, update

from bot.state.audit import SqlAuditLog
from bot.state.database import audit_log, open_database


def log_at(url: str) -> tuple[SqlAuditLog, object]:
    engine = open_database(url)
    return SqlAuditLog(engine=engine), engine


def test_chain_verifies_and_redacts(database_url: str) -> None:
    audit, _ = log_at(database_url)
    audit.record(event="executed", actor="U1", channel_id="C1", engine="local",
                 command="run -e TOKEN=secret busybox", detail="ok")  # fmt: skip
    audit.record(event="denied", actor="U2", command="rm web", detail="needs operator")
    check = audit.verify()
    assert check.ok and check.entries == 2
    newest = audit.recent(1)[0]
    assert newest.event == "denied" and newest.actor == "U2"
    assert "secret" not in audit.recent(2)[1].command


def test_an_edited_row_is_detected(database_url: str) -> None:
    audit, engine = log_at(database_url)
    for index in range(5):
        audit.record(event="executed", actor=f"U{index}", command=f"rm c{index}")
    with engine.begin() as connection:  # type: ignore[attr-defined]
        connection.execute(update(audit_log).where(audit_log.c.id == 3).values(actor="U9"))
    check = audit.verify()
    assert not check.ok and check.first_bad == 3 and "changed" in check.problem


def test_a_removed_row_is_detected(database_url: str) -> None:
    audit, engine = log_at(database_url)
    for index in range(4):
        audit.record(event="executed", actor="U1", command=f"rm c{index}")
    with engine.begin() as connection:  # type: ignore[attr-defined]
        connection.execute(delete(audit_log).where(audit_log.c.id == 2))
    assert audit.verify().first_bad == 3
    with engine.begin() as connection:  # type: ignore[attr-defined]
        connection.execute(delete(audit_log).where(audit_log.c.id == 4))
    # Removing the newest entry is caught through the head hash.
    audit2, _ = log_at(database_url)
    assert not audit2.verify().ok


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
