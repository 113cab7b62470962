"""An in-memory engine: containers and images as data, time from an injected clock, no dockerd.

It implements the whole ``Engine`` port: the common operations, exact plans, plan-exact removal
(a changed plan is refused, as on a real engine) and housekeeping, under the same rules as the
real engine (``bot.core.cleanup``, ``bot.engine.exact``), so that tests about approvals,
housekeeping or the pipeline run in milliseconds, and time passes when the test says so.
Engine behaviour itself is never tested with it: that is the real engine's, tested on one.
Documents are built in the Engine API's shape, so the same mapping and rules read them.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, assert_never

from bot.core import operations, results
from bot.core.cleanup import (
    CLEANUP,
    STOPPED,
    CleanupRules,
    cleanup_result,
    container_change,
    container_item,
    image_change,
    image_item,
    run_cleanup,
)
from bot.core.command import ParsedCommand
from bot.core.engine import ProgressCallback
from bot.core.grants import ContainerFacts
from bot.core.humanize import human_size, short_id
from bot.core.plans import STATE_CHANGES, ObjectKind, Plan, PlanItem
from bot.core.protection import is_protected, refusal
from bot.core.references import parse_image_reference
from bot.engine import mapping
from bot.engine.exact import item_change, refuse_changed
from bot.errors import Conflict, EngineError, NotFound, ParseError, Protected, UnknownEngine

Handler = Callable[[operations.EngineOperation], results.Result]
_NEVER = "0001-01-01T00:00:00Z"  # what the engine reports for a time that never came


class FakeClock:
    """A clock that moves only when told to: grace periods and windows pass without waiting."""

    def __init__(self, *, now: datetime) -> None:
        self._now = now

    def __call__(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now


@dataclass(kw_only=True, slots=True)
class FakeContainer:
    id: str
    name: str
    image: str  # the reference it was created from
    image_id: str
    created: datetime
    state: str = "created"  # created, running, paused, exited, dead
    finished_at: datetime | None = None  # when it last stopped
    exit_code: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    size: int = 0  # the writable layer
    volumes: tuple[str, ...] = ()  # the named volumes it mounts


@dataclass(kw_only=True, slots=True)
class FakeImage:
    id: str
    tags: list[str]  # familiar references (``nginx:latest``)
    created: datetime
    size: int = 0
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def dangling(self) -> bool:
        return not self.tags


class FakeEngine:
    """An engine held in memory. With ``handler``, ``execute`` answers ``handler(operation)``
    instead (tests of error handling); everything it was asked is in ``operations``."""

    def __init__(
        self,
        *,
        name: str = "fake",
        location: str = "fake://",
        handler: Handler | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cleanup_rules: CleanupRules | None = None,
    ) -> None:
        self._name = name
        self._location = location
        self._handler = handler
        self._clock = clock
        self._rules = cleanup_rules or CleanupRules(
            container_grace=timedelta(hours=24), image_grace=timedelta(hours=24)
        )
        self.containers: dict[str, FakeContainer] = {}  # by ID
        self.images: dict[str, FakeImage] = {}  # by ID
        self.operations: list[operations.EngineOperation] = []
        self.volumes: dict[str, str] = {}  # name -> driver
        self.volume_labels: dict[str, dict[str, str]] = {}  # name -> labels, where it has any
        self.networks: list[results.NetworkRow] = [
            results.NetworkRow(
                id=hashlib.sha256(n.encode()).hexdigest(), name=n, driver=d, scope="local"
            )
            for n, d in (("bridge", "bridge"), ("host", "host"), ("none", "null"))
        ]
        self.events: list[
            results.EngineEvent
        ] = []  # container create/start/die/destroy, oldest first
        self._serial = itertools.count(1)

    @property
    def name(self) -> str:
        return self._name

    @property
    def location(self) -> str:
        return self._location

    def ping(self) -> None:
        return None

    def version(self) -> str:
        return "fake (linux/amd64)"

    def container_facts(self, names: tuple[str, ...]) -> tuple[ContainerFacts, ...]:
        found = []
        for name in names:
            try:
                container = self.container(name)
            except NotFound:
                found.append(ContainerFacts(asked=name, name=None))
                continue
            found.append(
                ContainerFacts(
                    asked=name,
                    name=container.name,
                    container_id=container.id,
                    labels=dict(container.labels),
                    image=container.image,
                )
            )
        return tuple(found)

    # -- arranging ----------------------------------------------------------------------------

    def add_image(
        self, *tags: str, size: int = 1000, labels: dict[str, str] | None = None
    ) -> FakeImage:
        """A new image, created now; a tag it takes leaves the image that had it dangling."""
        image = FakeImage(
            id=f"sha256:{self._new_id()}",
            tags=[],
            created=self._clock(),
            size=size,
            labels=dict(labels or {}),
        )
        for tag in tags:
            self._tag(image, _familiar(tag))
        self.images[image.id] = image
        return image

    def add_container(
        self, name: str, image: str, *, labels: dict[str, str] | None = None, size: int = 0
    ) -> FakeContainer:
        """A container created now from ``image`` (a reference or ID), never started."""
        found = self._image(image)
        if any(container.name == name for container in self.containers.values()):
            raise Conflict(f'The container name "/{name}" is already in use.')
        container = FakeContainer(
            id=self._new_id(),
            name=name,
            image=image,
            image_id=found.id,
            created=self._clock(),
            labels=dict(labels or {}),
            size=size,
        )
        self.containers[container.id] = container
        self._event(container, "create")
        return container

    def add_volume(
        self, name: str, *, driver: str = "local", labels: dict[str, str] | None = None
    ) -> None:
        self.volumes[name] = driver
        self.volume_labels[name] = dict(labels or {})

    def container(self, target: str) -> FakeContainer:
        """The container called ``target`` (name, ID or unique ID prefix)."""
        for container in self.containers.values():
            if target in (container.name, container.id):
                return container
        matches = [c for c in self.containers.values() if target and c.id.startswith(target)]
        if len(matches) != 1:
            raise NotFound(f"No such container: {target}")
        return matches[0]

    def used_by(self, image_id: str) -> list[FakeContainer]:
        """The containers (running or not) that use the image."""
        return [c for c in self.containers.values() if c.image_id == image_id]

    # -- the operations -----------------------------------------------------------------------

    def execute(
        self, operation: operations.EngineOperation, *, progress: ProgressCallback | None = None
    ) -> results.Result:
        self.operations.append(operation)
        if self._handler is not None:
            return self._handler(operation)
        match operation:
            case operations.Planned():
                return self.execute_plan(self.plan(ParsedCommand(operation=operation)))
            case operations.ListContainers():
                return self._ps(operation)
            case operations.ListImages():
                return self._images(operation)
            case operations.Pull():
                return self._pull(operation)
            case operations.RunContainer():
                return self._run(operation)
            case operations.ChangeContainers():
                return self._each(
                    operation.action.value,
                    operation.containers,
                    lambda target: self._change(operation, target),
                )
            case operations.RemoveImages():
                return self._each(
                    "rmi", operation.images, lambda target: self._rmi(target, force=operation.force)
                )
            case operations.ShowLogs():
                return results.LogsResult(
                    container=self.container(operation.container).name, text=""
                )
            case operations.Inspect():
                return self._inspect(operation)
            case operations.ShowStats():
                return self._stats(operation)
            case operations.ShowTop():
                return self._top(operation)
            case operations.ShowPorts():
                # Fake containers publish nothing.
                if operation.private_port is not None:
                    raise NotFound(
                        f"No public port '{operation.private_port}/{operation.protocol.value}' "
                        f"published for {operation.container}"
                    )
                return results.PortList(
                    container=self.container(operation.container).name, ports=()
                )
            case operations.DiskUsage():
                return self._disk_usage()
            case operations.ListVolumes():
                rows = sorted(
                    (
                        results.VolumeRow(driver=driver, name=name)
                        for name, driver in self.volumes.items()
                        if _matches(operation.filters, {}, None, name)
                    ),
                    key=lambda row: row.name,
                )
                return results.VolumeList(rows=tuple(rows), quiet=operation.quiet)
            case operations.ListNetworks():
                networks = [
                    n for n in self.networks if _matches(operation.filters, {}, None, n.name)
                ]
                return results.NetworkList(
                    rows=tuple(sorted(networks, key=lambda n: n.name)),
                    quiet=operation.quiet,
                    no_trunc=operation.no_trunc,
                )
            case operations.ShowEvents():
                return self._events(operation)
            case operations.PruneContainers():
                return self._prune_containers(operation)
            case operations.PruneImages():
                return self._prune_images(operation)
            case operations.Cleanup():
                return run_cleanup(self, dry_run=operation.dry_run)
            case operations.ListUpdates():
                running = [c for c in self.containers.values() if c.state == "running"]
                return results.UpdateList(rows=(), checked=len(running))
            case (
                operations.ListServices()
                | operations.ShowServiceTasks()
                | operations.ShowServiceLogs()
            ):
                raise Conflict("This engine is not a swarm manager: it has no services.")
            case _:
                assert_never(operation)

    def _ps(self, op: operations.ListContainers) -> results.ContainerList:
        containers = sorted(self.containers.values(), key=lambda c: c.created, reverse=True)
        if not (op.all or op.last is not None or op.latest):
            containers = [c for c in containers if c.state in ("running", "paused")]
        containers = [c for c in containers if _matches(op.filters, c.labels, c.state, c.name)]
        if op.latest or op.last is not None:
            containers = containers[: 1 if op.latest else op.last]
        rows = tuple(mapping.container_row(self._list_doc(c)) for c in containers)
        return results.ContainerList(rows=rows, quiet=op.quiet, no_trunc=op.no_trunc)

    def _images(self, op: operations.ListImages) -> results.ImageList:
        docs = [
            self._image_doc(image)
            for image in self.images.values()
            if _matches(op.filters, image.labels, None, None, dangling=image.dangling)
        ]
        rows = sorted(
            (row for doc in docs for row in mapping.image_rows(doc)),
            key=lambda row: row.created,
            reverse=True,
        )
        return results.ImageList(
            rows=tuple(rows), quiet=op.quiet, digests=op.digests, no_trunc=op.no_trunc
        )

    def _stats(self, op: operations.ShowStats) -> results.StatsResult:
        if op.containers:
            chosen = [self.container(target) for target in op.containers]
        else:
            chosen = sorted(self.containers.values(), key=lambda c: c.created, reverse=True)
            chosen = [c for c in chosen if op.all or c.state == "running"]
        rows = []
        for c in chosen:
            running = c.state == "running"
            # Plausible, steady figures: 10 MiB of a 2 GiB limit and one process when running.
            memory, limit = (10 * 2**20, 2 * 2**30) if running else (0, 0)
            rows.append(
                results.StatsRow(
                    id=c.id,
                    name=c.name,
                    cpu_percent=0.5 if running else 0.0,
                    memory_usage=memory,
                    memory_limit=limit,
                    memory_percent=memory / limit * 100 if limit else 0.0,
                    net_rx=1500 if running else 0,
                    net_tx=0,
                    block_read=0,
                    block_write=0,
                    pids=1 if running else 0,
                )
            )
        return results.StatsResult(rows=tuple(rows), no_trunc=op.no_trunc)

    def _top(self, op: operations.ShowTop) -> results.TopResult:
        container = self.container(op.container)
        if container.state != "running":
            raise Conflict(f"Container {container.id} is not running")
        return results.TopResult(
            container=op.container,
            titles=("UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"),
            processes=(("root", "4242", "4221", "0", "20:00", "?", "00:00:00", "sleep 300"),),
        )

    def _disk_usage(self) -> results.DiskUsageResult:
        used = {c.image_id for c in self.containers.values()}
        images = list(self.images.values())
        image_size = sum(i.size for i in images)
        idle = sum(i.size for i in images if i.id not in used)
        containers = list(self.containers.values())
        container_size = sum(c.size for c in containers)
        stopped = sum(c.size for c in containers if c.state != "running")

        def row(kind: str, total: int, active: int, size: int, free: int) -> results.DiskUsageRow:
            percent = free * 100 // size if size > 0 else None
            return results.DiskUsageRow(
                type=kind,
                total=total,
                active=active,
                size=size,
                reclaimable=free,
                reclaimable_percent=percent,
            )

        return results.DiskUsageResult(
            rows=(
                row("Images", len(images), sum(i.id in used for i in images), image_size, idle),
                row(
                    "Containers",
                    len(containers),
                    sum(c.state == "running" for c in containers),
                    container_size,
                    stopped,
                ),
                row("Local Volumes", len(self.volumes), 0, 0, 0),
                results.DiskUsageRow(
                    type="Build Cache",
                    total=0,
                    active=0,
                    size=0,
                    reclaimable=0,
                    reclaimable_percent=None,
                ),
            )
        )

    def _events(self, op: operations.ShowEvents) -> results.EventList:
        now = self._clock()
        since, until = now - op.since, now - op.until
        low, high = int(since.timestamp() * 1e9), int(until.timestamp() * 1e9)
        chosen = [e for e in self.events if low <= e.time_ns <= high and _event_matches(op, e)]
        return results.EventList(events=tuple(chosen), since=since, until=until)

    def _pull(self, op: operations.Pull) -> results.PullResult:
        reference = op.image.familiar()
        known = next((i for i in self.images.values() if reference in i.tags), None)
        image = known or self.add_image(reference)
        return results.PullResult(
            reference=reference,
            image_id=image.id,
            digest=None,
            size=image.size,
            up_to_date=known is not None,
            tags=tuple(image.tags),
            quiet=op.quiet,
        )

    def _run(self, op: operations.RunContainer) -> results.RunResult:
        reference = op.image.familiar()
        if not any(reference in image.tags for image in self.images.values()):
            self._pull(operations.Pull(image=op.image, quiet=True))  # like the Docker CLI
        name = op.name or f"fake_{next(self._serial)}"
        container = self.add_container(name, reference, labels=dict(op.labels))
        self._start(container)
        if op.detach:
            return results.RunResult(container_id=container.id, name=name, detached=True)
        # Without -d the container "runs to completion" at once: exit code 0, no output.
        self._stop(container)
        if op.auto_remove:
            del self.containers[container.id]
        return results.RunResult(
            container_id=container.id,
            name=name,
            detached=False,
            exit_code=0,
            removed=op.auto_remove,
        )

    def _change(self, op: operations.ChangeContainers, target: str) -> None:
        container = self.container(target)
        match op.action:
            case operations.ContainerAction.REMOVE:
                self._remove_container(container, force=op.force)
            case operations.ContainerAction.START:
                self._start(container)
            case operations.ContainerAction.STOP:
                self._stop(container)
            case operations.ContainerAction.RESTART:
                self._stop(container)
                self._start(container)
            case operations.ContainerAction.PAUSE:
                self._expect(container, "running")
                container.state = "paused"
            case operations.ContainerAction.UNPAUSE:
                self._expect(container, "paused")
                container.state = "running"

    def _remove_container(self, container: FakeContainer, *, force: bool) -> None:
        if container.state in ("running", "paused") and not force:
            raise Conflict(
                f"You cannot remove a running container {container.id}. Stop the container "
                "before attempting removal or force remove"
            )
        del self.containers[container.id]
        self._event(container, "destroy")

    def _start(self, container: FakeContainer) -> None:
        container.state = "running"
        self._event(container, "start")

    def _stop(self, container: FakeContainer) -> None:
        """Stop a running container now (a stopped one stays as it is, as on the engine)."""
        if container.state in ("running", "paused"):
            container.state = "exited"
            container.finished_at = self._clock()
            self._event(container, "die", exitCode=str(container.exit_code))

    def _event(self, container: FakeContainer, action: str, **extra: str) -> None:
        attributes = {**container.labels, "image": container.image, "name": container.name}
        self.events.append(
            results.EngineEvent(
                time_ns=int(self._clock().timestamp() * 1e6) * 1000,
                type="container",
                action=action,
                actor_id=container.id,
                attributes=tuple(sorted({**attributes, **extra}.items())),
            )
        )

    @staticmethod
    def _expect(container: FakeContainer, state: str) -> None:
        if container.state != state:
            raise Conflict(f"Container {container.id} is not {state}")

    def _rmi(self, target: str, *, force: bool) -> list[dict[str, str]]:
        """Remove (or untag) an image as the engine would; its answer's lines."""
        image = self._image(target)
        by_tag = _familiar_or_none(target) in image.tags
        if by_tag and len(image.tags) > 1:
            image.tags.remove(_familiar(target))
            return [{"Untagged": _familiar(target)}]
        users = self.used_by(image.id)
        if users and not force:
            raise Conflict(
                f"conflict: unable to remove repository reference {target!r} (must force) - "
                f"container {short_id(users[0].id)} is using its referenced image "
                f"{short_id(image.id)}"
            )
        return self._delete_image(image)

    def _delete_image(self, image: FakeImage) -> list[dict[str, str]]:
        del self.images[image.id]
        return [*({"Untagged": tag} for tag in image.tags), {"Deleted": image.id}]

    def _inspect(self, op: operations.Inspect) -> results.InspectResult:
        items: list[results.InspectItem] = []
        missing: list[str] = []
        for target in op.targets:
            item = self._inspect_one(target, op.type)
            if item is None:
                missing.append(target)
            else:
                items.append(item)
        if not items:
            raise NotFound(f"No such object: {', '.join(missing)}")
        return results.InspectResult(items=tuple(items), missing=tuple(missing))

    def _inspect_one(self, target: str, kind: operations.InspectType) -> results.InspectItem | None:
        if kind in (operations.InspectType.ANY, operations.InspectType.CONTAINER):
            try:
                return mapping.container_item(self._inspect_doc(self.container(target)))
            except NotFound:
                pass
        if kind in (operations.InspectType.ANY, operations.InspectType.IMAGE):
            try:
                return mapping.image_item(self._image_doc(self._image(target)))
            except NotFound:
                pass
        return None

    def _prune_containers(self, op: operations.PruneContainers) -> results.PruneResult:
        gone = [c for c in self._stopped() if _matches(op.filters, c.labels, None, None)]
        for container in gone:
            del self.containers[container.id]
        return results.PruneResult(
            kind=ObjectKind.CONTAINER,
            deleted=tuple(c.id for c in gone),
            space_reclaimed=sum(c.size for c in gone),
        )

    def _prune_images(self, op: operations.PruneImages) -> results.PruneResult:
        gone = self._unused_images(op)
        for image in gone:
            self._delete_image(image)
        return results.PruneResult(
            kind=ObjectKind.IMAGE,
            deleted=tuple(i.id for i in gone),
            space_reclaimed=sum(i.size for i in gone),
        )

    def _each(
        self, action: str, targets: tuple[str, ...], call: Callable[[str], Any]
    ) -> results.ActionResult:
        """Per-target outcomes, carrying on past failures; a single target's failure raises."""
        outcomes: list[results.TargetOutcome] = []
        details: list[str] = []
        for target in targets:
            try:
                answer = call(target)
            except EngineError as err:
                if len(targets) == 1:
                    raise
                outcomes.append(results.TargetOutcome(target=target, ok=False, detail=str(err)))
                continue
            for entry in answer or ():
                details.extend(f"{key}: {value}" for key, value in entry.items())
            outcomes.append(results.TargetOutcome(target=target, ok=True))
        return results.ActionResult(action=action, outcomes=tuple(outcomes), details=tuple(details))

    # -- plans --------------------------------------------------------------------------------

    def plan(self, command: ParsedCommand, *, progress: ProgressCallback | None = None) -> Plan:
        operation = command.operation
        match operation:
            case operations.Cleanup():
                return self.plan_cleanup()
            case operations.ChangeContainers(action=operations.ContainerAction.REMOVE):
                items = tuple(
                    self._container_plan_item(target, force=operation.force)
                    for target in operation.containers
                )
                return Plan(
                    action="rm", items=items, force=operation.force, volumes=operation.volumes
                )
            case operations.ChangeContainers():
                if operation.timeout is not None:
                    raise Conflict(
                        f"`{operation.action.value} -t` cannot wait for an approval (an "
                        "approved plan keeps no timeout): ask without `-t`."
                    )
                items = tuple(
                    self._container_plan_item(target, force=True) for target in operation.containers
                )
                return Plan(action=operation.action.value, items=items)
            case operations.RemoveImages():
                items = tuple(
                    self._image_plan_item(self._image(target), target)
                    for target in operation.images
                )
                return Plan(
                    action="rmi", items=items, force=operation.force, no_prune=operation.no_prune
                )
            case operations.PruneContainers():
                items = tuple(
                    PlanItem(
                        kind=ObjectKind.CONTAINER,
                        id=c.id,
                        target=c.id,
                        description=f"{c.name} ({c.image}, {_status(c)})",
                    )
                    for c in self._stopped()
                    if _matches(operation.filters, c.labels, None, None)
                )
                return Plan(action="prune", items=items)
            case operations.PruneImages():
                items = tuple(
                    self._image_plan_item(i, i.id) for i in self._unused_images(operation)
                )
                return Plan(action="prune", items=items)
            case operations.Planned():
                match operation:
                    case operations.RemoveVolumes():
                        items = tuple(self._volume_plan_item(n) for n in operation.volumes)
                        return Plan(
                            action=operation.access.action, items=items, force=operation.force
                        )
                    case operations.UpgradeContainers():
                        # The fake has no registry: no image it holds ever moves.
                        names = tuple(self.container(t).name for t in operation.containers)
                        return Plan(action="upgrade", items=(), unchanged=names)
                    case operations.RollbackContainer():
                        container = self.container(operation.container)
                        raise Conflict(f"{container.name} has no upgrade to roll back.")
                    case (
                        operations.UpdateServiceImage()
                        | operations.ScaleService()
                        | operations.RollbackService()
                    ):
                        raise Conflict("This engine is not a swarm manager: it has no services.")
                    case _:
                        assert_never(operation)
        raise EngineError(f"`{operation}` needs no approval plan.")

    def execute_plan(self, plan: Plan) -> results.ActionResult:
        if plan.action == CLEANUP:
            return cleanup_result(self.apply_cleanup(plan))
        if not plan.items and plan.unchanged:
            up_to_date = (
                results.TargetOutcome(target=t, ok=True, detail="up to date")
                for t in plan.unchanged
            )
            return results.ActionResult(action=plan.action, outcomes=tuple(up_to_date))
        refuse_changed(
            [change for item in plan.items if (change := item_change(item, self._current_id(item)))]
        )
        outcomes = []
        for item in plan.items:
            try:
                match item.kind:
                    case ObjectKind.CONTAINER if plan.action in STATE_CHANGES:
                        state_change = operations.ChangeContainers(
                            action=operations.ContainerAction(plan.action), containers=(item.id,)
                        )
                        self._change(state_change, item.id)
                    case ObjectKind.CONTAINER:
                        self._remove_container(self.container(item.id), force=plan.force)
                    case ObjectKind.IMAGE if plan.action == "rmi" and item.target != item.id:
                        self._rmi(item.target, force=plan.force)  # one tag of several: untag
                    case ObjectKind.IMAGE:
                        self._rmi(item.id, force=plan.force)
                    case ObjectKind.VOLUME:
                        self._remove_volume(item.id)
                    case ObjectKind.SERVICE:
                        raise Conflict("A service is never removed by a plan.")
                    case _:
                        assert_never(item.kind)
                outcomes.append(results.TargetOutcome(target=item.target, ok=True))
            except EngineError as err:
                outcomes.append(
                    results.TargetOutcome(target=item.target, ok=False, detail=str(err))
                )
        return results.ActionResult(action=plan.action, outcomes=tuple(outcomes))

    def plan_cleanup(self) -> Plan:
        now = self._clock()
        containers = [
            item
            for c in self.containers.values()
            if (item := container_item(self._inspect_doc(c), c.size, now=now, rules=self._rules))
        ]
        used = {c.image_id for c in self.containers.values()}
        images = [
            item
            for i in self.images.values()
            if (i.dangling or self._rules.unused_images_after)
            and (item := image_item(self._image_doc(i), used, now=now, rules=self._rules))
        ]
        return Plan(action=CLEANUP, items=(*containers, *images))

    def apply_cleanup(self, plan: Plan) -> results.CleanupReport:
        removed: list[PlanItem] = []
        skipped: list[tuple[PlanItem, str]] = []
        for item in (i for i in plan.items if i.kind is ObjectKind.CONTAINER):
            current = self.containers.get(item.id)
            why = container_change(item, self._inspect_doc(current) if current else None)
            if why:
                skipped.append((item, why))
            else:
                del self.containers[item.id]
                removed.append(item)
        used = {c.image_id for c in self.containers.values()}  # after the containers went
        for item in (i for i in plan.items if i.kind is ObjectKind.IMAGE):
            image = self.images.get(item.id)
            why = "already gone" if image is None else image_change(item, used)
            if why or image is None:
                skipped.append((item, why or "already gone"))
                continue
            self._delete_image(image)
            removed.append(item)
        return results.CleanupReport(
            engine=self._name, dry_run=False, removed=tuple(removed), skipped=tuple(skipped)
        )

    def _unprotected(self, target: str) -> FakeContainer:
        """Container ``target``, refused as the real engine refuses one when it plans
        (``bot.engine.protection.checked_container``): a protected one never gets a plan."""
        container = self.container(target)
        if is_protected(container.labels):
            raise Protected(f"Not allowed: {refusal('container', target)}.")
        return container

    def _container_plan_item(self, target: str, *, force: bool) -> PlanItem:
        """Container ``target`` as a plan names it; running only with ``force`` (``rm -f``, or
        a state change, which any state may ask for)."""
        container = self._unprotected(target)
        if container.state in ("running", "paused") and not force:
            raise Conflict(f"Container {target} is running: stop it first, or ask for `rm -f`.")
        return PlanItem(
            kind=ObjectKind.CONTAINER,
            id=container.id,
            target=target,
            description=f"{container.name} ({container.image}, {container.state})",
        )

    def _volume_plan_item(self, name: str) -> PlanItem:
        """As the real engine plans it: protected (by label or by a protected user) or in use
        is refused; the fake knows no bot's own container."""
        if name not in self.volumes:
            raise NotFound(f"get {name}: no such volume")
        if is_protected(self.volume_labels.get(name)):
            raise Protected(f"Not allowed: {refusal('volume', name)}.")
        users = [c for c in self.containers.values() if name in c.volumes]
        if any(is_protected(c.labels) for c in users):
            raise Protected(f"Not allowed: volume `{name}` is mounted by a protected container.")
        if users:
            names = ", ".join(c.name for c in users)
            raise Conflict(f"Volume {name} is in use by container(s) {names}: remove them first.")
        return PlanItem(
            kind=ObjectKind.VOLUME,
            id=name,
            target=name,
            description=f"{name} ({self.volumes[name]} driver, used by no container)",
        )

    @staticmethod
    def _image_plan_item(image: FakeImage, target: str) -> PlanItem:
        tags = ", ".join(image.tags) or "<none>"
        return PlanItem(
            kind=ObjectKind.IMAGE,
            id=image.id,
            target=target,
            description=f"{tags} ({short_id(image.id)}, {human_size(image.size)})",
        )

    def _current_id(self, item: PlanItem) -> str | None:
        """What ``item``'s target names now (None: nothing)."""
        try:
            match item.kind:
                case ObjectKind.CONTAINER:
                    return self.container(item.target).id
                case ObjectKind.IMAGE:
                    return self._image(item.target).id
                case ObjectKind.VOLUME:
                    return item.target if item.target in self.volumes else None
                case ObjectKind.SERVICE:
                    return None  # the fake has no swarm
                case _:
                    assert_never(item.kind)
        except NotFound:
            return None

    # -- the model ----------------------------------------------------------------------------

    def _image(self, target: str) -> FakeImage:
        """The image ``target`` names: a tag, an ID or a unique ID prefix."""
        reference = _familiar_or_none(target)
        for image in self.images.values():
            if reference in image.tags or target in (image.id, image.id[7:]):
                return image
        bare = target.removeprefix("sha256:")
        matches = [i for i in self.images.values() if bare and i.id[7:].startswith(bare)]
        if len(matches) != 1:
            raise NotFound(f"No such image: {target}")
        return matches[0]

    def _remove_volume(self, name: str) -> None:
        if name not in self.volumes:
            raise NotFound(f"get {name}: no such volume")
        users = [c.id for c in self.containers.values() if name in c.volumes]
        if users:
            raise Conflict(f"remove {name}: volume is in use - {users}")
        del self.volumes[name]
        self.volume_labels.pop(name, None)

    def _tag(self, image: FakeImage, tag: str) -> None:
        for other in self.images.values():
            if tag in other.tags:
                other.tags.remove(tag)  # as on the engine: the old image loses the tag
        image.tags.append(tag)

    def _stopped(self) -> list[FakeContainer]:
        return [c for c in self.containers.values() if c.state in STOPPED]

    def _unused_images(self, op: operations.PruneImages) -> list[FakeImage]:
        used = {c.image_id for c in self.containers.values()}
        return [
            i
            for i in self.images.values()
            if i.id not in used
            and (op.all or i.dangling)
            and _matches(op.filters, i.labels, None, None)
        ]

    def _new_id(self) -> str:
        return hashlib.sha256(f"{self._name}:{next(self._serial)}".encode()).hexdigest()

    def _inspect_doc(self, c: FakeContainer) -> dict[str, Any]:
        return {
            "Id": c.id,
            "Name": f"/{c.name}",
            "Created": _engine_time(c.created),
            "Image": c.image_id,
            "State": {
                "Status": c.state,
                "Running": c.state == "running",
                "ExitCode": c.exit_code,
                "FinishedAt": _engine_time(c.finished_at) if c.finished_at else _NEVER,
            },
            "Config": {"Image": c.image, "Labels": dict(c.labels)},
        }

    def _list_doc(self, c: FakeContainer) -> dict[str, Any]:
        return {
            "Id": c.id,
            "Image": c.image,
            "ImageID": c.image_id,
            "Command": "",
            "Created": int(c.created.timestamp()),
            "Status": _status(c),
            "State": c.state,
            "Ports": [],
            "Names": [f"/{c.name}"],
            "Labels": dict(c.labels),
            "SizeRw": c.size,
        }

    @staticmethod
    def _image_doc(i: FakeImage) -> dict[str, Any]:
        return {
            "Id": i.id,
            "RepoTags": list(i.tags),
            "RepoDigests": [],
            "Size": i.size,
            "Created": int(i.created.timestamp()),
            "Labels": dict(i.labels),
        }


