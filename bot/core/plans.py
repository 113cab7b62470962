"""Plans: the exact objects a destructive action will remove, as they were when planned.

Approvals, housekeeping and the engines share these: a plan is made once, shown to people,
stored, and executed object by object, by ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ObjectKind(StrEnum):
    """What an engine object is: every ``match`` over it ends in ``assert_never``, so a new
    kind is named by mypy wherever it must be handled."""

    CONTAINER = "container"
    IMAGE = "image"
    VOLUME = "volume"  # no ID: its name, with its creation time as the marker
    SERVICE = "service"  # a swarm service: updated, scaled or rolled back, never removed

    @property
    def plural(self) -> str:
        return f"{self.value}s"


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanItem:
    """One object the action will destroy, as it was when planned."""

    kind: ObjectKind
    id: str  # the exact object: a later change of what `target` names is refused
    target: str  # how the request named it (name, reference or ID)
    description: str  # status, image, size: what the approver sees
    # State that must not change before execution (a container's FinishedAt, a volume's CreatedAt).
    marker: str = ""
    size: int = 0


# Container state changes an approved plan may make (an admin's inside a [[freeze]] window):
# on exactly the planned containers, by ID, like a removal.
STATE_CHANGES = ("start", "stop", "restart", "pause", "unpause")


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    action: str  # rm, rmi, prune, cleanup
    items: tuple[PlanItem, ...]
    force: bool = False
    volumes: bool = False
    no_prune: bool = False
    # Targets found to need nothing (an upgrade's containers already up to date): told, never
    # stored with the plan nor approved.
    unchanged: tuple[str, ...] = ()
