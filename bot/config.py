"""The settings translated into plain values: the one place that knows both.

The core takes frozen values (``AccessRules``, ``RunPolicy``) and the engine adapter plain
limits and rules, never the settings object, so both can be built and tested without
pydantic or a configuration file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.core.cleanup import CleanupRules
from bot.core.freezes import Freeze, NextFire, clash
from bot.core.grants import Grant
from bot.core.notices.quiet_hours import QuietHours, parse_quiet_hours
from bot.core.notices.rules import NotificationRules, parse_restart_loop
from bot.core.parsing.units import parse_duration, parse_size
from bot.core.policy import AccessRules, ConfiguredPolicy
from bot.core.protection import Protection
from bot.core.run_policy import RunPolicy
from bot.engine.directory import DEFAULT_ENGINE_NAME, DockerEngineDirectory
from bot.engine.lean import LeanEngine, LeanEngineDirectory
from bot.engine.own_container import own_container_ids
from bot.errors import ConfigError
from bot.settings import (
    CleanupSettings,
    EngineSettings,
    FreezeSettings,
    NotificationSettings,
    RunPolicySettings,
    Settings,
    TLSSettings,
)
from bot.unconfigured import DEFAULT_DOCKER_HOST

if TYPE_CHECKING:
    # The docker SDK, which the engines import, is imported when an engine is built.
    from bot.engine.docker_engine import DockerEngine, EngineLimits, EngineTLS


def access_rules(settings: Settings) -> AccessRules:
    """``[roles]``, ``[access]``, ``[approvals]`` and the engines' channel bindings."""
    roles = settings.roles
    return AccessRules(
        roles={
            "viewer": tuple(roles.viewer),
            "operator": tuple(roles.operator),
            "admin": tuple(roles.admin),
        },
        channels=tuple(settings.access.channels),
        required_for=tuple(settings.approvals.required_for),
        approvers=tuple(settings.approvals.approvers),
        engine_channels={name: tuple(engine.channels) for name, engine in settings.engines.items()},
    )


def run_policy(settings: RunPolicySettings) -> RunPolicy:
    """``[run_policy]``, already checked by the settings (sizes parse, paths are clean)."""
    memory = settings.default_memory
    return RunPolicy(
        allow_privileged=settings.allow_privileged,
        allow_cap_add=tuple(settings.allow_cap_add),
        allow_host_network=settings.allow_host_network,
        network_allowlist=tuple(settings.network_allowlist),
        allow_host_namespaces=settings.allow_host_namespaces,
        allow_devices=settings.allow_devices,
        allow_unconfined=settings.allow_unconfined,
        allow_security_opt=tuple(settings.allow_security_opt),
        allow_docker_socket=settings.allow_docker_socket,
        allow_mount_options=tuple(settings.allow_mount_options),
        engine_sockets=tuple(settings.engine_sockets),
        host_path_allowlist=tuple(settings.host_path_allowlist),
        host_path_readonly_trees=tuple(settings.host_path_readonly_trees),
        image_allowlist=tuple(settings.image_allowlist),
        default_memory_bytes=parse_size(memory, option="default_memory") if memory else None,
        default_cpus=settings.default_cpus,
        pids_limit=settings.pids_limit or None,
    )


