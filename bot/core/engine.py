"""The engine boundary as seen from the core: what an engine must offer, and nothing of Docker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bot.core.operations import EngineOperation
from bot.core.results import PullProgress, Result

ProgressCallback = Callable[[PullProgress], None]


class Engine(Protocol):
    """One Docker engine. ``execute`` raises only ``bot.errors.EngineError`` subclasses."""

    @property
    def name(self) -> str: ...

    @property
    def location(self) -> str:
        """Where the engine is (its URL), for messages."""
        ...

    def execute(
        self, operation: EngineOperation, *, progress: ProgressCallback | None = None
    ) -> Result: ...

    def ping(self) -> None:
        """Raise ``EngineUnreachable`` if the engine does not answer."""
        ...


class EngineDirectory(Protocol):
    """The configured engines by name."""

    def get(self, name: str | None) -> Engine:
        """The engine called ``name`` (None: the default); raise ``UnknownEngine``."""
        ...

    def names(self) -> list[str]: ...
