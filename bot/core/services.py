"""Swarm services as the bot shows them: neutral rows and outcomes, nothing of Docker's SDK."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, kw_only=True, slots=True)
class ServiceRow:
    """One service, as ``docker service ls`` lists it."""

    id: str
    name: str
    mode: str  # replicated, global
    running: int
    desired: int
    image: str
    ports: str = ""
    update_state: str | None = None  # the last update's state, if any


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskRow:
    """One task of a service, as ``docker service ps`` lists it."""

    id: str
    name: str  # service.slot (replicated) or service.node (global)
    image: str
    node: str
    desired_state: str
    current_state: str
    error: str = ""


class UpdateEnd(StrEnum):
    """How a service update (or rollback) the bot followed ended."""

    COMPLETED = "completed"  # every task runs the new spec
    ROLLED_BACK = "rolled back"  # the engine went back to the previous spec
    PAUSED = "paused"  # the engine stopped the update: someone must decide
    TIMED_OUT = "timed out"  # still going when the bot stopped following it


@dataclass(frozen=True, kw_only=True, slots=True)
class ServiceChange:
    """What became of an update, a scale or a rollback of one service."""

    service: str
    action: str  # update, scale, rollback
    end: UpdateEnd
    message: str = ""  # the engine's own words on the update, if any
    task_errors: tuple[str, ...] = ()  # the failed tasks' errors, newest first
    image: str = ""  # the image the service runs now
    replicas: int | None = None
