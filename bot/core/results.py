"""Neutral results: what an operation produced, as data. Renderers turn these into text.

Times are timezone-aware UTC datetimes, sizes are bytes, IDs are full IDs; shortening,
humanising and escaping are the renderer's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, assert_never

from bot.core.approval_records import ApprovalOutcomeKind, ApprovalRecord
from bot.core.audit import AuditEntry
from bot.core.notices.silences import Silence
from bot.core.plans import ObjectKind, PlanItem
from bot.core.policy import Verdict
from bot.core.services import ServiceRow, TaskRow


@dataclass(frozen=True, kw_only=True, slots=True)
class PublishedPort:
    container_port: int
    protocol: str
    host_ip: str | None = None
    host_port: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerRow:
    id: str
    image: str
    command: str
    created: datetime
    status: str  # the engine's human text, e.g. "Up 3 minutes", "Exited (0) 2 hours ago"
    state: str  # running, exited, created, paused, restarting, removing, dead
    ports: tuple[PublishedPort, ...]
    names: tuple[str, ...]
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerList:
    rows: tuple[ContainerRow, ...]
    quiet: bool = False
    no_trunc: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageRow:
    id: str
    repository: str | None  # None: dangling (<none>)
    tag: str | None
    digest: str | None
    created: datetime
    size: int


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageList:
    rows: tuple[ImageRow, ...]
    quiet: bool = False
    digests: bool = False
    no_trunc: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class PullProgress:
    """One progress event of a pull: per-layer bytes so far (a callback receives these)."""

    layer: str
    status: str
    current: int | None = None
    total: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class PullResult:
    reference: str
    image_id: str | None
    digest: str | None
    size: int | None
    up_to_date: bool
    tags: tuple[str, ...] = ()
    quiet: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class RunResult:
    container_id: str
    name: str
    detached: bool
    exit_code: int | None = None  # None: still running (detached, or the wait timed out)
    output: str = ""  # tail of stdout+stderr when not detached
    output_truncated: bool = False
    timed_out_after: float | None = None
    removed: bool = False
    removes_on_exit: bool = False  # --rm, still running: the engine removes it when it exits


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetOutcome:
    """What happened to one target of a multi-target action."""

    target: str
    ok: bool
    detail: str = ""  # error message when not ok; e.g. "already stopped" otherwise


@dataclass(frozen=True, kw_only=True, slots=True)
class ActionResult:
    """Per-target outcomes of rm, rmi, start, stop, restart, pause, unpause."""

    action: str
    outcomes: tuple[TargetOutcome, ...]
    # rmi: the "Untagged: ..." / "Deleted: ..." lines the engine reported.
    details: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return any(not outcome.ok for outcome in self.outcomes)


@dataclass(frozen=True, kw_only=True, slots=True)
class LogsResult:
    container: str
    text: str
    truncated: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class InspectItem:
    kind: ObjectKind
    id: str
    name: str
    summary: tuple[tuple[str, str], ...]  # ordered key facts for a compact view
    document: dict[str, Any]  # the full engine document, secrets redacted


@dataclass(frozen=True, kw_only=True, slots=True)
class InspectResult:
    items: tuple[InspectItem, ...]
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class StatsRow:
    """One container's usage, computed as the Docker CLI computes it (memory without the
    inactive page cache). ``sampled`` is False when the engine did not answer in time."""

    id: str
    name: str
    cpu_percent: float = 0.0
    memory_usage: int = 0
    memory_limit: int = 0
    memory_percent: float = 0.0
    net_rx: int = 0
    net_tx: int = 0
    block_read: int = 0
    block_write: int = 0
    pids: int = 0
    sampled: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class StatsResult:
    rows: tuple[StatsRow, ...]
    no_trunc: bool = False
    left_out: int = 0  # containers beyond the cap, not sampled


@dataclass(frozen=True, kw_only=True, slots=True)
class TopResult:
    container: str
    titles: tuple[str, ...]
    processes: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class PortList:
    """The published ports of a container; ``selected``: one private port was asked for, and
    only its host addresses are shown (as ``docker port web 80`` does)."""

    container: str
    ports: tuple[PublishedPort, ...]
    selected: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class DiskUsageRow:
    type: str  # Images, Containers, Local Volumes, Build Cache
    total: int
    active: int
    size: int
    reclaimable: int
    reclaimable_percent: int | None  # None: not shown (the build cache, or nothing at all)


@dataclass(frozen=True, kw_only=True, slots=True)
class DiskUsageResult:
    rows: tuple[DiskUsageRow, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class VolumeRow:
    driver: str
    name: str


@dataclass(frozen=True, kw_only=True, slots=True)
class VolumeList:
    rows: tuple[VolumeRow, ...]
    quiet: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class NetworkRow:
    id: str
    name: str
    driver: str
    scope: str


@dataclass(frozen=True, kw_only=True, slots=True)
class NetworkList:
    rows: tuple[NetworkRow, ...]
    quiet: bool = False
    no_trunc: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class EngineEvent:
    """One engine event. ``time_ns``: nanoseconds since the epoch (UTC), as the engine
    reports them (a datetime would lose the last three digits Docker prints)."""

    time_ns: int
    type: str
    action: str
    actor_id: str
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class EventList:
    events: tuple[EngineEvent, ...]  # oldest first
    since: datetime
    until: datetime
    left_out: int = 0  # older events not kept (over the cap)
    stopped_early: bool = False  # reading stopped at the cap on events read


@dataclass(frozen=True, kw_only=True, slots=True)
class PruneResult:
    kind: ObjectKind  # what was pruned
    deleted: tuple[str, ...]
    space_reclaimed: int


@dataclass(frozen=True, kw_only=True, slots=True)
class HelpEntry:
    name: str
    summary: str


@dataclass(frozen=True, kw_only=True, slots=True)
class HelpResult:
    title: str
    usage: str
    summary: str = ""
    entries_title: str = "Options"  # "Commands" in the overview
    entries: tuple[HelpEntry, ...] = ()
    examples: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalRequested:
    """A destructive action now waiting for approvers, with its exact plan."""

    record: ApprovalRecord
    approvers: str  # who may approve, for people to read


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalList:
    records: tuple[ApprovalRecord, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalUpdate:
    """What a vote, a rejection or a cancellation did."""

    kind: ApprovalOutcomeKind
    message: str
    record: ApprovalRecord | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class AccessAnswer:
    """``can USER COMMAND``: what the policy would decide for that person now, and why."""

    user_id: str
    command: str  # the command asked about, as shown (secrets redacted)
    engine: str
    verdict: Verdict
    reason: str

    def sentence(self) -> str:
        """One plain line (renderers escape and decorate it)."""
        match self.verdict:
            case Verdict.ALLOW:
                head = f"may run `{self.command}` on `{self.engine}` now"
            case Verdict.NEEDS_APPROVAL:
                head = f"may ask for `{self.command}` on `{self.engine}`; it would wait"
            case Verdict.DENY:
                head = f"may not run `{self.command}` on `{self.engine}` now"
            case _:
                assert_never(self.verdict)
        return f"{head}: {self.reason}."


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditList:
    entries: tuple[AuditEntry, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class SilenceList:
    """``silences``: those in force, soonest to end first."""

    silences: tuple[Silence, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class SilenceUpdate:
    """A silence made (``silence``, a Silence button) or ended (``unsilence``)."""

    silence: Silence
    ended: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class CleanupReport:
    """A housekeeping run (or its preview): what went, what stayed and why, what failed."""

    engine: str
    dry_run: bool
    removed: tuple[PlanItem, ...] = ()  # the cleanup plan's items; a dry run: all of them
    skipped: tuple[tuple[PlanItem, str], ...] = ()  # changed or vanished since the plan
    errors: tuple[str, ...] = ()

    @property
    def space_reclaimed(self) -> int:
        return sum(item.size for item in self.removed)

    @property
    def empty(self) -> bool:
        return not (self.removed or self.skipped or self.errors)


@dataclass(frozen=True, kw_only=True, slots=True)
class CleanupStatus:
    engines: tuple[tuple[str, str, str], ...]  # (engine, schedule and next run, last result)


@dataclass(frozen=True, kw_only=True, slots=True)
class UpdateRow:
    """A running container whose tag now names another image in its registry."""

    container: str  # its name
    reference: str  # the tag it follows
    current_digest: str | None  # what it runs, as that repository knows it; None: never pushed
    available_digest: str  # what the tag names now
    current_created: datetime | None = None  # when the image it runs was built
    container_id: str = ""  # the exact container, for an Upgrade button


@dataclass(frozen=True, kw_only=True, slots=True)
class UpdateList:
    """``updates``: the moved tags, and the registries that could not be asked."""

    rows: tuple[UpdateRow, ...]
    failures: tuple[tuple[str, str], ...] = ()  # (reference, why)
    checked: int = 0  # containers whose registry answered


@dataclass(frozen=True, kw_only=True, slots=True)
class ServiceList:
    """``service ls``."""

    rows: tuple[ServiceRow, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskList:
    """``service ps SERVICE``."""

    service: str
    rows: tuple[TaskRow, ...]


Result = (
    ContainerList
    | ImageList
    | PullResult
    | RunResult
    | ActionResult
    | LogsResult
    | InspectResult
    | StatsResult
    | TopResult
    | PortList
    | DiskUsageResult
    | VolumeList
    | NetworkList
    | EventList
    | PruneResult
    | HelpResult
    | ApprovalRequested
    | ApprovalList
    | ApprovalUpdate
    | AuditList
    | AccessAnswer
    | SilenceList
    | SilenceUpdate
    | CleanupReport
    | CleanupStatus
    | UpdateList
    | ServiceList
    | TaskList
)
