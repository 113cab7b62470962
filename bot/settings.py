"""Settings, read once at start-up into one typed object and injected everywhere else.

Sources, strongest first: environment variables, the ``.env`` file, the TOML file named by
``CHATOPS_CONFIG`` (default ``./chatops.toml`` when it exists), then the defaults below.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.errors import ConfigError

DEFAULT_CONFIG_FILE = Path("chatops.toml")
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
_ENGINE_SCHEMES = ("unix://", "tcp://", "ssh://", "http://", "https://", "npipe://")


class TLSSettings(BaseModel):
    """Client TLS for a ``tcp://`` engine (like ``docker --tlsverify``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_cert: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    verify: bool = True


class EngineSettings(BaseModel):
    """One named engine: ``[engines.NAME]`` in the TOML file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    default: bool = False
    timeout_seconds: float | None = Field(default=None, gt=0)
    tls: TLSSettings | None = None
    # ssh:// engines go through the system's OpenSSH client (and its ~/.ssh/config).
    use_ssh_client: bool = True

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith(_ENGINE_SCHEMES):
            raise ValueError(f"must start with one of {', '.join(_ENGINE_SCHEMES)}")
        return url


class Settings(BaseSettings):
    """Every setting of the bot. Field names are the environment variable names, lowercased."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    docker_host: str | None = None
    chatops_config: Path | None = None
    chatops_database_url: str = "sqlite:///chatops.db"
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    port: int = Field(default=3000, ge=0, le=65535)  # 0: any free port
    host: str = "0.0.0.0"
    log_level: str = "INFO"

    engines: dict[str, EngineSettings] = Field(default_factory=dict)
    engine_timeout_seconds: float = Field(default=60.0, gt=0)
    run_wait_seconds: float = Field(default=60.0, gt=0)
    run_output_lines: int = Field(default=50, ge=1, le=10_000)
    logs_max_lines: int = Field(default=1000, ge=1, le=100_000)

    # Slack replies: results of changes (run, rm, pull, ...) are posted for the channel to see,
    # listings and errors only to the person who asked.
    slack_changes_in_channel: bool = True
    slack_listings_in_channel: bool = False
    slack_command: str = "/docker"
    # Threads that run engine work after Slack has been acknowledged, and HTTP threads.
    worker_threads: int = Field(default=8, ge=1, le=256)
    http_threads: int = Field(default=16, ge=1, le=256)

    @field_validator(
        "slack_bot_token", "slack_signing_secret", "slack_app_token", "docker_host", mode="before"
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # .env.example ships "SLACK_BOT_TOKEN=": an empty value means "not set".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, url: str) -> str:
        if not url.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return url if url.endswith("/") else url + "/"

    @field_validator("docker_host")
    @classmethod
    def _docker_host(cls, url: str | None) -> str | None:
        if url and not url.startswith(_ENGINE_SCHEMES):
            raise ValueError(f"must start with one of {', '.join(_ENGINE_SCHEMES)}")
        return url or None

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, level: str) -> str:
        if level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level.upper()

    @field_validator("engines")
    @classmethod
    def _one_default(cls, engines: dict[str, EngineSettings]) -> dict[str, EngineSettings]:
        defaults = [name for name, engine in engines.items() if engine.default]
        if len(defaults) > 1:
            raise ValueError(f"only one engine may have default = true, not {', '.join(defaults)}")
        if len(engines) > 1 and not defaults:
            raise ValueError("several engines are configured: mark one with default = true")
        return engines

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML source comes after the environment so that it can read CHATOPS_CONFIG
        # from what the stronger sources found.
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlFileSource(settings_cls),
            file_secret_settings,
        )


class TomlFileSource(PydanticBaseSettingsSource):
    """Settings from the TOML file named by ``chatops_config`` (or ``./chatops.toml``)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole file

    def __call__(self) -> dict[str, Any]:
        named = self.current_state.get("chatops_config")
        if named:
            path = Path(named)
            if not path.is_file():
                raise ConfigError(f"CHATOPS_CONFIG names {path}, which is not a readable file.")
        elif DEFAULT_CONFIG_FILE.is_file():
            path = DEFAULT_CONFIG_FILE
        else:
            return {}
        try:
            with path.open("rb") as handle:
                return tomllib.load(handle)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path} is not valid TOML: {err}.") from None
        except OSError as err:
            raise ConfigError(f"Cannot read {path}: {err.strerror}.") from None


def load_settings(**overrides: Any) -> Settings:
    """Read the settings once; a wrong setting raises ConfigError with one clear line."""
    try:
        return Settings(**overrides)
    except ValidationError as err:
        first = err.errors()[0]
        loc = [str(part) for part in first["loc"]]
        # A top-level setting is best named by its environment variable.
        where = loc[0].upper() if len(loc) == 1 else ".".join(loc) or "settings"
        message = first["msg"].removeprefix("Value error, ")
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        raise ConfigError(
            f"Invalid setting {where}: {message}{more}. See .env.example and chatops.example.toml."
        ) from None
