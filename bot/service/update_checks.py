"""Scheduled update checks: the moved tags of each engine, each new digest told once to the
team, grouped per engine, with the registries that could not be asked."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from bot.core.engine import EngineDirectory
from bot.core.freezes import Window, skipped
from bot.core.operations import ListUpdates
from bot.core.results import UpdateList, UpdateRow
from bot.errors import ChatOpsError

log = logging.getLogger(__name__)


class SeenUpdates(Protocol):
    def claim(self, engine: str, container_id: str, digest: str) -> bool:
        """True the first time this digest is claimed for this container (by anyone)."""
        ...


# A skip is told once per window and engine, claimed like a digest under this pseudo-container
# (no container ID has brackets), so that replicas and later checks do not repeat it.
FROZEN_CLAIM = "[[freeze]]"


class UpdateBoard(Protocol):
    """Where the team is told (the notification channel)."""

    def post_updates(
        self, engine: str, rows: tuple[UpdateRow, ...], failures: tuple[tuple[str, str], ...]
    ) -> None: ...

    def post_problem(self, engine: str, text: str) -> None: ...

    def post_note(self, text: str) -> None: ...


class InMemorySeenUpdates:
    """``SeenUpdates`` for one process (unit tests)."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def claim(self, engine: str, container_id: str, digest: str) -> bool:
        with self._lock:
            key = (engine, container_id, digest)
            if key in self._seen:
                return False
            self._seen.add(key)
            return True


class UpdateChecks:
    """Runs ``updates`` on an engine and tells what is new."""

    def __init__(
        self,
        *,
        engines: EngineDirectory,
        seen: SeenUpdates,
        board: UpdateBoard,
        frozen: Callable[[str], Window | None] | None = None,
    ) -> None:
        self._engines = engines
        self._seen = seen
        self._board = board
        self._frozen = frozen

    def check(self, engine: str) -> tuple[UpdateRow, ...]:
        """Check ``engine``; returns the updates posted (new digests only). An engine that a
        [[freeze]] window holds for ``upgrade`` is not checked (its Upgrade buttons would be
        refused): that is told once per window."""
        window = self._frozen(engine) if self._frozen is not None else None
        if window is not None:
            if self._seen.claim(engine, FROZEN_CLAIM, window.start.isoformat()):
                self._board.post_note(f"The update check {skipped(window, engine=engine)}")
            return ()
        try:
            found = self._engines.get(engine).execute(ListUpdates())
        except ChatOpsError as err:
            self._board.post_problem(engine, f"The update check could not run: {err}")
            return ()
        if not isinstance(found, UpdateList):  # an engine answers ListUpdates with one
            raise TypeError(f"updates answered {type(found).__name__}")
        new = tuple(
            row
            for row in found.rows
            if row.container_id and self._seen.claim(engine, row.container_id, row.available_digest)
        )
        if new or found.failures:
            self._board.post_updates(engine, new, found.failures)
        return new
