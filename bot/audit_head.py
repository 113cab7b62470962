"""Publishes the audit chain's head outside the database, so truncation can be proven.

Whoever can write the database can delete the newest audit entries and move the head stored
there; they cannot unpublish a line already in a Slack channel or a log shipped elsewhere.
``python -m bot audit verify --head HASH`` then fails when a published head is no longer in
the chain.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from bot.core.audit import AuditHead


class HasHead(Protocol):
    def head(self) -> AuditHead: ...


def head_line(head: AuditHead) -> str:
    """The published line, with the full hash (``verify --head`` takes it as it is)."""
    return f"Audit head: entry {head.entry}, {head.hash}"


class AuditHeadPublisher:
    """Publishes the head when it changed, every ``interval``, on a daemon thread."""

    def __init__(
        self,
        *,
        audit: HasHead,
        publish: Callable[[str], None],
        log: logging.Logger | None = None,
        interval: timedelta = timedelta(hours=1),
    ) -> None:
        if interval <= timedelta(0):
            raise ValueError(f"interval must be positive, not {interval}")
        self._audit = audit
        self._publish = publish
        self._log = log or logging.getLogger(__name__)
        self._interval = interval.total_seconds()
        self._last: AuditHead | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def publish_once(self) -> bool:
        """Publish the head if it changed since the last publication; True if it was published.

        An empty log has nothing to prove and is not published. A failing ``publish`` raises,
        and the same head is tried again next time.
        """
        with self._lock:
            head = self._audit.head()
            if head == self._last or head.entry == 0:
                return False
            line = head_line(head)
            self._log.info("%s", line)
            self._publish(line)
            self._last = head
            return True

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="audit-head", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread; it publishes once more on its way out, covering the last entries."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while True:
            self._publish_logged()
            if self._stopping.wait(self._interval):
                self._publish_logged()
                return

    def _publish_logged(self) -> None:
        # The thread must outlive a database or Slack outage: log and try again next interval.
        try:
            self.publish_once()
        except Exception:
            self._log.exception("could not publish the audit head")
