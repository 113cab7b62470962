"""Typed, validated operations: what a parsed command asks an engine to do.

Every operation is an immutable value; the parser builds them and engines execute them.
Each declares, next to its fields, the action name access rules use and the permission it
needs (``access``); an operation without one stops the import. Nothing here knows about Slack
or Docker's SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import ClassVar, final, get_args

from bot.core.references import ImageReference

# ``--filter key=value`` options, in the order given.
FilterPairs = tuple[tuple[str, str], ...]


def filters_as_dict(pairs: FilterPairs) -> dict[str, list[str]]:
    """The engine API's ``{key: [values]}`` form of ``--filter`` pairs."""
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


class Permission(StrEnum):
    """What an operation needs; ``bot.core.policy`` maps these onto roles and approvals."""

    READ = "read"  # viewer
    OPERATE = "operate"  # operator
    DESTRUCTIVE = "destructive"  # an approval if [approvals] required_for names it, else admin
    ADMIN = "admin"


@dataclass(frozen=True, kw_only=True, slots=True)
class Access:
    """An operation's declaration: the action name rules and messages use, and what it needs."""

    action: str
    permission: Permission


class Planned:
    """A removal that runs as its plan, approval or not: the engine plans it
    (``Engine.plan``: the exact objects, protection checked) and executes exactly the plan.
    What an approver is shown is then what runs, and a new one adds no case to the engines'
    ``execute``, only its plan (``bot/engine/planning.py`` and the fake engine's, where mypy
    names it: every operation class is final, so ``case Planned()`` narrows to exactly the
    planned ones)."""

    __slots__ = ()


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class Pull:
    access: ClassVar[Access] = Access(action="pull", permission=Permission.OPERATE)

    image: ImageReference
    all_tags: bool = False
    platform: str | None = None
    quiet: bool = False


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ListImages:
    access: ClassVar[Access] = Access(action="images", permission=Permission.READ)

    all: bool = False
    quiet: bool = False
    digests: bool = False
    no_trunc: bool = False
    filters: FilterPairs = ()


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class RemoveImages:
    access: ClassVar[Access] = Access(action="rmi", permission=Permission.DESTRUCTIVE)

    images: tuple[str, ...]
    force: bool = False
    no_prune: bool = False


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class RemoveVolumes(Planned):
    """``volume rm [-f] VOLUME...``: planned, so a protected volume or one in use is refused
    before anyone is asked; ``-f`` goes to the engine, which still refuses a volume in use."""

    access: ClassVar[Access] = Access(action="volume rm", permission=Permission.DESTRUCTIVE)

    volumes: tuple[str, ...]
    force: bool = False


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class UpgradeContainers(Planned):
    """``upgrade CONTAINER... [--image REF]``: planned, so the pull and the comparison happen
    before anyone is asked; a container already on the image its reference names is said to
    be up to date and nobody is asked anything."""

    access: ClassVar[Access] = Access(action="upgrade", permission=Permission.DESTRUCTIVE)

    containers: tuple[str, ...]
    image: ImageReference | None = None  # None: each container's own reference


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class RollbackContainer(Planned):
    """``rollback CONTAINER``: back to the image the last upgrade replaced, verified the same
    way."""

    access: ClassVar[Access] = Access(action="rollback", permission=Permission.DESTRUCTIVE)

    container: str


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ListUpdates:
    """``updates``: running containers whose tag moved in its registry (read, no pull)."""

    access: ClassVar[Access] = Access(action="updates", permission=Permission.READ)


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ListServices:
    """``service ls``: a swarm manager's services."""

    access: ClassVar[Access] = Access(action="service ls", permission=Permission.READ)


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ShowServiceTasks:
    """``service ps SERVICE``: its tasks, newest first per slot."""

    access: ClassVar[Access] = Access(action="service ps", permission=Permission.READ)

    service: str


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ShowServiceLogs:
    """``service logs SERVICE``: bounded like ``logs``, redacted."""

    access: ClassVar[Access] = Access(action="service logs", permission=Permission.READ)

    service: str
    tail: int = 100


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class UpdateServiceImage(Planned):
    """``service update --image REF SERVICE``: a rolling update the engine rolls back by
    itself if a new task fails, followed to its end."""

    access: ClassVar[Access] = Access(action="service update", permission=Permission.DESTRUCTIVE)

    service: str
    image: ImageReference


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ScaleService(Planned):
    """``service scale SERVICE=N``."""

    access: ClassVar[Access] = Access(action="service scale", permission=Permission.DESTRUCTIVE)

    service: str
    replicas: int


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class RollbackService(Planned):
    """``service rollback SERVICE``: back to its previous spec, as the engine keeps it."""

    access: ClassVar[Access] = Access(action="service rollback", permission=Permission.DESTRUCTIVE)

    service: str


class PortProtocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"
    SCTP = "sctp"


@dataclass(frozen=True, kw_only=True, slots=True)
class PortMapping:
    """One ``-p`` value, ranges kept as ranges:
    ``[host_ip:][host_port[-host_port_end]:]container_port[-container_port_end][/proto]``.

    As in Docker: a container range maps port by port onto a host range of the same size; one
    container port with a host range gets a free host port the engine picks in it; without a
    host port the engine picks any. An ``*_end`` is None for a single port. Only the engine
    adapter expands ranges, after the parser's cap on published ports.
    """

    container_port: int
    container_port_end: int | None = None
    protocol: PortProtocol = PortProtocol.TCP
    host_ip: str | None = None
    host_port: int | None = None
    host_port_end: int | None = None

    def __post_init__(self) -> None:
        # The engine adapter expands what this describes: a malformed value must not get there.
        _check_port_range(self.container_port, self.container_port_end)
        if self.host_port is None:
            if self.host_port_end is not None:
                raise ValueError("host_port_end needs host_port")
            return
        _check_port_range(self.host_port, self.host_port_end)
        host_count = (self.host_port_end or self.host_port) - self.host_port + 1
        if self.container_count > 1 and host_count != self.container_count:
            raise ValueError("the host and container port ranges differ in size")

    @property
    def container_count(self) -> int:
        """How many container ports this publishes (arithmetic: nothing is expanded)."""
        return (self.container_port_end or self.container_port) - self.container_port + 1

    def host_port_text(self) -> str | None:
        """``8080``, ``8000-8010`` or None (the engine picks the host port)."""
        if self.host_port is None:
            return None
        if self.host_port_end is not None:
            return f"{self.host_port}-{self.host_port_end}"
        return str(self.host_port)


def _check_port_range(first: int, last: int | None) -> None:
    if not 1 <= first <= 65535 or (last is not None and not first < last <= 65535):
        raise ValueError(f"invalid port range {first}-{last}" if last else f"invalid port {first}")


class MountKind(StrEnum):
    BIND = "bind"
    VOLUME = "volume"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True, kw_only=True, slots=True)
class VolumeMount:
    """One ``-v`` mount: a host path, a named volume, or an anonymous volume."""

    kind: MountKind
    target: str
    source: str | None = None
    options: tuple[str, ...] = ()

    @property
    def read_only(self) -> bool:
        return "ro" in self.options


class RestartName(StrEnum):
    NO = "no"
    ALWAYS = "always"
    UNLESS_STOPPED = "unless-stopped"
    ON_FAILURE = "on-failure"


@dataclass(frozen=True, kw_only=True, slots=True)
class RestartPolicy:
    name: RestartName
    maximum_retry_count: int = 0


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class RunContainer:
    access: ClassVar[Access] = Access(action="run", permission=Permission.OPERATE)

    image: ImageReference
    command: tuple[str, ...] = ()
    detach: bool = False
    name: str | None = None
    auto_remove: bool = False
    env: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    ports: tuple[PortMapping, ...] = ()
    volumes: tuple[VolumeMount, ...] = ()
    workdir: str | None = None
    user: str | None = None
    # ``--entrypoint ""`` clears the image's entrypoint, so "" and None differ.
    entrypoint: str | None = None
    restart: RestartPolicy | None = None
    memory_bytes: int | None = None
    nano_cpus: int | None = None
    pids_limit: int | None = None  # processes the container may hold at once
    hostname: str | None = None
    network: str | None = None
    # Options that widen what the container may do to its host; the run policy decides.
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    pid_mode: str | None = None
    ipc_mode: str | None = None
    uts_mode: str | None = None
    userns_mode: str | None = None
    devices: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ListContainers:
    access: ClassVar[Access] = Access(action="ps", permission=Permission.READ)

    all: bool = False
    quiet: bool = False
    last: int | None = None
    latest: bool = False
    no_trunc: bool = False
    filters: FilterPairs = ()


