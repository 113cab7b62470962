"""The audit head publisher: publishes a changed head once, never an unchanged or empty one, and
its thread survives failures. No sleeps: ``publish_once`` is driven directly."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from bot.audit_head import AuditHeadPublisher, head_line
from bot.core.audit import AuditHead
from bot.state.audit import GENESIS, SqlAuditLog
from bot.state.database import open_database


class Heads:
    """A stand-in audit log whose head the test sets."""

    def __init__(self, head: AuditHead) -> None:
        self.current = head
        self.failure: Exception | None = None
        self.asked = threading.Event()

    def head(self) -> AuditHead:
        self.asked.set()
        if self.failure is not None:
            raise self.failure
        return self.current


def keyed(entry: int) -> AuditHead:
    return AuditHead(entry=entry, hash="hmac-sha256:" + f"{entry:x}" * 64)


def make(heads: Heads) -> tuple[AuditHeadPublisher, list[str]]:
    published: list[str] = []
    publisher = AuditHeadPublisher(
        audit=heads, publish=published.append, log=logging.getLogger("test.audit_head")
    )
    return publisher, published


def test_a_changed_head_is_published_and_an_unchanged_one_is_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    heads = Heads(keyed(7))
    publisher, published = make(heads)
    with caplog.at_level(logging.INFO, logger="test.audit_head"):
        assert publisher.publish_once()
    line = f"Audit head: entry 7, {keyed(7).hash}"
    assert published == [line]
    assert [record.getMessage() for record in caplog.records] == [line]
    assert not publisher.publish_once()
    assert published == [line]
    heads.current = keyed(8)
    assert publisher.publish_once()
    assert published == [line, head_line(keyed(8))]


def test_an_empty_log_is_not_published() -> None:
    heads = Heads(AuditHead(entry=0, hash=GENESIS))
    publisher, published = make(heads)
    assert not publisher.publish_once()
    heads.current = keyed(1)
    assert publisher.publish_once() and len(published) == 1


def test_a_failed_publication_is_tried_again() -> None:
    heads = Heads(keyed(3))
    calls: list[str] = []

    def flaky(line: str) -> None:
        calls.append(line)
        if len(calls) == 1:
            raise OSError("Slack is down")

    publisher = AuditHeadPublisher(audit=heads, publish=flaky, log=None)
    with pytest.raises(OSError):
        publisher.publish_once()
    assert publisher.publish_once()  # the same head, since it never got out
    assert calls == [head_line(keyed(3))] * 2


def test_the_thread_logs_failures_and_stops(caplog: pytest.LogCaptureFixture) -> None:
    heads = Heads(keyed(1))
    heads.failure = RuntimeError("database gone")
    publisher = AuditHeadPublisher(
        audit=heads,
        publish=lambda line: None,
        log=logging.getLogger("test.audit_head"),
        interval=timedelta(hours=1),
    )
    with caplog.at_level(logging.ERROR, logger="test.audit_head"):
        publisher.start()
        assert heads.asked.wait(10)
        publisher.stop()
    assert "could not publish the audit head" in caplog.text
    assert "database gone" in caplog.text


def test_the_thread_publishes_at_start_and_on_stop() -> None:
    heads = Heads(keyed(1))
    published: list[str] = []
    first = threading.Event()

    def publish(line: str) -> None:
        published.append(line)
        first.set()

    publisher = AuditHeadPublisher(audit=heads, publish=publish, log=None)
    publisher.start()
    assert first.wait(10)
    heads.current = keyed(2)  # written after the last publication: covered on the way out
    publisher.stop()
    assert published == [head_line(keyed(1)), head_line(keyed(2))]


def test_a_published_line_carries_the_full_hash_of_the_real_log(tmp_path: Path) -> None:
    audit = SqlAuditLog(engine=open_database(f"sqlite:///{tmp_path}/a.db"), key=b"k" * 32)
    audit.record(event="executed", actor="U1")
    publisher, published = make(Heads(audit.head()))
    publisher.publish_once()
    entry, digest = published[0].removeprefix("Audit head: entry ").split(", ")
    assert entry == "1" and audit.verify(published=digest).ok


def test_a_non_positive_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        AuditHeadPublisher(audit=Heads(keyed(1)), publish=print, log=None, interval=timedelta(0))
