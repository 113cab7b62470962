"""Housekeeping rules and the plan they make: which dead containers and unused images may go.

A container's grace period runs from when it *stopped* (``State.FinishedAt``), or from its
creation if it never started; Docker's own ``prune --filter until=`` counts from creation, so a
container created long ago that died a minute ago would go, and must not here.

The plan is the approvals' ``Plan`` (action ``cleanup``) from the moment it is made: previewed,
stored for a veto window, applied and reported as the same items. Pure functions over engine
documents (dicts in the Engine API's shape); ``run_cleanup`` drives any ``Engine``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.core.humanize import human_size
from bot.core.parsing.units import parse_duration
from bot.core.plans import ObjectKind, PlanItem
from bot.core.protection import PROTECTED_LABEL, is_protected
from bot.core.results import ActionResult, CleanupReport, TargetOutcome

if TYPE_CHECKING:
    from bot.core.engine import Engine

# The states in which a container is stopped: what housekeeping and prunes may remove.
STOPPED: tuple[str, ...] = ("exited", "dead", "created")
CLEANUP = "cleanup"  # the action of a housekeeping plan
_TRUE = ("true", "1", "yes", "on")


@dataclass(frozen=True, kw_only=True, slots=True)
class CleanupRules:
    container_grace: timedelta
    image_grace: timedelta
    keep_label: str = "chatops.keep"
    exclude: tuple[str, ...] = ()  # glob patterns on container names and image references
    # Tagged images no container uses, this old (by creation): off unless set.
    unused_images_after: timedelta | None = None

    @classmethod
    def from_text(
        cls,
        *,
        container_grace: str,
        image_grace: str,
        keep_label: str,
        exclude: list[str],
        unused_images_after: str | None = None,
    ) -> CleanupRules:
        return cls(
            container_grace=parse_duration(container_grace, option="container_grace"),
            image_grace=parse_duration(image_grace, option="image_grace"),
            keep_label=keep_label,
            exclude=tuple(exclude),
            unused_images_after=parse_duration(unused_images_after, option="unused_images_after")
            if unused_images_after
            else None,
        )


def stopped_at(doc: dict[str, Any]) -> datetime:
    """When a container stopped; its creation time if it never ran."""
    state = doc.get("State") or {}
    finished = parse_engine_time(str(state.get("FinishedAt") or ""))
    if finished is not None and finished.year > 1:
        return finished
    created = parse_engine_time(str(doc.get("Created") or ""))
    assert created is not None, "the engine always reports Created"
    return created


def parse_engine_time(text: str) -> datetime | None:
    """RFC 3339 with nanoseconds (``2026-11-29T04:39:47.687304133Z``) -> aware datetime."""
    if not text:
        return None
    main, _, rest = text.partition(".")
    if rest:
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        text = f"{main}.{digits[:6]}{zone}"
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def keeps(labels: dict[str, str] | None, names: list[str], rules: CleanupRules) -> str | None:
    """Why an object must stay (protected, keep label, exclude pattern), or None."""
    if is_protected(labels):
        return f"labelled {PROTECTED_LABEL}"
    if str((labels or {}).get(rules.keep_label, "")).lower() in _TRUE:
        return f"labelled {rules.keep_label}"
    for pattern in rules.exclude:
        for name in names:
            if fnmatch.fnmatchcase(name, pattern):
                return f"matches exclude pattern {pattern!r}"
    return None


def container_item(
    doc: dict[str, Any], size: int, *, now: datetime, rules: CleanupRules
) -> PlanItem | None:
    """``doc`` (an inspect document) as a plan item, or None when it must stay."""
    state = doc.get("State") or {}
    status = str(state.get("Status"))
    if status not in STOPPED or now - stopped_at(doc) < rules.container_grace:
        return None
    config = doc.get("Config") or {}
    name = str(doc.get("Name", "")).lstrip("/")
    if keeps(config.get("Labels"), [name, str(config.get("Image", ""))], rules):
        return None
    # The marker is FinishedAt as the engine wrote it: a restart since the plan changes it.
    return PlanItem(
        kind=ObjectKind.CONTAINER,
        id=str(doc["Id"]),
        target=name,
        size=size,
        marker=str(state.get("FinishedAt") or ""),
        description=_describe(name, status, size),
    )


def image_item(
    doc: dict[str, Any], used: set[str], *, now: datetime, rules: CleanupRules
) -> PlanItem | None:
    """An unused image old enough to go (``doc`` from the image list), or None: dangling ones
    after ``image_grace``; tagged ones only with ``unused_images_after`` set."""
    tags = [tag for tag in doc.get("RepoTags") or () if tag != "<none>:<none>"]
    if doc["Id"] in used:
        return None
    grace = rules.unused_images_after if tags else rules.image_grace
    if grace is None:
        return None
    created = datetime.fromtimestamp(int(doc.get("Created") or 0), tz=now.tzinfo)
    if now - created < grace:
        return None
    repos = [digest.partition("@")[0] for digest in doc.get("RepoDigests") or ()]
    if keeps(doc.get("Labels"), [*tags, *(r for r in repos if r != "<none>")], rules):
        return None
    name = tags[0] if tags else str(doc["Id"])[7:19]
    size = int(doc.get("Size") or 0)
    return PlanItem(
        kind=ObjectKind.IMAGE,
        id=str(doc["Id"]),
        target=name,
        size=size,
        description=_describe(name, "dangling", size),
    )


def container_change(item: PlanItem, doc: dict[str, Any] | None) -> str | None:
    """Why a planned container may no longer go (``doc``: its inspect document now, None if
    it is gone), or None if it is as planned."""
    if doc is None:
        return "already gone"
    state = doc.get("State") or {}
    if state.get("Status") not in STOPPED:
        return f"now {state.get('Status')}"
    if str(state.get("FinishedAt") or "") != item.marker:
        return "ran again since the plan"
    return None


def image_change(item: PlanItem, used: set[str]) -> str | None:
    """Why a planned image may no longer go (``used``: image IDs containers use now)."""
    return "now used by a container" if item.id in used else None


def run_cleanup(engine: Engine, *, dry_run: bool) -> CleanupReport:
    """Plan the cleanup and, unless ``dry_run``, remove exactly what was planned."""
    plan = engine.plan_cleanup()
    if dry_run:
        return CleanupReport(engine=engine.name, dry_run=True, removed=plan.items)
    return engine.apply_cleanup(plan)


def cleanup_result(report: CleanupReport) -> ActionResult:
    """An applied cleanup plan as the outcome of an approved request: what changed since the
    plan was skipped, which is not a failure."""
    outcomes = [TargetOutcome(target=item.target, ok=True) for item in report.removed]
    outcomes += [
        TargetOutcome(target=item.target, ok=True, detail=f"skipped: {why}")
        for item, why in report.skipped
    ]
    outcomes += [TargetOutcome(target=CLEANUP, ok=False, detail=e) for e in report.errors]
    return ActionResult(action=CLEANUP, outcomes=tuple(outcomes))


def _describe(name: str, state: str, size: int) -> str:
    return f"{name} ({state}, {human_size(size)})"
