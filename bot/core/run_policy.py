"""The run policy: which risky ``run`` options and which images are allowed, and default limits.

Everything that widens a container's reach into its host is refused unless the configuration
allows it; each refusal names the option and the setting that would allow it.
"""

from __future__ import annotations

import dataclasses
import os.path
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from bot.core.operations import MountKind, RunContainer
from bot.core.parsing.units import parse_size
from bot.core.references import ImageReference, parse_image_reference

if TYPE_CHECKING:
    from bot.settings import RunPolicySettings

DOCKER_SOCKETS = (PurePosixPath("/var/run/docker.sock"), PurePosixPath("/run/docker.sock"))
_UNCONFINED = {
    "seccomp=unconfined", "apparmor=unconfined", "label=disable", "systempaths=unconfined",
}  # fmt: skip


def run_violations(op: RunContainer, policy: RunPolicySettings) -> list[str]:
    """Every refused option of ``op``, each naming what would allow it."""
    problems: list[str] = []
    if op.privileged and not policy.allow_privileged:
        problems.append(_refused("--privileged", "allow_privileged = true"))
    allowed_caps = {_capability(cap) for cap in policy.allow_cap_add}
    for cap in op.cap_add:
        if "*" not in policy.allow_cap_add and _capability(cap) not in allowed_caps:
            problems.append(_refused(f"--cap-add {cap}", f'allow_cap_add = ["{_capability(cap)}"]'))
    network = op.network or ""
    if (network == "host" or network.startswith("container:")) and not policy.allow_host_network:
        problems.append(_refused(f"--network {network}", "allow_host_network = true"))
    namespaces = {"--pid": op.pid_mode, "--ipc": op.ipc_mode, "--uts": op.uts_mode,
                  "--userns": op.userns_mode}  # fmt: skip
    for option, mode in namespaces.items():
        shared = mode is not None and (mode == "host" or mode.startswith("container:"))
        if shared and not policy.allow_host_namespaces:
            problems.append(_refused(f"{option} {mode}", "allow_host_namespaces = true"))
    if op.devices and not policy.allow_devices:
        problems += [
            _refused(f"--device {device}", "allow_devices = true") for device in op.devices
        ]
    for option in op.security_opt:
        if option.replace(":", "=", 1) in _UNCONFINED and not policy.allow_unconfined:
            problems.append(_refused(f"--security-opt {option}", "allow_unconfined = true"))
    for mount in op.volumes:
        if mount.kind is MountKind.BIND and mount.source is not None:
            problem = _host_path_problem(mount.source, policy)
            if problem:
                problems.append(problem)
    refused_image = image_violation(op.image, policy)
    if refused_image:
        problems.append(refused_image)
    return problems


def image_violation(image: ImageReference, policy: RunPolicySettings) -> str | None:
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


def with_defaults(op: RunContainer, policy: RunPolicySettings) -> RunContainer:
    """``op`` with the configured default memory and CPU limits where it sets none."""
    memory = op.memory_bytes
    if memory is None and policy.default_memory:
        memory = parse_size(policy.default_memory, option="default_memory")
    cpus = op.nano_cpus
    if cpus is None and policy.default_cpus:
        cpus = int(policy.default_cpus * 1e9)
    return dataclasses.replace(op, memory_bytes=memory, nano_cpus=cpus)


def _host_path_problem(source: str, policy: RunPolicySettings) -> str | None:
    # Compare resolved paths: "..", "//" and symlinks must not lead around the rules.
    path = PurePosixPath(os.path.realpath(source))
    exposes_socket = any(socket == path or socket.is_relative_to(path) for socket in DOCKER_SOCKETS)
    if exposes_socket or path.name == "docker.sock":
        if policy.allow_docker_socket:
            return None
        return _refused(f"-v {source} (it exposes the Docker socket)", "allow_docker_socket = true")
    for allowed in policy.host_path_allowlist:
        if path.is_relative_to(PurePosixPath(os.path.realpath(allowed))):
            return None
    return f"host path `{source}` (resolved: {path}) is outside [run_policy] host_path_allowlist"


def _capability(name: str) -> str:
    return name.upper().removeprefix("CAP_")


def _refused(option: str, setting: str) -> str:
    return f"`{option}` is refused (allow it with [run_policy] {setting})"
