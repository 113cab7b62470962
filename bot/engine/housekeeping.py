"""Housekeeping on a real engine: plan the cleanup, then remove exactly the plan.

Never a blanket ``prune``, which would also take objects that appeared after the plan: each
planned object is checked again just before it is removed, and one that changed or vanished is
skipped and reported. Which objects may go, and what counts as changed, is
``bot.core.cleanup``'s; this module only asks the engine.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, assert_never

import docker
import docker.errors

from bot.core.cleanup import (
    CLEANUP,
    STOPPED,
    CleanupRules,
    container_change,
    container_item,
    image_change,
    image_item,
)
from bot.core.plans import ObjectKind, Plan, PlanItem
from bot.core.results import CleanupReport
from bot.errors import Conflict

# Removals are mostly waiting on the engine; a few at a time finish sooner than one by one.
_PARALLEL = 4


def plan_cleanup(api: docker.APIClient, rules: CleanupRules, *, now: datetime) -> Plan:
    """Stopped containers past their grace period, then unused images past theirs."""
    # One listing (with writable-layer sizes) finds the stopped containers; their stop times
    # are only in the inspect documents.
    stopped = api.containers(all=True, filters={"status": list(STOPPED)}, size=True)
    sizes = {doc["Id"]: int(doc.get("SizeRw") or 0) for doc in stopped}
    with ThreadPoolExecutor(max_workers=_PARALLEL) as pool:
        docs = list(pool.map(lambda container_id: _inspect(api, container_id), sizes))
    containers = [
        item
        for doc in docs
        if doc is not None and (item := container_item(doc, sizes[doc["Id"]], now=now, rules=rules))
    ]
    used = _used_images(api)
    images = [
        item
        for doc in api.images(filters=None if rules.unused_images_after else {"dangling": True})
        if (item := image_item(doc, used, now=now, rules=rules))
    ]
    # Containers first: removing them can free images.
    return Plan(action=CLEANUP, items=(*containers, *images))


def apply_cleanup(api: docker.APIClient, plan: Plan, *, engine: str) -> CleanupReport:
    """Remove exactly ``plan``: containers first (they may hold images), then images."""
    removed: list[PlanItem] = []
    skipped: list[tuple[PlanItem, str]] = []
    errors: list[str] = []

    def remove(item: PlanItem, changed: str | None) -> None:
        """Remove one planned object unless it changed; file the outcome."""
        if changed:
            skipped.append((item, changed))
            return
        try:
            match item.kind:
                case ObjectKind.CONTAINER:
                    api.remove_container(item.id)
                case ObjectKind.IMAGE:
                    api.remove_image(item.id)
                case ObjectKind.VOLUME:
                    api.remove_volume(item.id)  # housekeeping plans none (yet)
                case ObjectKind.SERVICE:
                    raise Conflict("Housekeeping never removes a service.")
                case _:
                    assert_never(item.kind)
            removed.append(item)
        except docker.errors.NotFound:
            skipped.append((item, "already gone"))
        except docker.errors.APIError as err:
            errors.append(f"{item.kind} {item.target}: {err.explanation}")

    containers = [item for item in plan.items if item.kind is ObjectKind.CONTAINER]
    with ThreadPoolExecutor(max_workers=_PARALLEL) as pool:
        list(pool.map(lambda c: remove(c, container_change(c, _inspect(api, c.id))), containers))
    # Images once the containers are gone: a removed container frees its image.
    used = _used_images(api)
    images = [item for item in plan.items if item.kind is ObjectKind.IMAGE]
    with ThreadPoolExecutor(max_workers=_PARALLEL) as pool:
        list(pool.map(lambda i: remove(i, image_change(i, used)), images))
    return CleanupReport(
        engine=engine,
        dry_run=False,
        removed=tuple(removed),
        skipped=tuple(skipped),
        errors=tuple(errors),
    )


def _used_images(api: docker.APIClient) -> set[str]:
    """The IDs of images any container (running or not) uses."""
    return {str(doc.get("ImageID")) for doc in api.containers(all=True)}


def _inspect(api: docker.APIClient, container_id: str) -> dict[str, Any] | None:
    try:
        return dict(api.inspect_container(container_id))
    except docker.errors.NotFound:
        return None  # removed since it was listed
