"""An in-memory engine for unit tests, in the manner of httpx's ``MockTransport``.

Engine behaviour is never tested with it: it stands in where a test is about something
else (the pipeline's error handling, rendering, a stalled engine in a benchmark).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core.engine import ProgressCallback
from bot.core.operations import EngineOperation
from bot.core.results import Result
from bot.errors import UnknownEngine

Handler = Callable[[EngineOperation], Result]


class FakeEngine:
    """Answers every operation with ``handler(operation)``; records what it was asked."""

    def __init__(self, *, handler: Handler, name: str = "fake", location: str = "fake://") -> None:
        self._handler = handler
        self._name = name
        self._location = location
        self.operations: list[EngineOperation] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def location(self) -> str:
        return self._location

    def execute(
        self, operation: EngineOperation, *, progress: ProgressCallback | None = None
    ) -> Result:
        self.operations.append(operation)
        return self._handler(operation)

    def ping(self) -> None:
        return None


class FakeEngineDirectory:
    """A directory of fake engines; the first one is the default."""

    def __init__(self, *engines: FakeEngine) -> None:
        self._engines = {engine.name: engine for engine in engines}

    def get(self, name: str | None) -> FakeEngine:
        engine = self._engines.get(name or next(iter(self._engines)))
        if engine is None:
            raise UnknownEngine(f"No engine called `{name}`.")
        return engine

    def names(self) -> list[str]:
        return list(self._engines)
