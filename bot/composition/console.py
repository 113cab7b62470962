"""The console's and ``exec``'s composition root: engines → the pipeline → the console.

Only construction. Nothing here imports Slack, the database or the scheduler: ``exec ps``
starts cold (``tests/unit/test_cli.py`` checks what it imports)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from bot.console.session import Console
from bot.core.pipeline import Pipeline
from bot.core.policy import AllowEverything
from bot.engine.directory import DEFAULT_ENGINE_NAME
from bot.engine.lean import LeanEngine, LeanEngineDirectory

if TYPE_CHECKING:
    from bot.engine.docker_engine import DockerEngine
    from bot.settings import Settings


def build_console(*, engines: LeanEngineDirectory, out: TextIO, err: TextIO) -> Console:
    """The console over ``engines``: the same pipeline as Slack's, not governed by the access
    rules (whoever runs it already holds the engine; README, Configuration)."""
    return Console(pipeline=Pipeline(engines=engines, policy=AllowEverything()), out=out, err=err)


def configured_engines(settings: Settings) -> LeanEngineDirectory:
    """The configured engines, as lean ones (listings without the docker SDK)."""
    from bot.config import lean_engine_directory

    return lean_engine_directory(settings)


def unconfigured_engines(*, url: str, timeout: float) -> LeanEngineDirectory:
    """The default engine at ``url`` when nothing configures the bot (``bot.unconfigured``):
    the settings are read only if a command needs the full engine."""

    def full() -> DockerEngine:
        # Read only now: a listing never needs them, and reading them costs the cold start.
        from bot.config import engine_directory
        from bot.settings import load_settings

        return engine_directory(load_settings()).get(DEFAULT_ENGINE_NAME)

    engine = LeanEngine(name=DEFAULT_ENGINE_NAME, url=url, timeout=timeout, full=full)
    return LeanEngineDirectory(engines={DEFAULT_ENGINE_NAME: engine}, default=DEFAULT_ENGINE_NAME)
