"""``bot.unconfigured``: when nothing configures the bot, ``exec`` and the console skip reading
the settings; the variables and defaults it knows are the settings' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import AliasChoices

from bot import settings as settings_module
from bot.settings import Settings, load_settings
from bot.unconfigured import (
    DEFAULT_DOCKER_HOST,
    DEFAULT_ENGINE_TIMEOUT_SECONDS,
    DEFAULT_LOG_LEVEL,
    SETTINGS_VARIABLES,
    unconfigured_engine_url,
)


def test_the_variables_are_every_one_the_settings_read() -> None:
    read = set()
    for name, field in Settings.model_fields.items():
        read.add(name)
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            read |= {str(choice) for choice in alias.choices}
        elif isinstance(alias, str):
            read.add(alias)
    read |= {f"{name}_file" for name in settings_module._SECRET_SETTINGS}
    assert read == SETTINGS_VARIABLES


def test_what_the_console_assumes_is_what_the_settings_read_when_nothing_is_set() -> None:
    # The test session runs from an empty folder with none of the bot's variables.
    settings = load_settings(_env_file=None)
    assert settings.engines == {}
    assert settings.docker_host is None
    assert settings.engine_timeout_seconds == DEFAULT_ENGINE_TIMEOUT_SECONDS
    assert settings.log_level == DEFAULT_LOG_LEVEL and settings.log_format == "text"
    assert settings.secret_values() == [] and settings.renamed_variables == ()


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        ({}, DEFAULT_DOCKER_HOST),
        ({"PATH": "/usr/bin", "CHATOPS_TEST_REGISTRY": "x", "HOME": "/root"}, DEFAULT_DOCKER_HOST),
        ({"DOCKER_HOST": "unix:///run/other.sock"}, "unix:///run/other.sock"),
        ({"docker_host": "tcp://10.0.0.2:2375"}, "tcp://10.0.0.2:2375"),
        ({"DOCKER_HOST": "  "}, DEFAULT_DOCKER_HOST),
        # What the settings would refuse, or read, is left to them.
        ({"DOCKER_HOST": "ftp://nowhere"}, None),
        ({"DOCKER_HOST": "unix:///a.sock", "docker_host": "unix:///b.sock"}, None),
        ({"DOCKER_HOST": "unix:///a.sock", "CHATOPS_LOG_LEVEL": "DEBUG"}, None),
        ({"PORT": "8080"}, None),
        ({"Slack_Bot_Token_File": "/run/secrets/token"}, None),
        ({"CHATOPS_CONFIG": "/etc/chatops.toml"}, None),
        ({"ENGINES": '{"prod": {"url": "unix:///x.sock"}}'}, None),
    ],
)
def test_the_environment_alone(environ: dict[str, str], url: str | None, tmp_path: Path) -> None:
    assert unconfigured_engine_url(environ, cwd=tmp_path) == url


@pytest.mark.parametrize("name", [".env", "chatops.toml"])
def test_a_file_the_settings_read_means_reading_them(name: str, tmp_path: Path) -> None:
    assert unconfigured_engine_url({}, cwd=tmp_path) == DEFAULT_DOCKER_HOST
    (tmp_path / name).write_text("")
    assert unconfigured_engine_url({}, cwd=tmp_path) is None
