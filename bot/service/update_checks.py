"""Scheduled update checks: the moved tags of each engine, each new digest told once to the
team, grouped per engine, with the registries that could not be asked."""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from bot.core.engine import EngineDirectory
from bot.core.operations import ListUpdates
from bot.core.results import UpdateList, UpdateRow
from bot.errors import ChatOpsError

log = logging.getLogger(__name__)


class SeenUpdates(Protocol):
    def claim(self, engine: str, container_id: str, digest: str) -> bool:
        """True the first time this digest is claimed for this container (by anyone)."""
        ...


class UpdateBoard(Protocol):
    """Where the team is told (the notification channel)."""

    def post_updates(
        self, engine: str, rows: tuple[UpdateRow, ...], failures: tuple[tuple[str, str], ...]
    ) -> None: ...

    def post_problem(self, engine: str, text: str) -> None: ...


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
    ) -> None:
        self._engines = engines
        self._seen = seen
        self._board = board

    def check(self, engine: str) -> tuple[UpdateRow, ...]:
        """Check ``engine``; returns the updates posted (new digests only)."""
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
