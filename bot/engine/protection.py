"""Protected objects on a real engine: look the object up, refuse it before anything runs.

What counts as protected, and the wording, is ``bot.core.protection``'s; this module only asks
the engine. Every check resolves the name the user typed to the object's full ID, and callers
act on that ID, so a name re-pointed between the check and the action cannot slip through.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import docker
import docker.errors

from bot.core.operations import MountKind, RunContainer
from bot.core.protection import (
    CREATED_BY_CHAT,
    CREATED_BY_LABEL,
    OWNER_LABEL,
    Protection,
    is_protected,
    refusal,
)
from bot.core.run_policy import listed
from bot.core.upgrades import in_an_upgrade
from bot.errors import AccessDenied, Protected


def labels_of(doc: dict[str, Any]) -> dict[str, str]:
    """A container's (``Config.Labels``), a network's or a volume's (``Labels``) labels."""
    labels = (doc.get("Config") or {}).get("Labels") if "Config" in doc else doc.get("Labels")
    return dict(labels or {})


def checked_container(api: docker.APIClient, target: str, protection: Protection) -> dict[str, Any]:
    """The inspect document of container ``target``; ``Protected`` if chat may not touch it.
    Raises docker's ``NotFound`` as the engine does for a missing container."""
    doc: dict[str, Any] = api.inspect_container(target)
    refused = protection.container_refusal(
        container_id=str(doc["Id"]), labels=labels_of(doc), shown=target
    )
    if refused:
        raise Protected(f"Not allowed: {refused}.")
    if in_an_upgrade(str(doc.get("Name", ""))):
        raise Protected(
            f"Not allowed: {target} is set aside by an upgrade under way; it is removed or "
            "put back when the upgrade ends."
        )
    return doc


def checked_ids(
    api: docker.APIClient, targets: Iterable[str], protection: Protection
) -> dict[str, str]:
    """target -> full ID for every target that exists, after refusing the whole request if
    any of them is protected (before any is acted on). Missing targets are left out: the
    action reports them one by one, as the Docker CLI does."""
    ids: dict[str, str] = {}
    for target in targets:
        try:
            ids[target] = str(checked_container(api, target, protection)["Id"])
        except docker.errors.NotFound:
            continue
    return ids


def listable(doc: dict[str, Any], protection: Protection) -> bool:
    """May an implicit selection (``stats -a``, a prune plan) include this listed container?"""
    refused = protection.container_refusal(
        container_id=str(doc.get("Id")), labels=doc.get("Labels") or {}, shown=""
    )
    names = doc.get("Names") or ()
    return refused is None and not any(in_an_upgrade(str(n)) for n in names)


def check_run_targets(
    api: docker.APIClient,
    op: RunContainer,
    protection: Protection,
    *,
    volume_allowlist: tuple[str, ...],
) -> RunContainer:
    """Refuse a ``run`` that would join a protected network or namespace, or mount a volume
    that is protected or neither made by the bot nor allowlisted; create the named volumes
    that do not exist yet, labelled as made through chat and by whom. Returns ``op`` with
    each ``container:NAME`` mode naming the checked container by its full ID, so that a
    container that took the name since the check is not the one joined."""

    def checked_mode(mode: str | None) -> str | None:
        if mode is None or not mode.startswith("container:"):
            return mode
        return "container:" + str(checked_container(api, mode.partition(":")[2], protection)["Id"])

    network = op.network
    op = dataclasses.replace(
        op,
        pid_mode=checked_mode(op.pid_mode),
        ipc_mode=checked_mode(op.ipc_mode),
        uts_mode=checked_mode(op.uts_mode),
        network=checked_mode(network),
    )
    if network and not network.startswith("container:") and network not in ("host", "none"):
        _check_network(api, network)
    names = [
        mount.source
        for mount in op.volumes
        if mount.kind is MountKind.VOLUME and mount.source is not None
    ]
    # Every volume is judged before any is made: a refused run leaves no volume behind.
    missing = [name for name in names if not _check_volume(api, name, protection, volume_allowlist)]
    owner = dict(op.labels).get(OWNER_LABEL)
    for name in missing:
        labels = {CREATED_BY_LABEL: CREATED_BY_CHAT}
        if owner:
            labels[OWNER_LABEL] = owner
        # Creating a volume that appeared meanwhile returns that one unchanged: judge it again.
        api.create_volume(name=name, driver="local", labels=labels)
        _check_volume(api, name, protection, volume_allowlist)
    return op


def _check_network(api: docker.APIClient, name: str) -> None:
    try:
        doc = api.inspect_network(name)
    except docker.errors.NotFound:
        return  # the engine answers "network not found" itself
    if str(doc.get("Name")) != name:
        # The engine also takes IDs and ID prefixes: the allowlist judged a name, so the
        # network must be the one of that name, not one whose ID happens to match.
        raise AccessDenied(
            f"Not allowed: `--network {name}` names network {doc.get('Name')!r} by its ID; "
            "name networks by their name."
        )
    if is_protected(labels_of(doc)):
        raise Protected(f"Not allowed: {refusal('network', name)}.")


def checked_volume(
    api: docker.APIClient, name: str, protection: Protection
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The inspect document of volume ``name`` and the listed containers that mount it;
    ``Protected`` if chat may not touch it. Raises docker's ``NotFound`` for a missing one."""
    doc: dict[str, Any] = api.inspect_volume(name)
    if is_protected(labels_of(doc)):
        raise Protected(f"Not allowed: {refusal('volume', name)}.")
    # A volume a protected container mounts is its state, whoever made it: a name claimed
    # from chat before a stack first came up is the stack's now.
    users: list[dict[str, Any]] = api.containers(all=True, filters={"volume": name})
    if not all(listable(user, protection) for user in users):
        raise Protected(
            f"Not allowed: volume `{name}` is mounted by a protected container; it may be "
            "listed, and nothing else from chat."
        )
    return doc, users


def _check_volume(
    api: docker.APIClient, name: str, protection: Protection, allowlist: tuple[str, ...]
) -> bool:
    """Refuse volume ``name`` unless chat may mount it; False if it does not exist yet."""
    try:
        doc, _ = checked_volume(api, name, protection)
    except docker.errors.NotFound:
        return False
    if listed(name, allowlist):
        return True
    labels = labels_of(doc)
    made_by_chat = labels.get(CREATED_BY_LABEL) == CREATED_BY_CHAT
    plain = doc.get("Driver") == "local" and not (doc.get("Options") or {})
    if made_by_chat and plain:
        return True
    raise AccessDenied(
        f"Not allowed: volume `{name}` exists and was not made through chat (it may be another "
        "stack's state, or a host path under another name); allow it with [run_policy] "
        f'volume_allowlist = ["{name}"].'
    )
