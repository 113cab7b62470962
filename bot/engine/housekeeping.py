"""Housekeeping on a real engine: plan the cleanup, then remove exactly the plan.

Never a blanket ``prune``, which would also take objects that appeared after the plan: each
planned object is checked again just before it is removed, and one that changed or vanished is
skipped and reported.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import docker
import docker.errors

from bot.core.cleanup import STOPPED, Candidate, CleanupRules, container_candidate, image_candidate
from bot.core.results import CleanupReport

# Removals are mostly waiting on the engine; a few at a time finish sooner than one by one.
_PARALLEL = 4


def plan_cleanup(api: docker.APIClient, rules: CleanupRules) -> list[Candidate]:
    """Stopped containers past their grace period, then dangling unused images past theirs."""
    now = datetime.now(UTC)
    # One listing (with writable-layer sizes) finds the stopped containers; their stop times
    # are only in the inspect documents.
    stopped = api.containers(all=True, filters={"status": list(STOPPED)}, size=True)
    sizes = {doc["Id"]: int(doc.get("SizeRw") or 0) for doc in stopped}
    with ThreadPoolExecutor(max_workers=_PARALLEL) as pool:
        docs = list(pool.map(_inspect_or_none(api), sizes))
    containers = [
        candidate
        for doc in docs
        if doc is not None
        and (candidate := container_candidate(doc, sizes[doc["Id"]], now=now, rules=rules))
    ]
    used = {doc.get("ImageID") for doc in api.containers(all=True)}
    images = [
        candidate
        for doc in api.images(filters=None if rules.unused_images_after else {"dangling": True})
        if (candidate := image_candidate(doc, used, now=now, rules=rules))
    ]
    return [*containers, *images]


def apply_cleanup(api: docker.APIClient, plan: list[Candidate], *, engine: str) -> CleanupReport:
    """Remove exactly ``plan``: containers first (they may hold images), then images."""
    removed: list[Candidate] = []
    skipped: list[tuple[Candidate, str]] = []
    errors: list[str] = []

    def remove(candidate: Candidate, changed: str | None) -> None:
        """Remove one planned object unless it changed; file the outcome."""
        if changed:
            skipped.append((candidate, changed))
            return
        try:
            if candidate.kind == "container":
                api.remove_container(candidate.id)
            else:
                api.remove_image(candidate.id)
            removed.append(candidate)
        except docker.errors.NotFound:
            skipped.append((candidate, "already gone"))
        except docker.errors.APIError as err:
            errors.append(f"{candidate.kind} {candidate.name}: {err.explanation}")

    containers = [c for c in plan if c.kind == "container"]
    with ThreadPoolExecutor(max_workers=_PARALLEL) as pool:
        list(pool.map(lambda c: remove(c, _container_changed(api, c)), containers))
    # Images once the containers are gone: a removed container frees its image.
    used = {doc.get("ImageID") for doc in api.containers(all=True)}
    images = [c for c in plan if c.kind == "image"]
    with ThreadPoolExecutor(max_workers=_PARALLEL) as pool:
        list(pool.map(lambda c: remove(c, "now used by a container" if c.id in used else None),
                      images))  # fmt: skip
    return CleanupReport(engine=engine, dry_run=False, removed=tuple(removed),
                         skipped=tuple(skipped), errors=tuple(errors))  # fmt: skip


def _container_changed(api: docker.APIClient, candidate: Candidate) -> str | None:
    try:
        doc = api.inspect_container(candidate.id)
    except docker.errors.NotFound:
        return "already gone"
    state = doc.get("State") or {}
    if state.get("Status") not in STOPPED:
        return f"now {state.get('Status')}"
    if str(state.get("FinishedAt") or "") != candidate.finished_at:
        return "ran again since the plan"
    return None


def _inspect_or_none(api: docker.APIClient):  # type: ignore[no-untyped-def]
    def inspect(container_id: str) -> dict[str, object] | None:
        try:
            return dict(api.inspect_container(container_id))
        except docker.errors.NotFound:
            return None  # removed between the listing and now

    return inspect
