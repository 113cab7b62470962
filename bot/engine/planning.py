"""Exact plans for destructive actions, and executing exactly a plan (for approvals)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, assert_never

import docker
import docker.errors

from bot.core.cleanup import CLEANUP, STOPPED, CleanupRules, cleanup_result
from bot.core.engine import ProgressCallback
from bot.core.humanize import human_size, short_id
from bot.core.operations import (
    ChangeContainers,
    Cleanup,
    ContainerAction,
    FilterPairs,
    Operation,
    Planned,
    PruneContainers,
    PruneImages,
    RemoveImages,
    RemoveVolumes,
    RollbackContainer,
    RollbackService,
    ScaleService,
    UpdateServiceImage,
    UpgradeContainers,
    filters_as_dict,
)
from bot.core.parsing.units import parse_point_in_time
from bot.core.plans import STATE_CHANGES, ObjectKind, Plan, PlanItem
from bot.core.protection import NOTHING_PROTECTED_BUT_LABELS, Protection
from bot.core.results import ActionResult, TargetOutcome
from bot.core.upgrades import InMemoryUpgradeJournal, UpgradeJournal
from bot.engine import swarm
from bot.engine.exact import item_change, refuse_changed
from bot.engine.housekeeping import apply_cleanup, plan_cleanup
from bot.engine.protection import checked_container, checked_volume, listable
from bot.engine.registry_auth import NO_REGISTRY_AUTH, RegistryAuth
from bot.engine.upgrade import plan_rollback, plan_upgrade
from bot.errors import Conflict, EngineError, PlanChanged


def make_plan(
    api: docker.APIClient,
    operation: Operation,
    rules: CleanupRules,
    *,
    now: datetime | None = None,
    protection: Protection = NOTHING_PROTECTED_BUT_LABELS,
    engine: str = "",
    upgrades: UpgradeJournal | None = None,
    registry_auth: RegistryAuth = NO_REGISTRY_AUTH,
    progress: ProgressCallback | None = None,
) -> Plan:
    """The exact objects ``operation`` would destroy now (``now``: the cleanup's clock).
    A protected container named in ``rm`` refuses the whole plan before anyone is asked;
    a prune plan leaves protected containers out."""
    match operation:
        case Cleanup():
            return plan_cleanup(api, rules, now=now or datetime.now(UTC))
        case ChangeContainers(action=ContainerAction.REMOVE):
            items = tuple(
                _container_item(checked_container(api, target, protection), target, operation.force)
                for target in operation.containers
            )
            return Plan(action="rm", items=items, force=operation.force, volumes=operation.volumes)
        case ChangeContainers():
            # A state change planned for an approver (an admin's, inside a freeze window).
            if operation.timeout is not None:
                raise Conflict(
                    f"`{operation.action.value} -t` cannot wait for an approval (an approved "
                    "plan keeps no timeout): ask without `-t`."
                )
            items = tuple(
                _state_item(checked_container(api, target, protection), target)
                for target in operation.containers
            )
            return Plan(action=operation.action.value, items=items)
        case RemoveImages():
            items = tuple(
                _image_item(api.inspect_image(target), target) for target in operation.images
            )
            return Plan(
                action="rmi", items=items, force=operation.force, no_prune=operation.no_prune
            )
        case PruneContainers():
            listing = tuple(pair for pair in operation.filters if pair[0] != "label!")
            filters = filters_as_dict(_without_until(listing)) | {"status": list(STOPPED)}
            # The listing takes no label! filter (only the engine's prune does): applied here,
            # with the prune's meaning (left out when it carries every label! given).
            unwanted = [value for key, value in operation.filters if key == "label!"]
            docs = [
                doc
                for doc in api.containers(all=True, filters=filters, size=True)
                if not (unwanted and _carries_all(doc.get("Labels") or {}, unwanted))
            ]
            items = tuple(
                PlanItem(
                    kind=ObjectKind.CONTAINER,
                    id=doc["Id"],
                    target=doc["Id"],
                    size=int(doc.get("SizeRw") or 0),
                    description=f"{_name(doc)} ({doc.get('Image')}, {doc.get('Status')})",
                )
                for doc in docs
                if _old_enough(doc.get("Created"), operation.filters) and listable(doc, protection)
            )
            return Plan(action="prune", items=items)
        case PruneImages():
            return Plan(action="prune", items=_unused_images(api, operation))
        case Planned():
            match operation:
                case RemoveVolumes():
                    items = tuple(_volume_item(api, n, protection) for n in operation.volumes)
                    return Plan(action=operation.access.action, items=items, force=operation.force)
                case UpgradeContainers():
                    image = operation.image.familiar() if operation.image else None
                    return plan_upgrade(
                        api,
                        containers=operation.containers,
                        image=image,
                        protection=protection,
                        engine=engine,
                        journal=upgrades or InMemoryUpgradeJournal(),
                        auth=registry_auth,
                        progress=progress,
                    )
                case RollbackContainer():
                    return plan_rollback(
                        api,
                        container=operation.container,
                        engine=engine,
                        journal=upgrades or InMemoryUpgradeJournal(),
                        protection=protection,
                    )
                case UpdateServiceImage():
                    return swarm.plan_service_change(
                        api,
                        action=swarm.SERVICE_UPDATE,
                        service=operation.service,
                        engine=engine,
                        image=operation.image.familiar(),
                    )
                case ScaleService():
                    return swarm.plan_service_change(
                        api,
                        action=swarm.SERVICE_SCALE,
                        service=operation.service,
                        engine=engine,
                        replicas=operation.replicas,
                    )
                case RollbackService():
                    return swarm.plan_service_change(
                        api, action=swarm.SERVICE_ROLLBACK, service=operation.service, engine=engine
                    )
                case _:
                    assert_never(operation)
    raise EngineError(f"`{operation}` needs no approval plan.")


def execute_plan(api: docker.APIClient, plan: Plan, *, engine: str) -> ActionResult:
    """Check every planned object is still the planned one, then destroy exactly those.

    A cleanup skips what changed (and says so); the other actions refuse the whole plan.
    """
    if plan.action == CLEANUP:
        return cleanup_result(apply_cleanup(api, plan, engine=engine))
    refuse_changed([change for item in plan.items if (change := _changed(api, item))])
    outcomes = []
    for item in plan.items:
        try:
            match item.kind:
                case ObjectKind.CONTAINER if plan.action in STATE_CHANGES:
                    _change_state(api, plan.action, item.id)
                case ObjectKind.CONTAINER:
                    api.remove_container(item.id, force=plan.force, v=plan.volumes)
                case ObjectKind.IMAGE:
                    _remove_planned_image(api, item, plan)
                case ObjectKind.VOLUME:
                    api.remove_volume(item.id, force=plan.force)
                case ObjectKind.SERVICE:
                    raise Conflict("A service is never removed by a plan.")
                case _:
                    assert_never(item.kind)
            outcomes.append(TargetOutcome(target=item.target, ok=True))
        except PlanChanged as err:
            outcomes.append(TargetOutcome(target=item.target, ok=False, detail=str(err)))
        except docker.errors.APIError as err:
            outcomes.append(
                TargetOutcome(target=item.target, ok=False, detail=str(err.explanation))
            )
    return ActionResult(action=plan.action, outcomes=tuple(outcomes))


def _remove_planned_image(api: docker.APIClient, item: PlanItem, plan: Plan) -> None:
    """Remove exactly the planned image, never whatever its name points at by now.

    By ID wherever that means the same as the name: a tag re-pointed after the check then
    cannot take another image with it. Only ``rmi`` of one tag of an image that has several
    must go by name (by ID it would take every tag); that name is checked again just
    before, so what is left is the moment between two engine calls.
    """
    if plan.action != "rmi" or item.target == item.id:
        api.remove_image(item.id, force=plan.force, noprune=plan.no_prune)
        return
    try:
        current = api.inspect_image(item.target)
    except docker.errors.NotFound:
        raise PlanChanged(f"{item.target} no longer exists; nothing was removed") from None
    if current["Id"] != item.id:
        raise PlanChanged(
            f"{item.target} is now {short_id(current['Id'])}, not the planned "
            f"{short_id(item.id)}; nothing was removed"
        )
    if len(current.get("RepoTags") or []) > 1:
        api.remove_image(item.target, force=plan.force, noprune=plan.no_prune)
    else:
        api.remove_image(item.id, force=plan.force, noprune=plan.no_prune)


def _state_item(doc: dict[str, Any], target: str) -> PlanItem:
    """Container ``doc`` as a plan names it (by ID, with its name, image and status)."""
    state = doc.get("State") or {}
    name = str(doc.get("Name", "")).lstrip("/")
    image = (doc.get("Config") or {}).get("Image", "")
    return PlanItem(
        kind=ObjectKind.CONTAINER,
        id=doc["Id"],
        target=target,
        description=f"{name} ({image}, {state.get('Status', '?')})",
    )


def _change_state(api: docker.APIClient, action: str, container_id: str) -> None:
    calls = {
        "start": api.start,
        "stop": api.stop,
        "restart": api.restart,
        "pause": api.pause,
        "unpause": api.unpause,
    }
    calls[action](container_id)


def _container_item(doc: dict[str, Any], target: str, force: bool) -> PlanItem:
    """A removal's item: a running container only with ``force``."""
    if (doc.get("State") or {}).get("Running") and not force:
        raise Conflict(f"Container {target} is running: stop it first, or ask for `rm -f`.")
    return _state_item(doc, target)


def _volume_item(api: docker.APIClient, name: str, protection: Protection) -> PlanItem:
    """Volume ``name`` as it is now; refused if protected or mounted by any container (the
    engine refuses to remove a volume in use, even with ``-f``: better said before asking)."""
    doc, users = checked_volume(api, name, protection)
    if users:
        names = ", ".join(_name(user) for user in users)
        raise Conflict(
            f"Volume {name} is in use by container(s) {names}: remove them first "
            "(the engine refuses to remove a volume in use, even with -f)."
        )
    return PlanItem(
        kind=ObjectKind.VOLUME,
        id=str(doc["Name"]),
        target=name,
        marker=_volume_marker(doc),
        description=f"{doc['Name']} ({doc.get('Driver')} driver, created {doc.get('CreatedAt')}, "
        "used by no container)",
    )


def _image_item(doc: dict[str, Any], target: str) -> PlanItem:
    tags = ", ".join(doc.get("RepoTags") or []) or "<none>"
    size = human_size(int(doc.get("Size") or 0))
    return PlanItem(
        kind=ObjectKind.IMAGE,
        id=doc["Id"],
        target=target,
        description=f"{tags} ({short_id(doc['Id'])}, {size})",
    )


def _unused_images(api: docker.APIClient, operation: PruneImages) -> tuple[PlanItem, ...]:
    filters = filters_as_dict(_without_until(operation.filters))
    if not operation.all:
        filters["dangling"] = ["true"]
    used = {doc.get("ImageID") for doc in api.containers(all=True)}
    return tuple(
        _image_item(doc, doc["Id"])
        for doc in api.images(filters=filters)
        if doc["Id"] not in used and _old_enough(doc.get("Created"), operation.filters)
    )


def _changed(api: docker.APIClient, item: PlanItem) -> str | None:
    match item.kind:
        case ObjectKind.CONTAINER:
            inspect = api.inspect_container
        case ObjectKind.IMAGE:
            inspect = api.inspect_image
        case ObjectKind.VOLUME:
            return _volume_change(api, item)
        case ObjectKind.SERVICE:
            return "a service is never removed by a plan"
        case _:
            assert_never(item.kind)
    try:
        current = str(inspect(item.target)["Id"])
    except docker.errors.NotFound:
        return item_change(item, None)
    return item_change(item, current)


def _volume_change(api: docker.APIClient, item: PlanItem) -> str | None:
    """A volume has no ID: the planned one is the one of that name with the planned marker."""
    try:
        doc = api.inspect_volume(item.id)
    except docker.errors.NotFound:
        return item_change(item, None)
    if _volume_marker(doc) != item.marker:
        return f"{item.target} was made again since the plan (created {doc.get('CreatedAt')})"
    return None


def _volume_marker(doc: dict[str, Any]) -> str:
    """What tells one volume from another made under its name: its creation time (whole
    seconds only, so its driver and labels as well)."""
    labels = ",".join(f"{k}={v}" for k, v in sorted((doc.get("Labels") or {}).items()))
    return f"{doc.get('CreatedAt') or ''} {doc.get('Driver') or ''} {labels}"


def _carries_all(labels: dict[str, str], wanted: list[str]) -> bool:
    """Does ``labels`` match every ``key`` or ``key=value`` of ``wanted``?"""
    for entry in wanted:
        key, has_value, value = entry.partition("=")
        if key not in labels or (has_value and labels[key] != value):
            return False
    return True


def _without_until(filters: FilterPairs) -> FilterPairs:
    return tuple((key, value) for key, value in filters if key != "until")


def _old_enough(created: Any, filters: FilterPairs) -> bool:
    for key, value in filters:
        if key == "until":
            limit = parse_point_in_time(value, option="until")
            if datetime.fromtimestamp(int(created or 0), tz=UTC) > limit:
                return False
    return True


def _name(doc: dict[str, Any]) -> str:
    names = doc.get("Names") or []
    return str(names[0]).lstrip("/") if names else short_id(doc["Id"])