def configured_policy(
    settings: Settings, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> ConfiguredPolicy:
    """The Slack service's policy: the access rules, the freezes, then the run policy."""
    policy = dataclasses.replace(
        run_policy(settings.run_policy), admin_labels=admin_labels(settings)
    )
    return ConfiguredPolicy(
        rules=access_rules(settings),
        run_policy=policy,
        freezes=freezes(settings, now=clock()),
        grants=grants(settings),
        clock=clock,
    )


def grants(settings: Settings) -> tuple[Grant, ...]:
    """``[[grants]]`` as values, numbered as in the file; unknown engines stop start-up."""
    known = set(settings.engines) or {DEFAULT_ENGINE_NAME}
    built = []
    for number, table in enumerate(settings.grants, start=1):
        unknown = sorted(set(table.engines) - known)
        if unknown:
            raise ConfigError(
                f"[[grants]] #{number} names unknown engines {', '.join(unknown)}; "
                f"configured: {', '.join(sorted(known))}."
            )
        built.append(table.as_grant(number=number))
    return tuple(built)


# How far ahead recurring windows are compared for a clash.
FREEZE_CLASH_HORIZON = timedelta(days=366)


def freezes(settings: Settings, *, now: datetime) -> tuple[Freeze, ...]:
    """``[[freeze]]`` as values; unknown engines and overlapping windows whose reasons differ
    (within a year of ``now``) stop start-up."""
    known = set(settings.engines) or {DEFAULT_ENGINE_NAME}
    built = []
    for number, table in enumerate(settings.freeze, start=1):
        unknown = sorted(set(table.engines) - known)
        if unknown:
            raise ConfigError(
                f"[[freeze]] #{number} ({table.reason}) names unknown engines "
                f"{', '.join(unknown)}; configured: {', '.join(sorted(known))}."
            )
        built.append(_freeze(table))
    found = clash(tuple(built), since=now, until=now + FREEZE_CLASH_HORIZON)
    if found is not None:
        first, second = found
        raise ConfigError(
            f"[[freeze]] windows overlap with different reasons: {first.reason!r} "
            f"({first.start:%Y-%m-%d %H:%M %Z} to {first.end:%Y-%m-%d %H:%M %Z}) and "
            f"{second.reason!r} (from {second.start:%Y-%m-%d %H:%M %Z})."
        )
    return tuple(built)


def _freeze(table: FreezeSettings) -> Freeze:
    engines, actions = frozenset(table.engines), frozenset(table.actions)
    if table.start is not None and table.end is not None:
        return Freeze(
            reason=table.reason,
            start=table.aware(table.start),
            end=table.aware(table.end),
            engines=engines,
            actions=actions,
        )
    assert table.schedule is not None and table.duration is not None  # the settings checked
    return Freeze(
        reason=table.reason,
        next_fire=_next_fire(table.schedule, timezone=table.timezone),
        duration=parse_duration(table.duration, option="duration"),
        engines=engines,
        actions=actions,
    )


def _next_fire(schedule: str, *, timezone: str) -> NextFire:
    from bot.housekeeping.schedule import cron_trigger  # APScheduler: only for a schedule

    trigger = cron_trigger(schedule, timezone=timezone)

    def next_fire(moment: datetime) -> datetime | None:
        # Cron fires on whole seconds: the first at or after a microsecond later is after.
        fire: datetime | None = trigger.get_next_fire_time(None, moment + timedelta(microseconds=1))
        return fire

    return next_fire


def admin_labels(settings: Settings) -> tuple[str, ...]:
    """The labels whose meaning is the bot's though they may lie outside ``chatops.``: every
    configured housekeeping keep label and notification quiet label."""
    labels = {settings.cleanup.keep_label, settings.notifications.quiet_label}
    for engine in settings.engines.values():
        if engine.cleanup is not None:
            labels.add(engine.cleanup.keep_label)
        if engine.notifications is not None and engine.notifications.quiet_label:
            labels.add(engine.notifications.quiet_label)
    return tuple(sorted(labels))


def notification_rules(settings: Settings, engines: list[str]) -> dict[str, NotificationRules]:
    """Each engine's ``[notifications]`` (its own table's keys over the global ones); engines
    without a channel or without any event kind are not watched."""
    rules = {}
    for name in engines:
        engine = settings.engines.get(name)
        overrides = engine.notifications if engine else None
        config = overrides.over(settings.notifications) if overrides else settings.notifications
        if config.channel is None or not config.events:
            continue
        _notices_may_go_to(config.channel, name, settings)
        rules[name] = NotificationRules(
            channel=config.channel,
            kinds=frozenset(config.events),
            quiet_label=config.quiet_label,
            exclude=tuple(config.exclude),
            group_window=parse_duration(config.group_window, option="group_window"),
            restart_loop=parse_restart_loop(config.restart_loop),
        )
    return rules


def quiet_hours(settings: NotificationSettings) -> QuietHours | None:
    """``[notifications] quiet_hours`` as a value (None: unset)."""
    if settings.quiet_hours is None:
        return None
    start, end = parse_quiet_hours(settings.quiet_hours)
    return QuietHours(
        start=start,
        end=end,
        zone=ZoneInfo(settings.timezone),
        kinds=frozenset(settings.quiet_events),
    )


def _notices_may_go_to(channel: str, engine: str, settings: Settings) -> None:
    """A notice's buttons act from its channel: the channel must be one the bot serves, and
    one the engine may be used from (fail closed rather than post where nobody may act)."""
    served = settings.access.channels
    if served and channel not in served:
        raise ConfigError(
            f"Notifications for engine {engine!r} go to {channel}, which is not in "
            "[access] channels: add it there, or set another [notifications] channel."
        )
    bound = settings.engines[engine].channels if engine in settings.engines else []
    if bound and channel not in bound:
        raise ConfigError(
            f"Notifications for engine {engine!r} go to {channel}, but the engine may only be "
            f"used from {', '.join(bound)}: set [engines.{engine}.notifications] channel."
        )


def engine_directory(settings: Settings) -> DockerEngineDirectory:
    """``[engines.*]`` from the TOML file, else one engine from DOCKER_HOST or the socket."""
    engines, default = _engine_builders(settings)
    return DockerEngineDirectory(
        engines={name: build() for name, build in engines.items()}, default=default
    )


def lean_engine_directory(settings: Settings) -> LeanEngineDirectory:
    """The same engines for a one-shot command (exec, the console): each builds its
    ``DockerEngine`` only for what is more than a listing (``bot.engine.lean``)."""
    builders, default = _engine_builders(settings)
    return LeanEngineDirectory(
        engines={
            name: LeanEngine(name=name, url=url, timeout=timeout, full=builders[name])
            for name, (url, timeout) in _engine_locations(settings).items()
        },
        default=default,
    )


def _engine_locations(settings: Settings) -> dict[str, tuple[str, float]]:
    """Each engine's URL and timeout."""
    if not settings.engines:
        return {DEFAULT_ENGINE_NAME: (_default_url(settings), settings.engine_timeout_seconds)}
    return {
        name: (config.url, config.timeout_seconds or settings.engine_timeout_seconds)
        for name, config in settings.engines.items()
    }


def _default_url(settings: Settings) -> str:
    return settings.docker_host or DEFAULT_DOCKER_HOST


def _engine_builders(settings: Settings) -> tuple[dict[str, Callable[[], DockerEngine]], str]:
    """A function building each configured engine, and the default engine's name."""
    volume_allowlist = tuple(settings.run_policy.volume_allowlist)
    # The bot's own container, wherever it runs: protected on every engine (an ID is unique
    # across engines, and the bot cannot tell which engine runs it).
    protection = Protection(
        own_container_ids=own_container_ids(), admin_labels=frozenset(admin_labels(settings))
    )
    # What could be refused is read now, whenever the engines are built.
    settle = settings.upgrades.settle_seconds
    credentials = settings.registry_credentials()  # [registries] with their passwords

    def builder(name: str, url: str, config: EngineSettings | None) -> Callable[[], DockerEngine]:
        rules = cleanup_rules((config.cleanup if config else None) or settings.cleanup)

        def build() -> DockerEngine:
            from bot.engine.docker_engine import DockerEngine
            from bot.engine.registry_auth import RegistryAuth

            registry_auth = RegistryAuth(credentials=credentials)

            if config is None:
                return DockerEngine(
                    name=name,
                    url=url,
                    limits=_limits(settings, None),
                    cleanup_rules=rules,
                    volume_allowlist=volume_allowlist,
                    protection=protection,
                    upgrade_settle=settle,
                    registry_auth=registry_auth,
                )
            return DockerEngine(
                name=name,
                url=url,
                limits=_limits(settings, config.timeout_seconds),
                tls=_tls(config.tls),
                use_ssh_client=config.use_ssh_client,
                cleanup_rules=rules,
                volume_allowlist=volume_allowlist,
                protection=protection,
                upgrade_settle=settle,
                registry_auth=registry_auth,
            )

        return build

    if not settings.engines:
        build = builder(DEFAULT_ENGINE_NAME, _default_url(settings), None)
        return {DEFAULT_ENGINE_NAME: build}, DEFAULT_ENGINE_NAME
    default = next(
        (name for name, config in settings.engines.items() if config.default),
        next(iter(settings.engines)),
    )
    builders = {
        name: builder(name, config.url, config) for name, config in settings.engines.items()
    }
    return builders, default


def cleanup_rules(config: CleanupSettings) -> CleanupRules:
    return CleanupRules.from_text(
        container_grace=config.container_grace,
        image_grace=config.image_grace,
        keep_label=config.keep_label,
        exclude=config.exclude,
        unused_images_after=config.unused_images_after,
    )


def _limits(settings: Settings, timeout: float | None) -> EngineLimits:
    from bot.engine.docker_engine import EngineLimits

    return EngineLimits(
        timeout_seconds=timeout or settings.engine_timeout_seconds,
        run_wait_seconds=settings.run_wait_seconds,
        run_output_lines=settings.run_output_lines,
        logs_max_lines=settings.logs_max_lines,
    )


def _tls(config: TLSSettings | None) -> EngineTLS | None:
    if config is None:
        return None
    from bot.engine.docker_engine import EngineTLS

    return EngineTLS(
        ca_cert=config.ca_cert,
        client_cert=config.client_cert,
        client_key=config.client_key,
        verify=config.verify,
    )
