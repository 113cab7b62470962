"""A container's settings, read back from its inspect document, to create its replacement on
another image: what was given at ``docker run`` is kept, what came from the old image's
defaults is left out so that the new image's defaults apply, as they would for a fresh run.

Pure functions over the engine's documents (Watchtower's ``GetCreateConfig`` and Compose's
``recreateContainer`` are the models): no engine call here, so every rule is tested alone.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The networks a container is attached to by mode rather than by endpoint.
_MODE_NETWORKS = frozenset({"host", "none"})


@dataclass(frozen=True, kw_only=True, slots=True)
class Replacement:
    """What creating the replacement takes: the create body (``Config`` fields with
    ``HostConfig`` and at most one endpoint in ``NetworkingConfig``, as engines before API 1.44
    accept), then the other networks to connect, each with its endpoint settings."""

    body: dict[str, Any]
    more_networks: tuple[tuple[str, dict[str, Any]], ...]


def replacement(
    *, container: Mapping[str, Any], old_image: Mapping[str, Any], image: str
) -> Replacement:
    """The replacement of ``container`` (its inspect document) on ``image``, given the inspect
    document of the image it runs now."""
    config: dict[str, Any] = copy.deepcopy(dict(container.get("Config") or {}))
    defaults: Mapping[str, Any] = old_image.get("Config") or {}
    host: dict[str, Any] = copy.deepcopy(dict(container.get("HostConfig") or {}))
    _drop_image_defaults(config, defaults)
    mode = str(host.get("NetworkMode") or "")
    short_id = str(container.get("Id", ""))[:12]
    # The hostname the engine gave (the old ID), or one that belongs to another container's
    # namespace, is not a setting of this container.
    if config.get("Hostname") == short_id or mode.startswith("container:"):
        config.pop("Hostname", None)
    # Published ports are exposed, whatever the image says.
    exposed = dict(config.get("ExposedPorts") or {})
    for port in host.get("PortBindings") or {}:
        exposed[port] = {}
    _set_or_drop(config, "ExposedPorts", exposed)
    host["Binds"] = [*(host.get("Binds") or []), *_anonymous_volumes(container, host)] or None
    config["Image"] = image
    first, more = _endpoints(container, mode, short_id)
    body = {**config, "HostConfig": host}
    if first is not None:
        body["NetworkingConfig"] = {"EndpointsConfig": {first[0]: first[1]}}
    return Replacement(body=body, more_networks=tuple(more))


def _drop_image_defaults(config: dict[str, Any], defaults: Mapping[str, Any]) -> None:
    for key in ("WorkingDir", "User"):
        if config.get(key) == defaults.get(key):
            config.pop(key, None)
    if config.get("Entrypoint") == defaults.get("Entrypoint"):
        config.pop("Entrypoint", None)
        # A command is the image's only where the entrypoint is too: a new entrypoint given
        # at run time drops the image's command, so a command kept beside it was given.
        if config.get("Cmd") == defaults.get("Cmd"):
            config.pop("Cmd", None)
    if config.get("Healthcheck") == defaults.get("Healthcheck"):
        config.pop("Healthcheck", None)
    image_env = set(defaults.get("Env") or ())
    _set_or_drop(config, "Env", [item for item in config.get("Env") or () if item not in image_env])
    image_labels: Mapping[str, str] = defaults.get("Labels") or {}
    labels = {
        key: value
        for key, value in (config.get("Labels") or {}).items()
        if image_labels.get(key) != value
    }
    _set_or_drop(config, "Labels", labels)
    image_volumes = defaults.get("Volumes") or {}
    volumes = {
        path: v for path, v in (config.get("Volumes") or {}).items() if path not in image_volumes
    }
    _set_or_drop(config, "Volumes", volumes)
    image_ports = defaults.get("ExposedPorts") or {}
    ports = {
        port: v for port, v in (config.get("ExposedPorts") or {}).items() if port not in image_ports
    }
    _set_or_drop(config, "ExposedPorts", ports)


def _set_or_drop(
    config: dict[str, Any], key: str, value: Sequence[Any] | Mapping[str, Any]
) -> None:
    if value:
        config[key] = value
    else:
        config.pop(key, None)


def _anonymous_volumes(container: Mapping[str, Any], host: Mapping[str, Any]) -> list[str]:
    """``NAME:/path[:ro]`` for each volume the engine made for the container (from the image's
    ``VOLUME`` or a bare ``-v /path``): carried over, as ``docker compose up`` does, so that
    the data stays with the container's name."""
    given = {_bind_target(bind) for bind in host.get("Binds") or ()}
    given |= {str(mount.get("Target")) for mount in host.get("Mounts") or ()}
    carried = []
    for mount in container.get("Mounts") or ():
        target = str(mount.get("Destination", ""))
        if mount.get("Type") != "volume" or not mount.get("Name") or target in given:
            continue
        mode = "" if mount.get("RW", True) else ":ro"
        carried.append(f"{mount['Name']}:{target}{mode}")
    return carried


def _bind_target(bind: str) -> str:
    parts = bind.split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _endpoints(
    container: Mapping[str, Any], mode: str, short_id: str
) -> tuple[tuple[str, dict[str, Any]] | None, list[tuple[str, dict[str, Any]]]]:
    """The network given by the mode first (the engine attaches it at create), then the
    others; each keeps its aliases (not the old ID the engine added), links and fixed
    addresses."""
    if mode in _MODE_NETWORKS or mode.startswith("container:"):
        return None, []
    networks: Mapping[str, Any] = (container.get("NetworkSettings") or {}).get("Networks") or {}
    endpoints = []
    for name, endpoint in networks.items():
        settings: dict[str, Any] = {}
        aliases = [alias for alias in endpoint.get("Aliases") or () if alias != short_id]
        if aliases:
            settings["Aliases"] = aliases
        for key in ("Links", "IPAMConfig", "DriverOpts"):
            if endpoint.get(key):
                settings[key] = copy.deepcopy(endpoint[key])
        endpoints.append((str(name), settings))
    by_mode = "bridge" if mode in ("", "default") else mode
    endpoints.sort(key=lambda item: item[0] != by_mode)
    if not endpoints:
        return None, []
    return endpoints[0], endpoints[1:]