class ContainerAction(StrEnum):
    """Actions that take one or more containers and report per-container outcomes."""

    REMOVE = "rm"
    START = "start"
    STOP = "stop"
    RESTART = "restart"
    PAUSE = "pause"
    UNPAUSE = "unpause"


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ChangeContainers:
    # rm destroys containers; the other actions only change their state.
    by_action: ClassVar[Mapping[ContainerAction, Access]] = MappingProxyType(
        {
            ContainerAction.REMOVE: Access(action="rm", permission=Permission.DESTRUCTIVE),
            ContainerAction.START: Access(action="start", permission=Permission.OPERATE),
            ContainerAction.STOP: Access(action="stop", permission=Permission.OPERATE),
            ContainerAction.RESTART: Access(action="restart", permission=Permission.OPERATE),
            ContainerAction.PAUSE: Access(action="pause", permission=Permission.OPERATE),
            ContainerAction.UNPAUSE: Access(action="unpause", permission=Permission.OPERATE),
        }
    )
    accesses: ClassVar[tuple[Access, ...]] = tuple(by_action.values())

    action: ContainerAction
    containers: tuple[str, ...]
    force: bool = False  # rm -f
    volumes: bool = False  # rm -v
    timeout: int | None = None  # stop/restart -t

    @property
    def access(self) -> Access:
        return self.by_action[self.action]


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ShowLogs:
    access: ClassVar[Access] = Access(action="logs", permission=Permission.READ)

    container: str
    tail: int | None = None  # None: everything (bounded by the engine adapter)
    since: datetime | None = None
    timestamps: bool = False


class InspectType(StrEnum):
    ANY = "any"
    CONTAINER = "container"
    IMAGE = "image"


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class Inspect:
    access: ClassVar[Access] = Access(action="inspect", permission=Permission.READ)

    targets: tuple[str, ...]
    type: InspectType = InspectType.ANY


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ShowStats:
    """``stats --no-stream``: one snapshot of resource usage (chat cannot follow a stream)."""

    access: ClassVar[Access] = Access(action="stats", permission=Permission.READ)

    containers: tuple[str, ...] = ()  # none: the running containers (all of them with -a)
    all: bool = False
    no_trunc: bool = False


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ShowTop:
    """``top CONTAINER``: the container's processes, in the engine's default ps columns."""

    access: ClassVar[Access] = Access(action="top", permission=Permission.READ)

    container: str


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ShowPorts:
    """``port CONTAINER [PRIVATE_PORT[/PROTO]]``."""

    access: ClassVar[Access] = Access(action="port", permission=Permission.READ)

    container: str
    private_port: int | None = None
    protocol: PortProtocol = PortProtocol.TCP  # only meaningful with private_port


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class DiskUsage:
    """``system df``: space used by images, containers, volumes and the build cache."""

    access: ClassVar[Access] = Access(action="df", permission=Permission.READ)


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ListVolumes:
    access: ClassVar[Access] = Access(action="volumes", permission=Permission.READ)

    quiet: bool = False
    filters: FilterPairs = ()


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ListNetworks:
    access: ClassVar[Access] = Access(action="networks", permission=Permission.READ)

    quiet: bool = False
    no_trunc: bool = False
    filters: FilterPairs = ()


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ShowEvents:
    """``events --since D --until D``: past events only, in a bounded window ending now or
    earlier, so the call always ends. Durations count back from the engine's clock."""

    access: ClassVar[Access] = Access(action="events", permission=Permission.READ)

    since: timedelta = timedelta(minutes=10)
    until: timedelta = timedelta(0)
    filters: FilterPairs = ()


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class PruneContainers:
    access: ClassVar[Access] = Access(action="prune", permission=Permission.DESTRUCTIVE)

    filters: FilterPairs = ()


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class PruneImages:
    access: ClassVar[Access] = Access(action="prune", permission=Permission.DESTRUCTIVE)

    all: bool = False
    filters: FilterPairs = ()


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class Help:
    access: ClassVar[Access] = Access(action="help", permission=Permission.READ)

    topic: str | None = None


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ListApprovals:
    """``approvals``: the pending approval requests."""

    access: ClassVar[Access] = Access(action="approvals", permission=Permission.READ)


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class CancelApproval:
    """``cancel N``: the requester withdraws request N."""

    access: ClassVar[Access] = Access(action="cancel", permission=Permission.READ)

    approval_id: int


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ShowAudit:
    """``audit [N]``: the newest N audit entries."""

    access: ClassVar[Access] = Access(action="audit", permission=Permission.ADMIN)

    count: int = 20


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class SilenceContainers:
    """``silence CONTAINER|GLOB DURATION`` (and a notice's Silence buttons): no notices about
    the matching containers on the engine for ``duration``."""

    access: ClassVar[Access] = Access(action="silence", permission=Permission.OPERATE)

    pattern: str
    duration: timedelta


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class ListSilences:
    """``silences``: the silences in force."""

    access: ClassVar[Access] = Access(action="silences", permission=Permission.READ)


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class Unsilence:
    """``unsilence N``: end silence N now."""

    access: ClassVar[Access] = Access(action="unsilence", permission=Permission.OPERATE)

    silence_id: int


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class Cleanup:
    """``cleanup``: remove dead containers and dangling images past their grace periods."""

    REMOVAL: ClassVar[Access] = Access(action="cleanup", permission=Permission.DESTRUCTIVE)
    # --dry-run (and ``cleanup status``) only read: anyone may look.
    PREVIEW: ClassVar[Access] = Access(action="cleanup-preview", permission=Permission.READ)
    accesses: ClassVar[tuple[Access, ...]] = (REMOVAL, PREVIEW)

    dry_run: bool = False

    @property
    def access(self) -> Access:
        return self.PREVIEW if self.dry_run else self.REMOVAL


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class CleanupStatusQuery:
    """``cleanup status``: schedules, next runs and last results."""

    access: ClassVar[Access] = Cleanup.PREVIEW


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class CheckAccess:
    """``can USER COMMAND...`` (admins): may that person run that command now, and by which
    rule (role, grant, freeze, approval)? Nothing is run."""

    access: ClassVar[Access] = Access(action="can", permission=Permission.ADMIN)

    user_id: str
    asked: Operation  # the command asked about, parsed like any other (its engine: the
    # parsed command's)


