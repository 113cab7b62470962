"""Settings, read once at start-up into one typed object and injected everywhere else.

Sources, strongest first: environment variables, the ``.env`` file, the TOML file named by
``CHATOPS_CONFIG`` (default ``./chatops.toml`` when it exists), then the defaults below.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.chat_ids import channel_id, channel_ids, principal_ids
from bot.core.grants import Grant
from bot.core.host_paths import (
    HostPathError,
    clean_host_path,
    exposes_docker_socket,
    nested_entries,
)
from bot.core.notices.quiet_hours import DEFAULT_QUIET_KINDS, parse_quiet_hours
from bot.core.notices.rules import DEFAULT_KINDS, NoticeKind, parse_restart_loop
from bot.core.operations import ACTIONS, CHANGE_ACTIONS, DESTRUCTIVE_ACTIONS
from bot.core.parsing.units import parse_duration, parse_size
from bot.core.policy import ROLE_NAMES
from bot.core.references import parse_image_reference
from bot.core.run_policy import normalise_security_option
from bot.errors import ChatOpsError, ConfigError
from bot.unconfigured import (
    DEFAULT_CONFIG_FILE,
    DEFAULT_DOCKER_HOST,
    DEFAULT_ENGINE_TIMEOUT_SECONDS,
    DEFAULT_LOG_LEVEL,
)
from bot.unconfigured import ENGINE_SCHEMES as _ENGINE_SCHEMES

# Network and volume names as the engine takes them, with glob characters.
_OBJECT_GLOB = re.compile(r"[a-zA-Z0-9_.*?\[\]-][a-zA-Z0-9_.*?\[\]!-]{0,127}\Z")


# The bot's own environment variables are named CHATOPS_...; these were read bare before (PORT,
# LOG_FORMAT, ...). The old names are still read, with a one-line warning; both at once must
# agree. (DOCKER_HOST and SLACK_* keep Docker's and Slack's names.)
RENAMED = (
    "port",
    "host",
    "log_level",
    "log_format",
    "engine_timeout_seconds",
    "run_wait_seconds",
    "run_output_lines",
    "logs_max_lines",
    "work_process",
    "engine_concurrency",
    "engine_queue",
    "worker_threads",
    "http_threads",
)


def _renamed(name: str) -> AliasChoices:
    return AliasChoices(f"chatops_{name}", name)


class TLSSettings(BaseModel):
    """Client TLS for a ``tcp://`` engine (like ``docker --tlsverify``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_cert: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    verify: bool = True


# Credentials come from the environment (or .env), never from the TOML file, which is
# usually readable by more people and committed to configuration repositories.
_SECRET_SETTINGS = (
    "slack_bot_token",
    "slack_signing_secret",
    "slack_app_token",
    "chatops_audit_key",
    "chatops_registry_passwords",
)


def _parses(value: str | None, parse: Callable[[str], object]) -> str | None:
    """``value`` if ``parse`` accepts it (None passes); the parser's message otherwise."""
    if value is not None:
        try:
            parse(value)
        except ChatOpsError as err:
            raise ValueError(str(err)) from None
    return value


class RolesSettings(BaseModel):
    """``[roles]``: who holds each role, by user ID (U/W), user group ID (S) or "*"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    viewer: list[str] = Field(default_factory=lambda: ["*"])
    operator: list[str] = Field(default_factory=list)
    admin: list[str] = Field(default_factory=list)

    @field_validator("viewer", "operator", "admin")
    @classmethod
    def _ids(cls, values: list[str]) -> list[str]:
        return principal_ids(values, allow_everyone=True, what="user or user group")


class AccessSettings(BaseModel):
    """``[access]``: where the bot answers at all (channel IDs; empty: everywhere)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: list[str] = Field(default_factory=list)
    # How long user group memberships (usergroups.users.list) are trusted.
    group_cache_seconds: float = Field(default=60.0, ge=0)
    # Commands and clicks one person may send in any minute; past it they are refused in the
    # acknowledgement, saying when to retry. Counted per process (N replicas: N times this).
    # 0: no limit.
    user_rate_limit: int = Field(default=30, ge=0, le=10_000)

    @field_validator("channels")
    @classmethod
    def _ids(cls, values: list[str]) -> list[str]:
        return channel_ids(values)


