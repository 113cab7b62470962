"""The configured engines by name, built once from the settings."""

from __future__ import annotations

from bot.config import admin_labels
from bot.core.cleanup import CleanupRules
from bot.core.protection import Protection
from bot.engine.docker_engine import DockerEngine, EngineLimits
from bot.engine.own_container import own_container_ids
from bot.errors import UnknownEngine
from bot.settings import DEFAULT_DOCKER_HOST, CleanupSettings, Settings

DEFAULT_ENGINE_NAME = "default"


class DockerEngineDirectory:
    """Named ``DockerEngine`` instances; clients connect lazily, on first use."""

    def __init__(self, *, engines: dict[str, DockerEngine], default: str) -> None:
        self._engines = engines
        self._default = default

    @classmethod
    def from_settings(cls, settings: Settings) -> DockerEngineDirectory:
        """``[engines.*]`` from the TOML file, else one engine from DOCKER_HOST or the socket."""
        volume_allowlist = tuple(settings.run_policy.volume_allowlist)
        # The bot's own container, wherever it runs: protected on every engine (an ID is
        # unique across engines, and the bot cannot tell which engine runs it).
        protection = Protection(
            own_container_ids=own_container_ids(), admin_labels=frozenset(admin_labels(settings))
        )
        if not settings.engines:
            url = settings.docker_host or DEFAULT_DOCKER_HOST
            limits = _limits(settings, None)
            engine = DockerEngine(
                name=DEFAULT_ENGINE_NAME, url=url, limits=limits,
                cleanup_rules=cleanup_rules(settings.cleanup),
                volume_allowlist=volume_allowlist, protection=protection,
            )  # fmt: skip
            return cls(engines={DEFAULT_ENGINE_NAME: engine}, default=DEFAULT_ENGINE_NAME)
        engines = {
            name: DockerEngine(
                name=name,
                url=config.url,
                limits=_limits(settings, config.timeout_seconds),
                tls=config.tls,
                use_ssh_client=config.use_ssh_client,
                cleanup_rules=cleanup_rules(config.cleanup or settings.cleanup),
                volume_allowlist=volume_allowlist,
                protection=protection,
            )
            for name, config in settings.engines.items()
        }
        default = next(
            (name for name, config in settings.engines.items() if config.default),
            next(iter(settings.engines)),
        )
        return cls(engines=engines, default=default)

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


def cleanup_rules(config: CleanupSettings) -> CleanupRules:
    return CleanupRules.from_text(
        container_grace=config.container_grace, image_grace=config.image_grace,
        keep_label=config.keep_label, exclude=config.exclude,
        unused_images_after=config.unused_images_after,
    )  # fmt: skip


def _limits(settings: Settings, timeout: float | None) -> EngineLimits:
    return EngineLimits(
        timeout_seconds=timeout or settings.engine_timeout_seconds,
        run_wait_seconds=settings.run_wait_seconds,
        run_output_lines=settings.run_output_lines,
        logs_max_lines=settings.logs_max_lines,
    )
