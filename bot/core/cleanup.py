"""Housekeeping rules: which dead containers and dangling images may go. Pure functions.

A container's grace period runs from when it *stopped* (``State.FinishedAt``), or from its
creation if it never started; Docker's own ``prune --filter until=`` counts from creation, so a
container created long ago that died a minute ago would go, and must not here.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core.parsing.units import parse_duration

STOPPED = ("exited", "dead", "created")
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
        cls, *, container_grace: str, image_grace: str, keep_label: str, exclude: list[str],
        unused_images_after: str | None = None,
    ) -> CleanupRules:  # fmt: skip
        return cls(
            container_grace=parse_duration(container_grace, option="container_grace"),
            image_grace=parse_duration(image_grace, option="image_grace"),
            keep_label=keep_label,
            exclude=tuple(exclude),
            unused_images_after=parse_duration(unused_images_after, option="unused_images_after")
            if unused_images_after else None,
        )  # fmt: skip


@dataclass(frozen=True, kw_only=True, slots=True)
class Candidate:
    """An object the cleanup would remove, with what identifies it exactly."""

    kind: str  # "container" or "image"
    id: str
    name: str
    since: datetime  # stopped (or created) at, for containers; created, for images
    size: int
    state: str = ""  # the container's status when planned
    finished_at: str = ""  # State.FinishedAt as the engine wrote it (changes on a restart)


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
    """Why an object must stay (keep label, exclude pattern), or None."""
    if str((labels or {}).get(rules.keep_label, "")).lower() in _TRUE:
        return f"labelled {rules.keep_label}"
    for pattern in rules.exclude:
        for name in names:
            if fnmatch.fnmatchcase(name, pattern):
                return f"matches exclude pattern {pattern!r}"
    return None


def container_candidate(
    doc: dict[str, Any], size: int, *, now: datetime, rules: CleanupRules
) -> Candidate | None:
    """``doc`` (an inspect document) as a candidate, or None when it must stay."""
    state = doc.get("State") or {}
    if state.get("Status") not in STOPPED:
        return None
    since = stopped_at(doc)
    if now - since < rules.container_grace:
        return None
    config = doc.get("Config") or {}
    name = str(doc.get("Name", "")).lstrip("/")
    if keeps(config.get("Labels"), [name, str(config.get("Image", ""))], rules):
        return None
    return Candidate(
        kind="container", id=str(doc["Id"]), name=name, since=since, size=size,
        state=str(state.get("Status")), finished_at=str(state.get("FinishedAt") or ""),
    )  # fmt: skip


def image_candidate(
    doc: dict[str, Any], used: set[str], *, now: datetime, rules: CleanupRules
) -> Candidate | None:
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
    return Candidate(kind="image", id=str(doc["Id"]), name=tags[0] if tags else doc["Id"][7:19],
                     since=created, size=int(doc.get("Size") or 0))  # fmt: skip