# The order is the order actions are listed in (DESTRUCTIVE_ACTIONS, configuration errors).
EngineOperation = (
    ListContainers
    | RunContainer
    | ChangeContainers
    | ShowLogs
    | Inspect
    | ListImages
    | ShowStats
    | ShowTop
    | ShowPorts
    | DiskUsage
    | ListVolumes
    | ListNetworks
    | ShowEvents
    | Pull
    | RemoveImages
    | RemoveVolumes
    | UpgradeContainers
    | RollbackContainer
    | ListUpdates
    | ListServices
    | ShowServiceTasks
    | ShowServiceLogs
    | UpdateServiceImage
    | ScaleService
    | RollbackService
    | PruneContainers
    | PruneImages
    | Cleanup
)
BotOperation = (
    ListApprovals
    | CancelApproval
    | ShowAudit
    | CleanupStatusQuery
    | CheckAccess
    | SilenceContainers
    | ListSilences
    | Unsilence
)
Operation = EngineOperation | Help | BotOperation


READ_ONLY_OPERATIONS = (
    ListContainers,
    ListImages,
    ShowLogs,
    Inspect,
    Help,
    ListApprovals,
    CancelApproval,
    ShowAudit,
    CleanupStatusQuery,
    CheckAccess,
    ListSilences,
    ShowStats,
    ShowTop,
    ShowPorts,
    DiskUsage,
    ListVolumes,
    ListNetworks,
    ShowEvents,
    ListUpdates,
    ListServices,
    ShowServiceTasks,
    ShowServiceLogs,
)


def action_name(operation: Operation) -> str:
    """The name access rules use (``ps``, ``run``, ``rm``, ``cleanup-preview``...)."""
    return operation.access.action


def declared_accesses(kind: type) -> tuple[Access, ...]:
    """Every access an operation class declares: its ``access`` or, where that depends on
    the operation's fields (a property), every value it can take (``accesses``)."""
    access = getattr(kind, "access", None)
    if isinstance(access, Access):
        return (access,)
    accesses = getattr(kind, "accesses", ())
    if isinstance(access, property) and accesses and all(isinstance(a, Access) for a in accesses):
        return tuple(accesses)
    raise TypeError(
        f"operation {kind.__name__} declares no access: give it `access: ClassVar[Access] = "
        "Access(action=..., permission=...)` (bot/core/operations.py)"
    )


def actions_by_name(kinds: tuple[type, ...]) -> dict[str, Access]:
    """action name -> its access, over every declaration of ``kinds``."""
    actions: dict[str, Access] = {}
    for kind in kinds:
        for access in declared_accesses(kind):
            if actions.setdefault(access.action, access) != access:
                raise TypeError(f"action {access.action!r} is declared with two permissions")
    return actions


OPERATION_TYPES: tuple[type, ...] = get_args(Operation)
# Every action by name. Built at import, so an operation without a declaration (or two
# operations that disagree about an action) stops the bot from starting at all.
ACTIONS: Mapping[str, Access] = MappingProxyType(actions_by_name(OPERATION_TYPES))
# What [approvals] required_for may name.
DESTRUCTIVE_ACTIONS: tuple[str, ...] = tuple(
    name for name, access in ACTIONS.items() if access.permission is Permission.DESTRUCTIVE
)
# What a [[freeze]] may hold: every action on an engine that is not a read. The bot's own
# state (silence, unsilence) is not an engine's: a freeze must not keep a team from quieting
# a noisy container.
CHANGE_ACTIONS: tuple[str, ...] = tuple(
    name
    for name, access in actions_by_name(get_args(EngineOperation)).items()
    if access.permission is not Permission.READ
)


def changes_something(operation: Operation) -> bool:
    """False for listings, logs, inspect, help and previews; True for everything that acts."""
    if isinstance(operation, Cleanup):
        return not operation.dry_run
    return not isinstance(operation, READ_ONLY_OPERATIONS)