class FakeEngineDirectory:
    """A directory of fake engines; the first one is the default."""

    def __init__(self, *engines: FakeEngine) -> None:
        self._engines = {engine.name: engine for engine in engines}

    def get(self, name: str | None) -> FakeEngine:
        engine = self._engines.get(name or next(iter(self._engines), ""))
        if engine is None:
            raise UnknownEngine(f"No engine called `{name}`.")
        return engine

    def names(self) -> list[str]:
        return list(self._engines)


def _familiar(reference: str) -> str:
    return parse_image_reference(reference).familiar()


def _familiar_or_none(target: str) -> str | None:
    try:
        return _familiar(target)
    except ParseError:
        return None  # an ID, or nothing an image could be called


def _event_matches(op: operations.ShowEvents, event: results.EngineEvent) -> bool:
    """The ``--filter`` keys the fake understands on events (type, event, container); values
    of one key are alternatives, keys must all match, as on the engine."""
    attributes = dict(event.attributes)
    fields = {
        "type": {event.type},
        "event": {event.action},
        "container": {event.actor_id, attributes.get("name", "")},
    }
    for key, values in operations.filters_as_dict(op.filters).items():
        if key not in fields:
            raise EngineError(f"The fake engine does not filter events by {key!r}.")
        if not fields[key] & set(values):
            return False
    return True


def _engine_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _status(c: FakeContainer) -> str:
    """The engine's human status text, without the age."""
    return {
        "running": "Up",
        "paused": "Up (Paused)",
        "created": "Created",
        "exited": f"Exited ({c.exit_code})",
        "dead": "Dead",
    }.get(c.state, c.state)


def _matches(
    filters: operations.FilterPairs,
    labels: dict[str, str],
    state: str | None,
    name: str | None,
    *,
    dangling: bool | None = None,
) -> bool:
    """The ``--filter`` pairs the fake understands (label, status, name, dangling); any other
    is refused, so a test never passes on a filter silently ignored."""
    for key, value in filters:
        if key == "label":
            wanted_key, has_value, wanted = value.partition("=")
            if wanted_key not in labels or (has_value and labels[wanted_key] != wanted):
                return False
        elif key == "status" and state is not None:
            if state != value:
                return False
        elif key == "name" and name is not None:
            if value not in name:
                return False
        elif key == "dangling" and dangling is not None:
            if dangling != (value.lower() in ("true", "1")):
                return False
        else:
            raise EngineError(f"The fake engine does not filter by {key!r}.")
    return True