class RunPolicySettings(BaseModel):
    """``[run_policy]``: what ``run`` and ``pull`` may ask for. Everything risky is refused
    until allowed here."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_privileged: bool = False
    allow_cap_add: list[str] = Field(default_factory=list)  # capabilities, or ["*"]
    allow_host_network: bool = False  # --network host / container:NAME
    # Networks `run` may join besides bridge and none: names or globs ("team-*"). A stack's
    # internal network reaches what it shields (the socket proxy, a database): list with care.
    network_allowlist: list[str] = Field(default_factory=list)
    allow_host_namespaces: bool = False  # --pid/--ipc/--uts/--userns host
    allow_devices: bool = False
    allow_unconfined: bool = False  # --security-opt seccomp/apparmor unconfined
    # Exact --security-opt values allowed besides no-new-privileges and apparmor=docker-default.
    allow_security_opt: list[str] = Field(default_factory=list)
    allow_docker_socket: bool = False
    # -v options that change the host (z, Z relabel its files; shared, rshared propagate
    # mounts into it): refused unless listed.
    allow_mount_options: list[Literal["z", "Z", "shared", "rshared"]] = Field(default_factory=list)
    # Existing named volumes `run` may mount (names or globs). A volume that does not exist
    # yet is created by the bot, labelled as made through chat and by whom, and may be mounted
    # again; any other existing volume (another stack's state, a host path under another name)
    # only if listed here. Protected volumes never.
    volume_allowlist: list[str] = Field(default_factory=list)
    # Filled in from the configured unix:// engines (their sockets are never mountable).
    engine_sockets: list[str] = Field(default_factory=list)
    # Bind mounts (README, "Host paths"): these exact paths, read-write or read-only...
    host_path_allowlist: list[str] = Field(default_factory=list)
    # ...and anything below these, read-only only. No entry may lie inside another.
    host_path_readonly_trees: list[str] = Field(default_factory=list)
    image_allowlist: list[str] = Field(default_factory=list)  # empty: any image
    default_memory: str | None = None  # e.g. "512m", when run gives no -m
    default_cpus: float | None = Field(default=None, ge=0.01)  # Docker's smallest share
    # Processes one container may hold, and the most --pids-limit may ask for: a fork bomb in
    # one chat container would otherwise exhaust the engine host's PIDs for everyone. 0: none.
    pids_limit: int = Field(default=4096, ge=0, le=4_194_304)

    @field_validator("default_memory")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        _parses(value, lambda text: parse_size(text, option="default_memory"))
        if value is not None and parse_size(value, option="default_memory") < 6 * 2**20:
            raise ValueError("must be at least 6m (the engine's minimum; 0 would mean no limit)")
        return value

    @field_validator("image_allowlist")
    @classmethod
    def _references(cls, values: list[str]) -> list[str]:
        for value in values:
            # "registry.example.com/team/*" allows a whole namespace.
            example = value[:-2] + "/x" if value.endswith("/*") else value
            _parses(example, lambda text: parse_image_reference(text, default_tag=False))
        return values

    @field_validator("host_path_allowlist", "host_path_readonly_trees")
    @classmethod
    def _clean_paths(cls, values: list[str]) -> list[str]:
        try:
            return [str(clean_host_path(value)) for value in values]
        except HostPathError as err:
            raise ValueError(str(err)) from None

    @field_validator("network_allowlist", "volume_allowlist")
    @classmethod
    def _names_or_globs(cls, values: list[str], info: ValidationInfo) -> list[str]:
        for value in values:
            if not _OBJECT_GLOB.match(value):
                raise ValueError(
                    f"{value!r} is not a {str(info.field_name).partition('_')[0]} name or glob "
                    "(letters, digits, _ . - and the glob characters * ? [ ])"
                )
        if str(info.field_name) == "network_allowlist":
            for value in values:
                if value == "host":
                    raise ValueError(
                        "'host' is not a network to join but the host's own stack: "
                        "allow_host_network is that setting"
                    )
        return values

    @field_validator("allow_security_opt")
    @classmethod
    def _security_options(cls, values: list[str]) -> list[str]:
        return [normalise_security_option(value) for value in values]

    @model_validator(mode="after")
    def _no_nested_paths(self) -> RunPolicySettings:
        problem = nested_entries(self.host_path_allowlist, self.host_path_readonly_trees)
        if problem:
            raise ValueError(problem)
        if not self.allow_docker_socket:
            for entry in (*self.host_path_allowlist, *self.host_path_readonly_trees):
                if exposes_docker_socket(clean_host_path(entry), sockets=self.engine_sockets):
                    raise ValueError(
                        f"{entry} is or holds an engine socket; mounting it is root on the "
                        "host (allow_docker_socket = true if that is really meant)"
                    )
        return self


class ApprovalSettings(BaseModel):
    """``[approvals]``: destructive actions that wait for an approver."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # What [approvals] required_for may name: the actions declared destructive in the core.
    required_for: list[str] = Field(default_factory=lambda: list(DESTRUCTIVE_ACTIONS))
    # Role names ("admin", "operator"), user IDs (U/W) or user group IDs (S).
    approvers: list[str] = Field(default_factory=lambda: ["admin"])
    # Where requests are posted (a channel ID); unset: the channel they were made in.
    channel: str | None = None
    min_approvals: int = Field(default=1, ge=1, le=10)
    allow_self_approval: bool = False
    expire_after: str = "15m"
    # An approved plan whose process stopped renewing its lease (crash, kill -9) for this long
    # is reported interrupted (never run again).
    interrupted_after: str = "60s"

    @field_validator("approvers")
    @classmethod
    def _approvers(cls, values: list[str]) -> list[str]:
        if "viewer" in values:
            raise ValueError(
                "'viewer' cannot approve: it is everyone by default; name operator, admin, "
                "users or user groups"
            )
        ids = [value for value in values if value not in ROLE_NAMES]
        principal_ids(ids, allow_everyone=False, what="user or user group")
        return values

    @field_validator("required_for")
    @classmethod
    def _destructive(cls, values: list[str]) -> list[str]:
        for value in values:
            if value not in DESTRUCTIVE_ACTIONS:
                close = difflib.get_close_matches(value, DESTRUCTIVE_ACTIONS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                actions = ", ".join(DESTRUCTIVE_ACTIONS)
                raise ValueError(f"{value!r} is not a destructive action{hint}; use {actions}")
        return values

    @field_validator("expire_after", "interrupted_after")
    @classmethod
    def _duration(cls, value: str, info: ValidationInfo) -> str:
        _parses(value, lambda text: parse_duration(text, option=str(info.field_name)))
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        return channel_id(value)


# A registry as image references name it: a host with an optional port (no scheme, no path).
_REGISTRY_HOST = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]{1,5})?\Z")


