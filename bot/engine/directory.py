"""The configured engines by name (``bot.config.engine_directory`` builds it from the
settings; nothing here reads them)."""

from __future__ import annotations

from bot.engine.docker_engine import DockerEngine
from bot.errors import UnknownEngine

DEFAULT_ENGINE_NAME = "default"


class DockerEngineDirectory:
    """Named ``DockerEngine`` instances; clients connect lazily, on first use."""

    def __init__(self, *, engines: dict[str, DockerEngine], default: str) -> None:
        self._engines = engines
        self._default = default

    def get(self, name: str | None) -> DockerEngine:
        engine = self._engines.get(name or self._default)
        if engine is None:
            raise UnknownEngine(
                f"No engine called `{name}`. Configured engines: {', '.join(self.names())}."
            )
        return engine

    def names(self) -> list[str]:
        return list(self._engines)

    @property
    def default(self) -> str:
        return self._default

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close()
