"""The run policy: which risky ``run`` options and which images are allowed, and default limits.

Every option that can widen a container's reach into its host is checked against an
allowlist: known-safe values pass, everything else is refused unless the configuration allows
it, and each refusal names the option and the setting that would allow it. (A denylist of
known-bad values is what let ``seccomp={"defaultAction":"SCMP_ACT_ALLOW"}`` through.)
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.host_paths import (
    HostPathError,
    clean_host_path,
    exposes_docker_socket,
    host_path_refusal,
)
from bot.core.operations import MountKind, RunContainer
from bot.core.protection import OWNER_LABEL
from bot.core.references import ImageReference, parse_image_reference

_UNCONFINED = frozenset(
    {"seccomp=unconfined", "apparmor=unconfined", "label=disable", "systempaths=unconfined"}
)
# --security-opt values that only narrow what a container may do (or name the default).
_SAFE_SECURITY_OPTIONS = frozenset(
    {"no-new-privileges", "apparmor=docker-default"}
    | {f"no-new-privileges={word}" for word in ("true", "false", "1", "0", "TRUE", "FALSE")}
)
# Namespace modes that keep the container's own namespace; "host" and "container:NAME" share
# another's and need allow_host_namespaces; anything else is refused as unknown.
_PRIVATE_NAMESPACES = {
    "--pid": frozenset({"private"}),
    "--ipc": frozenset({"private", "shareable", "none"}),
    "--uts": frozenset({"private"}),
    "--userns": frozenset({"private"}),
}
# Networks any container may join: the engine's default bridge and no network at all. Every
# other network is an allowlist's (a stack's internal network reaches what it protects).
ALWAYS_JOINABLE_NETWORKS = ("bridge", "none")
_NETWORK_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}\Z")
_SHOWN_LIMIT = 80
# -v options that change the host itself: SELinux relabelling of the host's files, and
# mount propagation from the container back into the host.
_HOST_CHANGING_MOUNT_OPTIONS = frozenset({"z", "Z", "shared", "rshared"})


@dataclass(frozen=True, kw_only=True, slots=True)
class RunPolicy:
    """``[run_policy]`` as plain values (``bot.config`` builds it): everything risky is refused
    until allowed here. Refusals name the setting, so the names follow the configuration."""

    allow_privileged: bool = False
    allow_cap_add: tuple[str, ...] = ()  # capabilities, or ("*",)
    allow_host_network: bool = False  # --network host / container:NAME
    # Networks `run` may join besides bridge and none: names or globs ("team-*").
    network_allowlist: tuple[str, ...] = ()
    allow_host_namespaces: bool = False  # --pid/--ipc/--uts/--userns host
    allow_devices: bool = False
    allow_unconfined: bool = False  # --security-opt seccomp/apparmor unconfined
    # Exact --security-opt values allowed besides no-new-privileges and apparmor=docker-default.
    allow_security_opt: tuple[str, ...] = ()
    allow_docker_socket: bool = False
    allow_mount_options: tuple[str, ...] = ()  # of z, Z, shared, rshared
    engine_sockets: tuple[str, ...] = ()  # the configured engines' sockets: never mountable
    host_path_allowlist: tuple[str, ...] = ()  # exact paths, read-write or read-only
    host_path_readonly_trees: tuple[str, ...] = ()  # anything below these, read-only
    image_allowlist: tuple[str, ...] = ()  # empty: any image
    # Labels outside the chatops. namespace that carry the bot's meaning (the configured
    # housekeeping keep label, notification quiet labels): like chatops.*, admins only.
    admin_labels: tuple[str, ...] = ()
    default_memory_bytes: int | None = None  # when run gives no -m
    default_cpus: float | None = None  # when run gives no --cpus
    # Processes one container may hold: the default and the most --pids-limit may ask for
    # (a fork bomb in one container would otherwise take the engine's host down for all).
    pids_limit: int | None = None


def run_violations(op: RunContainer, policy: RunPolicy) -> list[str]:
    """Every refused option of ``op``, each naming what would allow it."""
    problems: list[str] = []
    if op.privileged and not policy.allow_privileged:
        problems.append(_refused("--privileged", "allow_privileged = true"))
    allowed_caps = {_capability(cap) for cap in policy.allow_cap_add}
    for cap in op.cap_add:
        if "*" not in policy.allow_cap_add and _capability(cap) not in allowed_caps:
            problems.append(_refused(f"--cap-add {cap}", f'allow_cap_add = ["{_capability(cap)}"]'))
    problems += _network_problems(op.network, policy)
    namespaces = {
        "--pid": op.pid_mode,
        "--ipc": op.ipc_mode,
        "--uts": op.uts_mode,
        "--userns": op.userns_mode,
    }
    for option, mode in namespaces.items():
        if mode is None or mode in _PRIVATE_NAMESPACES[option]:
            continue
        if mode == "host" or mode.startswith("container:"):
            if not policy.allow_host_namespaces:
                problems.append(_refused(f"{option} {mode}", "allow_host_namespaces = true"))
        else:
            safe = ", ".join(sorted(_PRIVATE_NAMESPACES[option]))
            problems.append(
                f"`{option} {_shown(mode)}` is refused: use {safe} (or host, "
                "with [run_policy] allow_host_namespaces = true)"
            )
    if op.devices and not policy.allow_devices:
        problems += [
            _refused(f"--device {device}", "allow_devices = true") for device in op.devices
        ]
    problems += [
        problem for option in op.security_opt if (problem := _security_problem(option, policy))
    ]
    for mount in op.volumes:
        if mount.kind is MountKind.BIND and mount.source is not None:
            problem = _host_path_problem(mount.source, mount.read_only, mount.options, policy)
            if problem:
                problems.append(problem)
    if policy.pids_limit and op.pids_limit and op.pids_limit > policy.pids_limit:
        problems.append(
            f"`--pids-limit {op.pids_limit}` is refused: at most {policy.pids_limit} "
            f"(allow more with [run_policy] pids_limit = {op.pids_limit})"
        )
    refused_image = image_violation(op.image, policy)
    if refused_image:
        problems.append(refused_image)
    return problems


def image_violation(image: ImageReference, policy: RunPolicy) -> str | None:
    """Why ``image`` is refused by the image allowlist, or None."""
    if not policy.image_allowlist:
        return None
    repository = image.canonical_repository
    for entry in policy.image_allowlist:
        if entry.endswith("/*"):
            prefix = parse_image_reference(
                entry[:-2] + "/x", default_tag=False
            ).canonical_repository
            if repository.startswith(prefix[:-1]):
                return None
        elif parse_image_reference(entry, default_tag=False).canonical_repository == repository:
            return None
    return f"image `{image.familiar()}` ({repository}) is not in [run_policy] image_allowlist"


def with_defaults(op: RunContainer, policy: RunPolicy, *, owner: str | None = None) -> RunContainer:
    """``op`` with the configured default memory, CPU and process limits where it sets none,
    and labelled with its ``owner`` (the chat user who ran it) unless an admin set that."""
    memory = op.memory_bytes
    if memory is None and policy.default_memory_bytes:
        memory = policy.default_memory_bytes
    cpus = op.nano_cpus
    if cpus is None and policy.default_cpus:
        cpus = int(policy.default_cpus * 1e9)
    labels = op.labels
    if owner is not None and all(key != OWNER_LABEL for key, _ in labels):
        labels = (*labels, (OWNER_LABEL, owner))
    pids = op.pids_limit if op.pids_limit is not None else policy.pids_limit
    return dataclasses.replace(
        op, memory_bytes=memory, nano_cpus=cpus, pids_limit=pids, labels=labels
    )


def listed(name: str, patterns: Iterable[str]) -> bool:
    """Does ``name`` match one of ``patterns`` (exact names or globs, case-sensitive)?"""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def normalise_security_option(option: str) -> str:
    """``key:value`` (Docker's older spelling) and ``key=value`` compare as ``key=value``."""
    equals, colon = option.find("="), option.find(":")
    if colon != -1 and (equals == -1 or colon < equals):
        return option[:colon] + "=" + option[colon + 1 :]
    return option


def _security_problem(option: str, policy: RunPolicy) -> str | None:
    normal = normalise_security_option(option)
    # Both spellings of an allowed value count, however the policy was built.
    allowed = {normalise_security_option(value) for value in policy.allow_security_opt}
    if normal in _SAFE_SECURITY_OPTIONS or normal in allowed:
        return None
    if normal in _UNCONFINED:
        if policy.allow_unconfined:
            return None
        return _refused(f"--security-opt {option}", "allow_unconfined = true")
    # Inline seccomp profiles, other AppArmor profiles, SELinux labels, writable cgroups...:
    # the bot cannot tell a narrower profile from a wider one, so the configuration must.
    return (
        f"`--security-opt {_shown(option)}` is refused: only no-new-privileges and "
        "apparmor=docker-default are allowed (allow an exact value with [run_policy] "
        f'allow_security_opt = ["{_shown(normal)}"])'
    )


def _network_problems(network: str | None, policy: RunPolicy) -> list[str]:
    if network is None:
        return []
    if network == "host" or network.startswith("container:"):
        if policy.allow_host_network:
            return []
        return [_refused(f"--network {network}", "allow_host_network = true")]
    if not _NETWORK_NAME.match(network):
        return [f"`--network {_shown(network)}` is refused: not a network name"]
    if network in ALWAYS_JOINABLE_NETWORKS or listed(network, policy.network_allowlist):
        return []
    return [
        f"`--network {network}` is refused: only bridge, none and the networks in [run_policy] "
        f'network_allowlist may be joined (allow it with network_allowlist = ["{network}"])'
    ]


def _host_path_problem(
    source: str, read_only: bool, options: tuple[str, ...], policy: RunPolicy
) -> str | None:
    risky = [option for option in options if option in _HOST_CHANGING_MOUNT_OPTIONS]
    refused = [option for option in risky if option not in policy.allow_mount_options]
    if refused:
        listed = ", ".join(f'"{option}"' for option in refused)
        return (
            f"`-v {_shown(source)}:…:{','.join(refused)}` is refused: it changes the host "
            f"(relabels files or propagates mounts); allow with [run_policy] "
            f"allow_mount_options = [{listed}]"
        )
    try:
        exposes_socket = exposes_docker_socket(
            clean_host_path(source), sockets=policy.engine_sockets
        )
    except HostPathError:
        exposes_socket = False  # host_path_refusal names the problem
    if exposes_socket:
        if policy.allow_docker_socket:
            return None
        return _refused(f"-v {source} (it exposes the Docker socket)", "allow_docker_socket = true")
    return host_path_refusal(
        source,
        read_only=read_only,
        exact=policy.host_path_allowlist,
        trees=policy.host_path_readonly_trees,
    )


def _shown(text: str) -> str:
    """Option values in refusals stay short: an inline JSON profile can be kilobytes."""
    return text if len(text) <= _SHOWN_LIMIT else text[: _SHOWN_LIMIT - 1] + "…"


def _capability(name: str) -> str:
    return name.upper().removeprefix("CAP_")


def _refused(option: str, setting: str) -> str:
    return f"`{option}` is refused (allow it with [run_policy] {setting})"
