"""The settings translated into the core's plain values: the one place that knows both.

The core takes frozen values (``AccessRules``, ``RunPolicy``) and never the settings object,
so it can be built and tested without pydantic or a configuration file.
"""

from __future__ import annotations

from bot.core.parsing.units import parse_size
from bot.core.policy import AccessRules, ConfiguredPolicy
from bot.core.run_policy import RunPolicy
from bot.settings import RunPolicySettings, Settings


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
    )


def configured_policy(settings: Settings) -> ConfiguredPolicy:
    """The Slack service's policy: the access rules, then the run policy."""
    return ConfiguredPolicy(
        rules=access_rules(settings), run_policy=run_policy(settings.run_policy)
    )
