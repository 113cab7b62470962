"""The bot when nothing configures it: what a one-shot command needs, without the settings.

Reading the settings (pydantic and pydantic-settings, every table validated) costs a new
process over 0.1 s, more than ``python -m bot exec ps`` takes otherwise. When there is no
``.env`` file, no TOML file (``CHATOPS_CONFIG`` or ``./chatops.toml``) and no variable the
settings read but a valid ``DOCKER_HOST``, every setting is its default: ``exec`` and the
console then need only the engine's URL and timeout, and read the settings (the same
defaults) only to build the full engine for a command that is more than a listing. Whatever
else is set, they read the settings as ``serve`` does. Imports neither pydantic nor the
docker SDK, nor the engines.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
ENGINE_SCHEMES = ("unix://", "tcp://", "ssh://", "http://", "https://", "npipe://")
DEFAULT_ENGINE_TIMEOUT_SECONDS = 60.0
DEFAULT_LOG_LEVEL = "INFO"
DEFAULT_CONFIG_FILE = Path("chatops.toml")
ENV_FILE = Path(".env")

# Every environment variable the settings read, lowercased (as they match them): the fields,
# their old names and the credentials' *_FILE variables. tests/unit/test_unconfigured.py
# checks it against bot.settings.
SETTINGS_VARIABLES = frozenset(
    {
        "access",
        "approvals",
        "audit",
        "chatops_audit_key",
        "chatops_audit_key_file",
        "chatops_config",
        "chatops_database_url",
        "chatops_db_auto_upgrade",
        "chatops_engine_concurrency",
        "chatops_engine_queue",
        "chatops_engine_timeout_seconds",
        "chatops_host",
        "chatops_http_threads",
        "chatops_log_format",
        "chatops_log_level",
        "chatops_logs_max_lines",
        "chatops_metrics_host",
        "chatops_metrics_port",
        "chatops_port",
        "chatops_registry_passwords",
        "chatops_registry_passwords_file",
        "chatops_run_output_lines",
        "chatops_run_wait_seconds",
        "chatops_work_process",
        "chatops_worker_threads",
        "cleanup",
        "docker_host",
        "engine_concurrency",
        "engine_queue",
        "engine_timeout_seconds",
        "engines",
        "freeze",
        "grants",
        "host",
        "http_threads",
        "log_format",
        "log_level",
        "logs_max_lines",
        "notifications",
        "port",
        "registries",
        "roles",
        "run_output_lines",
        "run_policy",
        "run_wait_seconds",
        "slack_api_url",
        "slack_app_token",
        "slack_app_token_file",
        "slack_bot_token",
        "slack_bot_token_file",
        "slack_changes_in_channel",
        "slack_command",
        "slack_listings_in_channel",
        "slack_signing_secret",
        "slack_signing_secret_file",
        "upgrades",
        "work_process",
        "worker_threads",
    }
)


def unconfigured_engine_url(environ: Mapping[str, str], *, cwd: Path) -> str | None:
    """The engine's URL if nothing configures the bot but (perhaps) ``DOCKER_HOST``; None when
    the settings must be read (anything else is set, or ``DOCKER_HOST`` is one they refuse)."""
    if (cwd / ENV_FILE).exists() or (cwd / DEFAULT_CONFIG_FILE).exists():
        return None
    given = [name for name in environ if name.lower() in SETTINGS_VARIABLES]
    if any(name.lower() != "docker_host" for name in given) or len(given) > 1:
        return None
    url = environ[given[0]] if given else ""
    if not url.strip():  # unset, or blank (as the settings read it: not set)
        return DEFAULT_DOCKER_HOST
    return url if url.startswith(ENGINE_SCHEMES) else None