class RegistrySettings(BaseModel):
    """``[registries."HOST"]``: who the bot pulls and reads tags as on that registry, where the
    engine's client has no credentials of its own. The password (or token) comes from
    ``CHATOPS_REGISTRY_PASSWORDS`` (a JSON object, host -> password), never from this file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str = Field(min_length=1, max_length=256)


class UpgradeSettings(BaseModel):
    """``[upgrades]``: how ``upgrade`` and ``rollback`` verify a replacement."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # How long a replacement must run (not restarted, healthy if it has a check) before the
    # old container goes; a container's own: the admin-only label chatops.upgrade.settle.
    settle: str = "30s"
    # An upgrade under way saves its record twice a second; one not saved for this long was
    # left by a process that stopped (kill -9, a lost host), and any running bot finishes it.
    # Longer than the slowest stop of a container that is upgraded (replicas: another's
    # upgrade must not look abandoned while its old container stops).
    recovery_after: str = "60s"
    # When to look for moved tags and post the new ones to [notifications] channel (crontab,
    # e.g. "0 8 * * 1-5", in `timezone`); unset: only `updates` when asked.
    check_schedule: str | None = None
    timezone: str = "UTC"

    @field_validator("check_schedule")
    @classmethod
    def _crontab(cls, value: str | None) -> str | None:
        return CleanupSettings._crontab(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return CleanupSettings._zone(value)

    @field_validator("settle")
    @classmethod
    def _duration(cls, value: str) -> str:
        _parses(value, lambda text: parse_duration(text, option="settle"))
        return value

    @field_validator("recovery_after")
    @classmethod
    def _recovery_after(cls, value: str) -> str:
        try:
            seconds = parse_duration(value, option="recovery_after").total_seconds()
        except ChatOpsError as err:
            raise ValueError(str(err)) from None
        if not 2 <= seconds <= 3600:
            raise ValueError("recovery_after must be between 2s and 1h")
        return value

    @property
    def recovery_after_seconds(self) -> float:
        return parse_duration(self.recovery_after, option="recovery_after").total_seconds()

    @property
    def settle_seconds(self) -> float:
        return parse_duration(self.settle, option="settle").total_seconds()


class CleanupSettings(BaseModel):
    """``[cleanup]`` (defaults for every engine) or ``[engines.NAME.cleanup]`` (one engine)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schedule: str | None = None  # crontab, e.g. "0 3 * * *"; unset: no scheduled runs
    timezone: str = "UTC"
    container_grace: str = "24h"  # since the container stopped
    image_grace: str = "24h"
    keep_label: str = "chatops.keep"
    exclude: list[str] = Field(default_factory=list)  # globs on names and image references
    dry_run: bool = False  # scheduled runs only report what they would remove
    notify_channel: str | None = None
    quiet_when_empty: bool = True
    # Post the plan to notify_channel with Cancel / Run now; it runs when the window ends.
    veto_window: str | None = None
    # Also remove tagged images that no container uses and that are this old; off by default.
    unused_images_after: str | None = None

    @field_validator("container_grace", "image_grace", "veto_window", "unused_images_after")
    @classmethod
    def _duration(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _parses(value, lambda text: parse_duration(text, option=str(info.field_name)))

    @field_validator("notify_channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        return channel_id(value)

    @field_validator("schedule")
    @classmethod
    def _crontab(cls, value: str | None) -> str | None:
        if value is not None:
            from bot.housekeeping.schedule import cron_trigger  # APScheduler: only to schedule

            try:
                cron_trigger(value, timezone="UTC")
            except ValueError as err:
                raise ValueError(f"{value!r} is not a crontab schedule: {err}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not a time zone name such as UTC or Europe/Berlin"
            ) from None
        return value


class FreezeSettings(BaseModel):
    """One ``[[freeze]]``: a window in which changes are refused (an admin's destructive ones
    wait for another admin's approval). Fixed (``start``/``end``) or recurring (``schedule``
    and ``duration``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str = Field(min_length=1)
    start: datetime | None = None  # ISO 8601; without an offset, in `timezone`
    end: datetime | None = None
    schedule: str | None = None  # crontab, in `timezone`: when each window opens
    duration: str | None = None  # how long each scheduled window lasts
    timezone: str = "UTC"
    engines: list[str] = Field(default_factory=list)  # empty: every engine
    actions: list[str] = Field(default_factory=list)  # empty: every change

    @field_validator("schedule")
    @classmethod
    def _crontab(cls, value: str | None) -> str | None:
        return CleanupSettings._crontab(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return CleanupSettings._zone(value)

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        return _parses(value, lambda text: parse_duration(text, option="duration"))

    @field_validator("actions")
    @classmethod
    def _actions(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(CHANGE_ACTIONS))
        if unknown:
            raise ValueError(
                f"unknown actions {', '.join(unknown)}: a freeze holds changes, one of "
                f"{', '.join(sorted(CHANGE_ACTIONS))}"
            )
        return value

    @model_validator(mode="after")
    def _window(self) -> FreezeSettings:
        fixed = self.start is not None or self.end is not None
        recurring = self.schedule is not None or self.duration is not None
        if fixed == recurring or (fixed and (self.start is None or self.end is None)):
            raise ValueError(
                f"freeze {self.reason!r}: give start and end, or schedule and duration"
            )
        if recurring and (self.schedule is None or self.duration is None):
            raise ValueError(
                f"freeze {self.reason!r}: give start and end, or schedule and duration"
            )
        if self.start is not None and self.end is not None:
            start, end = self.aware(self.start), self.aware(self.end)
            if end <= start:
                raise ValueError(
                    f"freeze {self.reason!r} ends ({self.end}) before it starts ({self.start})"
                )
        return self

    def aware(self, moment: datetime) -> datetime:
        """``moment`` with its offset, or in ``timezone`` if it has none."""
        return (
            moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(self.timezone))
        )


class GrantSettings(BaseModel):
    """One ``[[grants]]``: actions beyond a person's role, on matching objects only. Every
    scope given must hold; every target of a command must be covered (else nothing runs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    who: list[str] = Field(min_length=1)  # user IDs, user group IDs, role names or "*"
    actions: list[str] = Field(min_length=1)  # as [roles] and required_for name them
    containers: list[str] = Field(default_factory=list)  # container name globs
    labels: list[str] = Field(default_factory=list)  # key=value; a container has them all
    images: list[str] = Field(default_factory=list)  # reference globs (nginx:*, reg/team/*)
    own: bool = False  # containers the person ran through chat (label chatops.owner)
    engines: list[str] = Field(default_factory=list)  # empty: every engine

    @field_validator("who")
    @classmethod
    def _who(cls, values: list[str]) -> list[str]:
        ids = [value for value in values if value not in ROLE_NAMES]
        principal_ids(ids, allow_everyone=True, what="user or user group")
        return values

    @field_validator("actions")
    @classmethod
    def _actions(cls, values: list[str]) -> list[str]:
        for value in values:
            if value not in ACTIONS:
                close = difflib.get_close_matches(value, list(ACTIONS), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(f"unknown action {value!r}{hint}")
        return values

    @field_validator("labels")
    @classmethod
    def _labels(cls, values: list[str]) -> list[str]:
        for value in values:
            key, eq, _ = value.partition("=")
            if not eq or not key.strip():
                raise ValueError(f"label {value!r} is not key=value")
        return values

    @model_validator(mode="after")
    def _globs(self) -> GrantSettings:
        self.as_grant(number=0)  # Grant refuses a glob that can match nothing (glob_problems)
        return self

    def as_grant(self, *, number: int) -> Grant:
        """The grant as the policy takes it (``number``: its place in the file, from 1)."""
        return Grant(
            number=number,
            who=frozenset(self.who),
            actions=frozenset(self.actions),
            containers=tuple(self.containers),
            labels=tuple(
                (key, value) for key, _, value in (item.partition("=") for item in self.labels)
            ),
            images=tuple(self.images),
            own=self.own,
            engines=frozenset(self.engines),
        )


def _notification_value(field: str, value: Any) -> Any:
    """One ``[notifications]`` value checked (shared by the global and per-engine tables)."""
    if value is None:
        return None
    if field == "channel":
        return channel_id(value)
    if field == "group_window":
        return _parses(value, lambda text: parse_duration(text, option="group_window"))
    if field == "restart_loop":
        return _parses(value, parse_restart_loop)
    return value


class NotificationSettings(BaseModel):
    """``[notifications]``: what happens on the engines that the team is told, and where."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str | None = None  # a channel ID; unset: no notifications
    events: list[NoticeKind] = Field(default_factory=lambda: list(DEFAULT_KINDS))
    quiet_label: str = Field(default="chatops.quiet", min_length=1, max_length=128)
    exclude: list[str] = Field(default_factory=list)  # globs on names and image references
    group_window: str = "10m"  # repeats within this window update one message
    restart_loop: str = "3 in 5m"  # restarts within a span that count as a loop
    # Several replicas: one streams each engine's events; if it stops (a crash, kill -9),
    # another takes the stream over after this long.
    failover: str = "30s"
    # The longest a `silence` (or a Silence button) may last; one for every engine.
    max_silence: str = "7d"
    # Quiet hours ("22:00-07:00", in `timezone`; unset: none): notices of the kinds in
    # `quiet_events` wait and are told as one digest when the hours end. An engine that goes
    # down is always told at once. One setting for every engine.
    quiet_hours: str | None = None
    quiet_events: list[NoticeKind] = Field(default_factory=lambda: list(DEFAULT_QUIET_KINDS))
    timezone: str = "UTC"

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str | None) -> str | None:
        return _parses(value, parse_quiet_hours)

    @field_validator("quiet_events")
    @classmethod
    def _quiet_events(cls, value: list[NoticeKind]) -> list[NoticeKind]:
        if NoticeKind.ENGINE in value:
            raise ValueError(
                "quiet_events cannot hold 'engine': an engine that goes down is always told at once"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return CleanupSettings._zone(value)

    @field_validator("max_silence")
    @classmethod
    def _max_silence(cls, value: str) -> str:
        try:
            duration = parse_duration(value, option="max_silence")
        except ChatOpsError as err:
            raise ValueError(str(err)) from None
        if duration < timedelta(hours=1):
            raise ValueError("max_silence must be at least 1h (the Silence 1h button)")
        return value

    @field_validator("failover")
    @classmethod
    def _failover(cls, value: str) -> str:
        try:
            seconds = parse_duration(value, option="failover").total_seconds()
        except ChatOpsError as err:
            raise ValueError(str(err)) from None
        if not 3 <= seconds <= 600:
            raise ValueError("failover must be between 3s and 10m")
        return value

    @field_validator("channel", "group_window", "restart_loop")
    @classmethod
    def _checked(cls, value: Any, info: ValidationInfo) -> Any:
        return _notification_value(str(info.field_name), value)


class NotificationOverrides(BaseModel):
    """``[engines.NAME.notifications]``: any key of ``[notifications]``, for one engine."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str | None = None
    events: list[NoticeKind] | None = None
    quiet_label: str | None = Field(default=None, min_length=1, max_length=128)
    exclude: list[str] | None = None
    group_window: str | None = None
    restart_loop: str | None = None

    @field_validator("channel", "group_window", "restart_loop")
    @classmethod
    def _checked(cls, value: Any, info: ValidationInfo) -> Any:
        return _notification_value(str(info.field_name), value)

    def over(self, base: NotificationSettings) -> NotificationSettings:
        """``base`` with the keys this table sets replaced."""
        return base.model_copy(update=self.model_dump(exclude_none=True))


class AuditSettings(BaseModel):
    """``[audit]``: where the audit chain's head is published, outside the database."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A channel ID; unset: the head is published in the log only.
    channel: str | None = None
    publish_every: str = "1h"

    @field_validator("publish_every")
    @classmethod
    def _duration(cls, value: str) -> str:
        _parses(value, lambda text: parse_duration(text, option="publish_every"))
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        return channel_id(value)


class EngineSettings(BaseModel):
    """One named engine: ``[engines.NAME]`` in the TOML file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    default: bool = False
    # Channels this engine may be used from (empty: any channel the bot answers in).
    channels: list[str] = Field(default_factory=list)

    @field_validator("channels")
    @classmethod
    def _channels(cls, values: list[str]) -> list[str]:
        return channel_ids(values)

    timeout_seconds: float | None = Field(default=None, gt=0)
    tls: TLSSettings | None = None
    # ssh:// engines go through the system's OpenSSH client (and its ~/.ssh/config).
    use_ssh_client: bool = True
    cleanup: CleanupSettings | None = None  # this engine's housekeeping, replacing [cleanup]
    notifications: NotificationOverrides | None = None  # keys replacing [notifications]'s

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith(_ENGINE_SCHEMES):
            raise ValueError(f"must start with one of {', '.join(_ENGINE_SCHEMES)}")
        return url


class Settings(BaseSettings):
    """Every setting of the bot. Field names are the environment variable names, lowercased."""

    _renamed_variables: tuple[str, ...] = PrivateAttr(default=())

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        # A field is set by its name (the TOML file, tests) or by its variable's name.
        populate_by_name=True,
    )

    docker_host: str | None = Field(
        default=None,
        description="The engine when the TOML file names none (Docker's own variable); "
        "unset: `unix:///var/run/docker.sock`.",
    )
    chatops_config: Path | None = Field(
        default=None,
        description="The TOML file (engines, roles, policy, approvals, ...); unset: "
        "`./chatops.toml` when it is there.",
    )
    chatops_database_url: str = Field(
        default="sqlite:///chatops.db",
        description="The state (approvals, audit, schedules): any SQLAlchemy URL.",
    )
    chatops_db_auto_upgrade: bool = Field(
        default=True,
        description="Upgrade an older database at start; `false`: stop and say to run "
        "`python -m bot db upgrade`.",
    )
    slack_bot_token: SecretStr | None = Field(
        default=None, description="The bot token (`xoxb-…`); or `SLACK_BOT_TOKEN_FILE`."
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        description="HTTP mode: the app's signing secret; or `SLACK_SIGNING_SECRET_FILE`.",
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        description="Socket Mode: an app-level token (`xapp-…`); or `SLACK_APP_TOKEN_FILE`.",
    )
    # The audit chain's HMAC key: from the environment only, never stored in the database.
    chatops_audit_key: SecretStr | None = Field(
        default=None,
        description="The audit chain's HMAC key, 32+ characters (required by `serve`); or "
        "`CHATOPS_AUDIT_KEY_FILE`.",
    )
    chatops_registry_passwords: SecretStr | None = Field(
        default=None,
        description='The password (or token) of each `[registries."HOST"]`, as a JSON object '
        '(`{"registry.example.com": "…"}`); or `CHATOPS_REGISTRY_PASSWORDS_FILE`.',
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description="The Web API base URL for every Slack client (GovSlack; tests).",
    )
    port: int = Field(
        default=3000,
        ge=0,
        le=65535,
        validation_alias=_renamed("port"),
        description="Where `serve` listens for Slack and the probes; 0: any free port.",
    )
    host: str = Field(
        default="0.0.0.0", validation_alias=_renamed("host"), description="The address for it."
    )
    # GET /metrics (Prometheus) on a port of its own, never the Slack port. 0: any free port
    # (tests); "off": not served. The host is all interfaces: compose does not publish it.
    chatops_metrics_port: int | None = Field(
        default=9464,
        ge=0,
        le=65535,
        description="Where `/metrics` is served, apart from the Slack port; `0`: any free "
        "port, `off`: not served.",
    )
    chatops_metrics_host: str = Field(
        default="0.0.0.0",
        description="The address for it: outside a container, `127.0.0.1` or a firewall.",
    )
    log_level: str = Field(
        default=DEFAULT_LOG_LEVEL,
        validation_alias=_renamed("log_level"),
        description="DEBUG, INFO, WARNING, ERROR or CRITICAL.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        validation_alias=_renamed("log_format"),
        description="`json`: one JSON object a line, for a log shipper.",
    )

    engines: dict[str, EngineSettings] = Field(default_factory=dict)
    roles: RolesSettings = Field(default_factory=RolesSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    run_policy: RunPolicySettings = Field(default_factory=RunPolicySettings)
    approvals: ApprovalSettings = Field(default_factory=ApprovalSettings)
    upgrades: UpgradeSettings = Field(default_factory=UpgradeSettings)
    cleanup: CleanupSettings = Field(default_factory=CleanupSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    freeze: list[FreezeSettings] = Field(default_factory=list)  # [[freeze]] windows
    grants: list[GrantSettings] = Field(default_factory=list)  # [[grants]]
    registries: dict[str, RegistrySettings] = Field(default_factory=dict)  # [registries."HOST"]

    @field_validator("registries")
    @classmethod
    def _registry_hosts(cls, value: dict[str, RegistrySettings]) -> dict[str, RegistrySettings]:
        for host in value:
            if not _REGISTRY_HOST.match(host):
                raise ValueError(
                    f"{host!r} is not a registry host (registry.example.com or host:5000; no "
                    "scheme, no path)"
                )
        return value

    @model_validator(mode="after")
    def _registry_passwords(self) -> Settings:
        self.registry_credentials()  # every host has its password, and no password is stray
        return self

    def registry_credentials(self) -> dict[str, tuple[str, str]]:
        """host -> (username, password), from [registries] and CHATOPS_REGISTRY_PASSWORDS."""
        secret = self.chatops_registry_passwords
        passwords: Any = {}
        if secret is not None and secret.get_secret_value().strip():
            try:
                passwords = json.loads(secret.get_secret_value())
            except ValueError:
                raise ValueError(
                    "CHATOPS_REGISTRY_PASSWORDS is not a JSON object (host -> password)"
                ) from None
        if not isinstance(passwords, dict) or not all(
            isinstance(v, str) for v in passwords.values()
        ):
            raise ValueError("CHATOPS_REGISTRY_PASSWORDS is not a JSON object (host -> password)")
        missing = sorted(set(self.registries) - set(passwords))
        if missing:
            raise ValueError(
                f'[registries."{missing[0]}"] has no password: add "{missing[0]}" to '
                "CHATOPS_REGISTRY_PASSWORDS"
            )
        stray = sorted(set(passwords) - set(self.registries))
        if stray:
            raise ValueError(
                f'CHATOPS_REGISTRY_PASSWORDS names {stray[0]!r}, which has no [registries."'
                f'{stray[0]}"] table (its username)'
            )
        return {
            host: (table.username, str(passwords[host])) for host, table in self.registries.items()
        }

    engine_timeout_seconds: float = Field(
        default=DEFAULT_ENGINE_TIMEOUT_SECONDS,
        gt=0,
        validation_alias=_renamed("engine_timeout_seconds"),
        description="Each engine call's timeout (`[engines.NAME] timeout_seconds` for one).",
    )
    run_wait_seconds: float = Field(
        default=60.0,
        gt=0,
        validation_alias=_renamed("run_wait_seconds"),
        description="How long `run` without `-d` waits for the container.",
    )
    run_output_lines: int = Field(
        default=50,
        ge=1,
        le=10_000,
        validation_alias=_renamed("run_output_lines"),
        description="How much of its output `run` without `-d` shows.",
    )
    logs_max_lines: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        validation_alias=_renamed("logs_max_lines"),
        description="The most lines `logs` reads.",
    )

    # Slack replies: results of changes (run, rm, pull, ...) are posted for the channel to see,
    # listings and errors only to the person who asked.
    slack_changes_in_channel: bool = Field(
        default=True, description="Post results of changes for the channel to see."
    )
    slack_listings_in_channel: bool = Field(
        default=False,
        description="Post listings for the channel to see (else only to the asker).",
    )
    slack_command: str = Field(
        default="/docker", description="The slash command, as named in the Slack app."
    )
    # Work after Slack has been acknowledged: at most engine_concurrency requests run on one
    # engine at once and engine_queue more wait for it (past that: "engine busy"), so a
    # stalled engine holds only its own workers; worker_threads serve work that needs no
    # engine (approvals, clicks, audit). http_threads serve HTTP.
    # Run request work (engine calls, rendering, answers) in a work process beside the one
    # that acknowledges Slack, so acknowledgements never wait for it.
    work_process: bool = Field(
        default=True,
        validation_alias=_renamed("work_process"),
        description="Run request work in a process beside the one that acknowledges Slack.",
    )
    engine_concurrency: int = Field(
        default=4,
        ge=1,
        le=64,
        validation_alias=_renamed("engine_concurrency"),
        description="Requests running at once on one engine.",
    )
    engine_queue: int = Field(
        default=50,
        ge=0,
        le=10_000,
        validation_alias=_renamed("engine_queue"),
        description='Requests waiting for an engine; past that: "engine busy".',
    )
    worker_threads: int = Field(
        default=8,
        ge=1,
        le=256,
        validation_alias=_renamed("worker_threads"),
        description="Threads for work that needs no engine (approvals, clicks).",
    )
    http_threads: int = Field(
        default=16,
        ge=1,
        le=256,
        validation_alias=_renamed("http_threads"),
        description="Threads serving HTTP.",
    )

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "chatops_audit_key",
        "docker_host",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # .env.example ships "SLACK_BOT_TOKEN=": an empty value means "not set".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("chatops_metrics_port", mode="before")
    @classmethod
    def _metrics_off(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in ("off", ""):
            return None
        return value

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

    def secret_values(self) -> list[str]:
        """The secrets the bot holds (tokens, signing secret, audit key, registry passwords):
        kept out of logs."""
        fields = (
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.chatops_audit_key,
        )
        values = [field.get_secret_value() for field in fields if field is not None]
        # The registry logins' passwords (each, and the JSON that holds them).
        if self.chatops_registry_passwords is not None:
            values.append(self.chatops_registry_passwords.get_secret_value())
            values += [password for _, password in self.registry_credentials().values()]
        # The database's password, should a driver's message ever quote the URL.
        _, at, rest = self.chatops_database_url.partition("://")
        credentials = rest.rpartition("@")[0] if at else ""
        password = credentials.partition(":")[2]
        return [*values, password] if password else values

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, level: str) -> str:
        if level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level.upper()

    @model_validator(mode="before")
    @classmethod
    def _engine_sockets_into_policy(cls, data: Any) -> Any:
        """The run policy refuses to mount the configured engines' sockets too."""
        if not isinstance(data, dict):
            return data
        engines = data.get("engines") or {}
        urls = [
            engine.get("url") if isinstance(engine, dict) else getattr(engine, "url", None)
            for engine in (engines.values() if isinstance(engines, dict) else [])
        ]
        if not urls:
            urls = [data.get("docker_host") or DEFAULT_DOCKER_HOST]
        sockets = [
            url[len("unix://") :]
            for url in urls
            if isinstance(url, str) and url.startswith("unix://")
        ]
        policy = data.get("run_policy") or {}
        if isinstance(policy, BaseModel):
            policy = policy.model_dump()
        if isinstance(policy, dict):
            data = {**data, "run_policy": {**policy, "engine_sockets": sockets}}
        return data

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
            _RenamedAndFromFiles(env_settings, where="the environment"),
            _RenamedAndFromFiles(dotenv_settings, where=".env"),
            TomlFileSource(settings_cls),
            file_secret_settings,
        )

    @property
    def renamed_variables(self) -> tuple[str, ...]:
        """One line for each variable still read under its old name (``load_settings``)."""
        return self._renamed_variables


# What a settings read found under old names; load_settings keeps it on the settings.
_RENAMED_SEEN: ContextVar[list[str] | None] = ContextVar("renamed_seen", default=None)


class _RenamedAndFromFiles(PydanticBaseSettingsSource):
    """The environment (or .env) as the settings read it, plus: an old bare name (``PORT``)
    read as its CHATOPS_ name, with a warning, and refused when both are set and differ; and
    a credential read from the file its ``*_FILE`` variable names (Docker and Kubernetes
    secrets are files), refused when the file cannot be read or disagrees with the variable."""

    def __init__(self, inner: PydanticBaseSettingsSource, *, where: str) -> None:
        super().__init__(inner.settings_cls)
        self._inner = inner
        self._where = where

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads through the inner source

    def __call__(self) -> dict[str, Any]:
        data = self._inner()
        given: dict[str, str | None] = dict(getattr(self._inner, "env_vars", {}) or {})
        seen = _RENAMED_SEEN.get()
        for old in RENAMED:
            new = f"chatops_{old}"
            if old not in given:
                continue
            if new in given and given[new] != given[old]:
                raise ConfigError(
                    f"{old.upper()} and {new.upper()} in {self._where} disagree: {old.upper()} "
                    f"is the old name of {new.upper()}; keep one."
                )
            if seen is not None:
                seen.append(
                    f"{old.upper()} (in {self._where}) is read as {new.upper()}: rename it."
                )
        for name in _SECRET_SETTINGS:
            named = given.get(f"{name}_file")
            if not named:
                continue
            value = _secret_from_file(f"{name}_file".upper(), Path(named))
            direct = given.get(name)
            if direct and direct != value:
                raise ConfigError(
                    f"{name.upper()} and {name.upper()}_FILE in {self._where} disagree; set one."
                )
            data[name] = value
        return data


def _secret_from_file(variable: str, path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(
            f"{variable} names {path}, which cannot be read ({err.strerror}): mount the secret "
            f"there, or set {variable.removesuffix('_FILE')} instead."
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{variable} names {path}, which is not text.") from None
    value = text.rstrip("\r\n")  # a secret file often ends with a newline
    if not value.strip():
        raise ConfigError(f"{variable} names {path}, which is empty.")
    return value


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
            # pydantic-settings' own TOML source reads the file; this one only finds it (the
            # name comes from the stronger sources) and says what is wrong in one line.
            data = TomlConfigSettingsSource(self.settings_cls, toml_file=path).toml_data
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path} is not valid TOML: {err}.") from None
        except OSError as err:
            raise ConfigError(f"Cannot read {path}: {err.strerror}.") from None
        _known_keys_only(path, data, self.settings_cls)
        return data


def _known_keys_only(path: Path, data: dict[str, Any], settings_cls: type[BaseSettings]) -> None:
    """Fail closed: a misspelt table (``[acess]``) or key at the top level stops start-up.

    The settings ignore unknown *environment* variables (the environment holds many that are
    not ours), so the TOML file's top level is checked here; tables below are strict models.
    """
    problems = toml_key_problems(path, data, settings_cls)
    if problems:
        raise ConfigError(problems[0][1])


def toml_key_problems(
    path: Path, data: dict[str, Any], settings_cls: type[BaseSettings]
) -> list[tuple[str, str]]:
    """(key, what is wrong) for every top-level key of the TOML file that is not a setting,
    or is a credential (those belong in the environment)."""
    known = set(settings_cls.model_fields)
    problems = []
    for key in data:
        if key in _SECRET_SETTINGS:
            problems.append(
                (
                    key,
                    f"{path}: {key} is a credential: set {key.upper()} in the environment or "
                    ".env, not in the TOML file.",
                )
            )
        elif key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            kind = "table" if isinstance(data[key], dict) else "setting"
            problems.append(
                (
                    key,
                    f"{path}: unknown {kind} {key!r}{hint}. See chatops.example.toml for every "
                    "key.",
                )
            )
    return problems


class _ConfigFileSetting(BaseSettings):
    """CHATOPS_CONFIG alone, from the environment and .env as the settings read it."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    chatops_config: Path | None = None


def config_file() -> Path | None:
    """The TOML file the settings read: CHATOPS_CONFIG, else ./chatops.toml if it is there."""
    named = _ConfigFileSetting().chatops_config
    if named is not None:
        return named
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def read_settings(**overrides: Any) -> Settings:
    """The settings as ``Settings(**overrides)`` reads them (a ``ValidationError`` lists every
    problem), with the variables read under old names on ``renamed_variables``."""
    seen: list[str] = []
    token = _RENAMED_SEEN.set(seen)
    try:
        settings = Settings(**overrides)
    finally:
        _RENAMED_SEEN.reset(token)
    settings._renamed_variables = tuple(dict.fromkeys(seen))
    return settings


def load_settings(**overrides: Any) -> Settings:
    """Read the settings once; a wrong setting raises ConfigError with one clear line. The
    variables read under old names are on ``renamed_variables``, for the caller to warn."""
    try:
        return read_settings(**overrides)
    except ValidationError as err:
        first = err.errors()[0]
        loc = [str(part) for part in first["loc"]]
        # A top-level setting is best named by its environment variable.
        where = loc[0].upper() if len(loc) == 1 else ".".join(loc) or "settings"
        message = first["msg"].removeprefix("Value error, ").rstrip(".")
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        raise ConfigError(
            f"Invalid setting {where}: {message}{more}. See .env.example and chatops.example.toml."
        ) from None
