"""The configured engines by name (``bot.config.engine_directory`` builds it from the
settings; nothing here reads them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

from bot.core.upgrades import UpgradeJournal
from bot.errors import ChatOpsError, UnknownEngine

if TYPE_CHECKING:
    from bot.engine.docker_engine import DockerEngine  # noqa: F401 (the base class's argument)

DEFAULT_ENGINE_NAME = "default"


def unknown_engine(name: str | None, names: list[str]) -> UnknownEngine:
    return UnknownEngine(f"No engine called `{name}`. Configured engines: {', '.join(names)}.")


E = TypeVar("E")


class NamedEngines(Generic[E]):
    """Engines by name, one of them the default (``bot.core.engine.EngineDirectory``)."""

    def __init__(self, *, engines: dict[str, E], default: str) -> None:
        self._engines = engines
        self._default = default

    def get(self, name: str | None) -> E:
        engine = self._engines.get(name or self._default)
        if engine is None:
            raise unknown_engine(name, self.names())
        return engine

    def names(self) -> list[str]:
        return list(self._engines)

    @property
    def default(self) -> str:
        return self._default


class DockerEngineDirectory(NamedEngines["DockerEngine"]):
    """Named ``DockerEngine`` instances; clients connect lazily, on first use."""

    def keep_upgrades_in(self, journal: UpgradeJournal) -> None:
        """Every engine records its upgrades in ``journal`` (the database)."""
        for engine in self._engines.values():
            engine.keep_upgrades_in(journal)

    def recover_upgrades(self, *, idle_for: float) -> list[str]:
        """Finish what stopped processes left of upgrades; what was done, for the log (an
        engine that does not answer is tried again next time)."""
        done = []
        for engine in self._engines.values():
            try:
                finished = engine.recover_upgrades(idle_for=idle_for)
            except ChatOpsError as err:
                done.append(f"{engine.name}: upgrades not checked: {err}")
                continue
            done += [f"{engine.name}: upgrade #{r.id} of {r.name}: {r.phase}" for r in finished]
        return done

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close()
