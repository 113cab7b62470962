"""What the bot is doing to containers, recorded before it does it: so that the exits, kills
and restarts it causes are not told as crashes, whatever the container's stop signal and exit
code, and what happens during them is told as happening during them ("during a restart by
@dana").

An intent is written (to the database: the event watcher may run in another replica) before
the engine is asked, and closed when the engine answers. It covers the named containers from
its start until ``SKEW`` after its end; one never closed (its process died) expires ``TTL``
after its start. It explains one death of each container (the classifier keeps count): a
container that a restart brought back and that crashes at once has crashed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from bot.core.operations import (
    ChangeContainers,
    ContainerAction,
    Operation,
    RollbackContainer,
    UpgradeContainers,
)
from bot.core.plans import ObjectKind, Plan
from bot.core.upgrades import name_outside_upgrade

# A stop waits its timeout, an upgrade its pull and settle: an intent never closed covers
# this long, then expires.
TTL = timedelta(minutes=10)
# Events are stamped by the engine's clock, intents by the bot's: this much either way.
SKEW = timedelta(seconds=2)
HOUSEKEEPING = "housekeeping"

_STOPPING = {
    ContainerAction.STOP: "stop",
    ContainerAction.RESTART: "restart",
    ContainerAction.REMOVE: "rm",
}
# What a planned (approved) action's plan is called, as an intent.
_PLANNED = {
    "rm": "rm",
    "upgrade": "upgrade",
    "rollback": "rollback",
    "cleanup": HOUSEKEEPING,
    "stop": "stop",
    "restart": "restart",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Cause:
    """What the bot was doing to a container when something happened to it."""

    action: str  # stop, restart, rm, upgrade, rollback, housekeeping
    user: str  # a chat user ID, or "housekeeping"
    intent: int = 0  # the intent's ID: it explains one death of each container it names


@dataclass(frozen=True, kw_only=True, slots=True)
class Intent:
    id: int
    engine: str
    action: str
    targets: tuple[str, ...]  # names, IDs or ID prefixes, as asked or planned
    user: str
    started_at: datetime
    finished_at: datetime | None = None

    @property
    def ends_at(self) -> datetime:
        """The last moment it covers (after it was closed, or when it expires)."""
        if self.finished_at is not None:
            return min(self.finished_at, self.started_at + TTL) + SKEW
        return self.started_at + TTL

    def covers(self, *, container_id: str, name: str, at: datetime) -> bool:
        """Does it cover an event of this container at ``at`` (the engine's clock)?"""
        if not self.started_at - SKEW <= at <= self.ends_at:
            return False
        own = name_outside_upgrade(name.lstrip("/"))
        return any(
            target in (name, own) or (len(target) >= 12 and container_id.startswith(target))
            for target in self.targets
        )

    @property
    def cause(self) -> Cause:
        return Cause(action=self.action, user=self.user, intent=self.id)


class IntentLog(Protocol):
    """Where intents are kept (``bot.state.intents``: the database)."""

    def begin(self, *, engine: str, action: str, targets: tuple[str, ...], user: str) -> int:
        """Record an intent before acting, stamped with the wall clock (never a test's or a
        schedule's: events are compared with it); returns its ID."""
        ...

    def end(self, intent_id: int) -> None:
        """The action is over (done or failed)."""
        ...

    def around(self, engine: str, *, at: datetime) -> list[Intent]:
        """The intents on ``engine`` that may cover an event at ``at``."""
        ...


def intended(operation: Operation) -> tuple[str, tuple[str, ...]] | None:
    """The action and targets of an operation that may stop containers (None: it cannot)."""
    match operation:
        case ChangeContainers() if operation.action in _STOPPING:
            return _STOPPING[operation.action], operation.containers
        case UpgradeContainers():
            return "upgrade", operation.containers
        case RollbackContainer():
            return "rollback", (operation.container,)
        case _:
            return None


def planned(plan: Plan) -> tuple[str, tuple[str, ...]] | None:
    """The action and containers of a plan about to run (None: it stops no container)."""
    action = _PLANNED.get(plan.action)
    targets = tuple(item.id for item in plan.items if item.kind is ObjectKind.CONTAINER)
    if action is None or not targets:
        return None
    return action, targets


def covering(intents: list[Intent], *, container_id: str, name: str, at: datetime) -> Cause | None:
    """The cause of an event of this container at ``at``: the latest intent covering it."""
    found = [i for i in intents if i.covers(container_id=container_id, name=name, at=at)]
    return max(found, key=lambda i: (i.started_at, i.id)).cause if found else None


@contextmanager
def acting(
    log: IntentLog | None,
    *,
    engine: str,
    what: tuple[str, tuple[str, ...]] | None,
    user: str,
) -> Iterator[None]:
    """Record ``what`` (an action and its targets) before the block, close it after."""
    if log is None or what is None:
        yield
        return
    action, targets = what
    intent_id = log.begin(engine=engine, action=action, targets=targets, user=user)
    try:
        yield
    finally:
        log.end(intent_id)


class MemoryIntentLog:
    """``IntentLog`` in memory (unit tests; one process)."""

    def __init__(self, *, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self.intents: dict[int, Intent] = {}

    def begin(self, *, engine: str, action: str, targets: tuple[str, ...], user: str) -> int:
        intent_id = len(self.intents) + 1
        self.intents[intent_id] = Intent(
            id=intent_id,
            engine=engine,
            action=action,
            targets=targets,
            user=user,
            started_at=self._clock(),
        )
        return intent_id

    def end(self, intent_id: int) -> None:
        intent = self.intents.get(intent_id)
        if intent is not None and intent.finished_at is None:
            self.intents[intent_id] = replace(intent, finished_at=self._clock())

    def around(self, engine: str, *, at: datetime) -> list[Intent]:
        return [
            i
            for i in self.intents.values()
            if i.engine == engine and i.started_at - SKEW <= at <= i.ends_at
        ]
