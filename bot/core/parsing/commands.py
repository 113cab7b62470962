"""The ``/docker`` command language: one spec per command, with the builder of its operation.

The spec table is the single source of usage lines, option lists and help text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.core import operations
from bot.core.notices.silences import pattern_problem
from bot.core.parsing.display import duration_text
from bot.core.parsing.options import OptionSpec, OptionTable, ParsedOptions
from bot.core.parsing.ports import check_published_ports, parse_publish
from bot.core.parsing.units import parse_count, parse_duration, parse_point_in_time, parse_size
from bot.core.parsing.volumes import parse_volume
from bot.core.references import parse_image_reference
from bot.errors import ParseError

_HELP = OptionSpec(long="help", help="Show this command's help")
_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+\Z")
_ENV_KEY = re.compile(r"[^=\s]+\Z")
_ENV_NAME_SHAPE = re.compile(r"[A-Z_][A-Z0-9_]{0,63}\Z")
_MIN_MEMORY = 6 * 1024 * 1024
_CONTAINER_STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
_PS_FILTERS = (
    "ancestor",
    "before",
    "exited",
    "expose",
    "health",
    "id",
    "is-task",
    "isolation",
    "label",
    "name",
    "network",
    "publish",
    "since",
    "status",
    "volume",
)
_IMAGE_FILTERS = ("before", "dangling", "label", "reference", "since", "until")
_PRUNE_CONTAINER_FILTERS = ("label", "label!", "until")
_PRUNE_IMAGE_FILTERS = ("dangling", "label", "label!", "until")
_VOLUME_FILTERS = ("dangling", "driver", "label", "name")
_NETWORK_FILTERS = ("driver", "id", "label", "name", "scope", "type")
_EVENT_FILTERS = ("container", "event", "image", "label", "network", "type", "volume")
_NO_FORMAT = "the bot renders its own tables and summaries."
# `stats` names at most this many containers (the engine adapter caps the implicit list too).
MAX_STATS_CONTAINERS = 50
# `events` looks back at most this far, so a request always ends and stays small.
MAX_EVENTS_SPAN = timedelta(hours=1)
DEFAULT_EVENTS_SINCE = timedelta(minutes=10)
# ... and shows at most the newest this many events.
MAX_EVENTS_SHOWN = 500
_PRIVATE_PORT = re.compile(r"(\d{1,5})(?:/(tcp|udp|sctp))?\Z")

Builder = Callable[
    [ParsedOptions, OptionTable], operations.EngineOperation | operations.BotOperation
]


@dataclass(frozen=True, kw_only=True, slots=True)
class CommandSpec:
    """One command of the language."""

    name: str
    summary: str
    usage: str  # without the leading command path
    options: tuple[OptionSpec, ...]
    build: Builder
    aliases: tuple[str, ...] = ()  # other spellings, e.g. "container ls"
    min_args: int = 0
    max_args: int | None = None
    interspersed: bool = True
    # The words after the first argument are a whole command of their own (``can``): the
    # parser parses them and hands the builder the operation as ``ParsedOptions.nested``.
    nests: bool = False
    examples: tuple[str, ...] = ()

    def table(self, spelling: str) -> OptionTable:
        return OptionTable(
            command=spelling, usage=self.usage_line(spelling), options=(*self.options, _HELP)
        )

    def usage_line(self, spelling: str | None = None) -> str:
        return f"/docker {spelling or self.name} {self.usage}".rstrip()


def _filters(
    parsed: ParsedOptions, table: OptionTable, allowed: tuple[str, ...]
) -> operations.FilterPairs:
    pairs: list[tuple[str, str]] = []
    for raw in parsed.values_of("filter"):
        key, eq, value = raw.partition("=")
        # "label!=x" splits as key "label!" value "x".
        if not eq or key not in allowed:
            raise table.error(
                f"Invalid filter {raw!r}: use KEY=VALUE with KEY one of {', '.join(allowed)}."
            )
        pairs.append((key, value))
    return tuple(pairs)


def _check_status_filters(filters: operations.FilterPairs, table: OptionTable) -> None:
    for key, value in filters:
        if key == "status" and value not in _CONTAINER_STATUSES:
            raise table.error(
                f"Invalid status filter {value!r}: use one of {', '.join(_CONTAINER_STATUSES)}."
            )
        if key == "dangling" and value.lower() not in ("true", "false", "1", "0"):
            raise table.error(f"Invalid dangling filter {value!r}: use true or false.")


def _targets(parsed: ParsedOptions) -> tuple[str, ...]:
    # Order kept, duplicates dropped: acting twice on one container only produces a
    # confusing second error.
    return tuple(dict.fromkeys(parsed.positionals))


# What names a container: its name (an optional leading /) or its ID or a prefix of it. The
# engine API takes it into a URL path: a `/` or `..` in it would reach other endpoints
# (`rmi x/../../containers/NAME` removed a container, protected or not).
_CONTAINER_WORD = re.compile(r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}\Z")
_IMAGE_ID = re.compile(r"(?:sha256:)?[0-9a-f]{1,64}\Z")


def _container(word: str, table: OptionTable) -> str:
    """``word`` as a container's name or ID, or a precise refusal."""
    if not _CONTAINER_WORD.match(word):
        raise table.error(
            f"Invalid container {word[:40]!r}: name a container by its name (letters, digits, "
            "_ . -) or its ID."
        )
    return word


def _containers(parsed: ParsedOptions, table: OptionTable) -> tuple[str, ...]:
    return tuple(_container(word, table) for word in _targets(parsed))


def _image(word: str, table: OptionTable) -> str:
    """``word`` as an image's reference or ID, or a precise refusal."""
    if not _IMAGE_ID.match(word):
        parse_image_reference(word, default_tag=False)  # its ParseError says what is wrong
    return word


def _mode(value: str | None, option: str, table: OptionTable) -> str | None:
    """A namespace or network mode; ``container:NAME`` names a container like any argument
    (the engine looks it up by a URL path)."""
    if value is not None and value.startswith("container:"):
        _container(value.removeprefix("container:"), table)
    return value


def _container_or_image(word: str, table: OptionTable) -> str:
    if _CONTAINER_WORD.match(word):
        return word
    try:
        return _image(word, table)
    except ParseError:
        raise table.error(
            f"Invalid name {word[:40]!r}: name a container (its name or ID) or an image (its "
            "reference or ID)."
        ) from None


def _timeout(parsed: ParsedOptions) -> int | None:
    text = parsed.value("time")
    return None if text is None else parse_count(text, option="--time", maximum=86400)


def build_pull(parsed: ParsedOptions, table: OptionTable) -> operations.Pull:
    all_tags = parsed.flag("all_tags")
    image = parse_image_reference(parsed.positionals[0], default_tag=not all_tags)
    if all_tags and (image.tag or image.digest):
        raise table.error("A tag or digest cannot be combined with `--all-tags`.")
    return operations.Pull(
        image=image,
        all_tags=all_tags,
        platform=parsed.value("platform"),
        quiet=parsed.flag("quiet"),
    )


def build_images(parsed: ParsedOptions, table: OptionTable) -> operations.ListImages:
    filters = _filters(parsed, table, _IMAGE_FILTERS)
    _check_status_filters(filters, table)
    if parsed.positionals:
        # "images nginx" lists the nginx repository, like Docker.
        filters = (*filters, ("reference", parsed.positionals[0]))
    return operations.ListImages(
        all=parsed.flag("all"),
        quiet=parsed.flag("quiet"),
        digests=parsed.flag("digests"),
        no_trunc=parsed.flag("no_trunc"),
        filters=filters,
    )


def build_rmi(parsed: ParsedOptions, table: OptionTable) -> operations.RemoveImages:
    return operations.RemoveImages(
        images=tuple(_image(word, table) for word in _targets(parsed)),
        force=parsed.flag("force"),
        no_prune=parsed.flag("no_prune"),
    )


def build_ps(parsed: ParsedOptions, table: OptionTable) -> operations.ListContainers:
    filters = _filters(parsed, table, _PS_FILTERS)
    _check_status_filters(filters, table)
    last_text = parsed.value("last")
    last = None if last_text is None else parse_count(last_text, option="--last", minimum=-1)
    return operations.ListContainers(
        all=parsed.flag("all"),
        quiet=parsed.flag("quiet"),
        last=None if last is None or last < 0 else last,
        latest=parsed.flag("latest"),
        no_trunc=parsed.flag("no_trunc"),
        filters=filters,
    )


def _change(action: operations.ContainerAction) -> Builder:
    def build(parsed: ParsedOptions, table: OptionTable) -> operations.ChangeContainers:
        return operations.ChangeContainers(
            action=action,
            containers=_containers(parsed, table),
            force=parsed.flag("force"),
            volumes=parsed.flag("volumes"),
            timeout=_timeout(parsed),
        )

    return build


def build_logs(parsed: ParsedOptions, table: OptionTable) -> operations.ShowLogs:
    tail_text = parsed.value("tail")
    tail = None
    if tail_text is not None and tail_text != "all":
        tail = parse_count(tail_text, option="--tail", minimum=-1)
        tail = None if tail < 0 else tail
    since_text = parsed.value("since")
    return operations.ShowLogs(
        container=_container(parsed.positionals[0], table),
        tail=tail,
        since=None if since_text is None else parse_point_in_time(since_text, option="--since"),
        timestamps=parsed.flag("timestamps"),
    )


def _inspect(default: operations.InspectType) -> Builder:
    def build(parsed: ParsedOptions, table: OptionTable) -> operations.Inspect:
        kind = parsed.value("type")
        if kind is None:
            targets = tuple(_container_or_image(word, table) for word in _targets(parsed))
            return operations.Inspect(targets=targets, type=default)
        try:
            chosen = operations.InspectType(kind)
        except ValueError:
            raise table.error(f"Invalid --type {kind!r}: use container or image.") from None
        if chosen is operations.InspectType.ANY:
            raise table.error(f"Invalid --type {kind!r}: use container or image.")
        check = _container if chosen is operations.InspectType.CONTAINER else _image
        targets = tuple(check(word, table) for word in _targets(parsed))
        return operations.Inspect(targets=targets, type=chosen)

    return build


def build_container_prune(parsed: ParsedOptions, table: OptionTable) -> operations.PruneContainers:
    return operations.PruneContainers(
        filters=_checked_until(_filters(parsed, table, _PRUNE_CONTAINER_FILTERS))
    )


def build_image_prune(parsed: ParsedOptions, table: OptionTable) -> operations.PruneImages:
    filters = _filters(parsed, table, _PRUNE_IMAGE_FILTERS)
    return operations.PruneImages(all=parsed.flag("all"), filters=_checked_until(filters))


def _checked_until(filters: operations.FilterPairs) -> operations.FilterPairs:
    for key, value in filters:
        if key == "until":
            parse_point_in_time(value, option="--filter until")
    return filters


def build_run(parsed: ParsedOptions, table: OptionTable) -> operations.RunContainer:
    image = parse_image_reference(parsed.positionals[0])
    name = parsed.value("name")
    if name is not None and not _NAME.match(name.removeprefix("/")):
        raise table.error(
            f"Invalid container name {name!r}: use at least two characters from "
            "letters, digits, _ . - (starting with a letter or digit)."
        )
    restart = _restart(parsed.value("restart"), table)
    auto_remove = parsed.flag("rm")
    if auto_remove and restart is not None and restart.name is not operations.RestartName.NO:
        raise table.error("`--rm` and `--restart` conflict: a removed container cannot restart.")
    ports: list[operations.PortMapping] = []
    for spec in parsed.values_of("publish"):
        ports.append(parse_publish(spec))
    check_published_ports(ports)
    volumes: list[operations.VolumeMount] = [
        parse_volume(spec) for spec in parsed.values_of("volume")
    ]
    memory_text = parsed.value("memory")
    memory = None if memory_text is None else parse_size(memory_text, option="--memory")
    if memory is not None and memory < _MIN_MEMORY:
        raise table.error("--memory must be at least 6m (the engine's minimum).")
    cpus_text = parsed.value("cpus")
    pids_text = parsed.value("pids_limit")
    return operations.RunContainer(
        image=image,
        command=tuple(parsed.positionals[1:]),
        detach=parsed.flag("detach"),
        name=name.removeprefix("/") if name else None,
        auto_remove=auto_remove,
        env=tuple(_env(item, table) for item in parsed.values_of("env")),
        labels=tuple(_label(item, table) for item in parsed.values_of("label")),
        ports=tuple(ports),
        volumes=tuple(volumes),
        workdir=_absolute(parsed.value("workdir"), "--workdir", table),
        user=parsed.value("user"),
        entrypoint=parsed.value("entrypoint"),
        restart=restart,
        memory_bytes=memory,
        nano_cpus=None if cpus_text is None else _nano_cpus(cpus_text, table),
        pids_limit=None if pids_text is None else _pids_limit(pids_text, table),
        hostname=parsed.value("hostname"),
        network=_mode(parsed.value("network") or parsed.value("net"), "--network", table),
        privileged=parsed.flag("privileged"),
        cap_add=tuple(parsed.values_of("cap_add")),
        cap_drop=tuple(parsed.values_of("cap_drop")),
        pid_mode=_mode(parsed.value("pid"), "--pid", table),
        ipc_mode=_mode(parsed.value("ipc"), "--ipc", table),
        uts_mode=_mode(parsed.value("uts"), "--uts", table),
        userns_mode=parsed.value("userns"),
        devices=tuple(parsed.values_of("device")),
        security_opt=tuple(parsed.values_of("security_opt")),
    )


def _env(item: str, table: OptionTable) -> tuple[str, str]:
    key, eq, value = item.partition("=")
    if not eq:
        # Docker would copy the variable from the caller's environment: here that is the bot's
        # own environment (tokens and secrets included), so refuse. The word is repeated only
        # when it has a variable name's shape: it may be a value typed without its name.
        name = item if _ENV_NAME_SHAPE.match(item) else "NAME"
        raise table.error(
            f"`-e {name}` has no value. Docker would copy it from the environment of the "
            f"process running the command, which is the bot; write `-e {name}=VALUE`."
        )
    if not _ENV_KEY.match(key):
        # Name the variable, never the value: it may be a secret.
        raise table.error(f"Invalid environment variable name {key!r}: it is empty or has spaces.")
    return key, value


def _label(item: str, table: OptionTable) -> tuple[str, str]:
    key, _, value = item.partition("=")
    if not key:
        raise table.error(f"Invalid label {item!r}: the key is empty.")
    return key, value


def _absolute(path: str | None, option: str, table: OptionTable) -> str | None:
    if path is not None and not path.startswith("/"):
        raise table.error(f"{option} must be an absolute path inside the container, not {path!r}.")
    return path


def _pids_limit(text: str, table: OptionTable) -> int:
    """``--pids-limit N``: at least 1 (Docker's 0 and -1, "unlimited", are the run policy's
    to refuse, so they are not taken here at all)."""
    if not text.isdigit() or not 1 <= int(text) <= 4_194_304:
        raise table.error(f"--pids-limit takes a number of processes from 1, not {text!r}.")
    return int(text)


def _nano_cpus(text: str, table: OptionTable) -> int:
    try:
        cpus = float(text)
    except ValueError:
        raise table.error(f"--cpus takes a number such as 0.5 or 2, not {text!r}.") from None
    # Below 0.01 the engine's share rounds to nothing, which it reads as "no limit".
    if not 0.01 <= cpus <= 1024:
        raise table.error(f"--cpus must be at least 0.01 and at most 1024, not {text}.")
    return round(cpus * 1e9)


def _restart(text: str | None, table: OptionTable) -> operations.RestartPolicy | None:
    if text is None:
        return None
    name_text, colon, count_text = text.partition(":")
    try:
        name = operations.RestartName(name_text)
    except ValueError:
        raise table.error(
            f"Invalid --restart {text!r}: use no, always, unless-stopped or on-failure[:N]."
        ) from None
    if colon and name is not operations.RestartName.ON_FAILURE:
        raise table.error(f"Invalid --restart {text!r}: only on-failure takes a retry count.")
    count = parse_count(count_text, option="--restart on-failure") if colon else 0
    return operations.RestartPolicy(name=name, maximum_retry_count=count)


def build_cleanup(
    parsed: ParsedOptions, table: OptionTable
) -> operations.Cleanup | operations.CleanupStatusQuery:
    if parsed.positionals == ["status"]:
        if parsed.flag("dry_run"):
            raise table.error("`cleanup status` takes no options.")
        return operations.CleanupStatusQuery()
    if parsed.positionals:
        raise table.error(f"Unknown `cleanup` argument {parsed.positionals[0]!r}: try `status`.")
    return operations.Cleanup(dry_run=parsed.flag("dry_run"))


def build_stats(parsed: ParsedOptions, table: OptionTable) -> operations.ShowStats:
    # `--no-stream` is accepted and implied: chat shows one snapshot, never a live stream.
    return operations.ShowStats(
        containers=_containers(parsed, table),
        all=parsed.flag("all"),
        no_trunc=parsed.flag("no_trunc"),
    )


def build_top(parsed: ParsedOptions, table: OptionTable) -> operations.ShowTop:
    if len(parsed.positionals) > 1:
        # ps options would be handed to ps on the engine's host: none is accepted.
        raise table.error(
            "`top` takes only CONTAINER: ps options are not accepted through the bot "
            "(the engine's default columns are shown)."
        )
    return operations.ShowTop(container=_container(parsed.positionals[0], table))


def build_port(parsed: ParsedOptions, table: OptionTable) -> operations.ShowPorts:
    container = _container(parsed.positionals[0], table)
    if len(parsed.positionals) == 1:
        return operations.ShowPorts(container=container)
    text = parsed.positionals[1]
    match = _PRIVATE_PORT.match(text)
    if match is None or not 1 <= int(match.group(1)) <= 65535:
        raise table.error(
            f"Invalid port {text[:20]!r}: use PRIVATE_PORT[/PROTO], e.g. 80 or 53/udp "
            "(a port 1-65535; tcp, udp or sctp)."
        )
    return operations.ShowPorts(
        container=container,
        private_port=int(match.group(1)),
        protocol=operations.PortProtocol(match.group(2) or "tcp"),
    )


def build_system_df(parsed: ParsedOptions, table: OptionTable) -> operations.DiskUsage:
    return operations.DiskUsage()


def build_volume_ls(parsed: ParsedOptions, table: OptionTable) -> operations.ListVolumes:
    filters = _filters(parsed, table, _VOLUME_FILTERS)
    _check_status_filters(filters, table)
    return operations.ListVolumes(quiet=parsed.flag("quiet"), filters=filters)


def build_volume_rm(parsed: ParsedOptions, table: OptionTable) -> operations.RemoveVolumes:
    volumes = _targets(parsed)
    for name in volumes:
        if not _NAME.match(name):
            raise table.error(
                f"Invalid volume name {name[:40]!r}: a volume is named by letters, digits and "
                "_ . - (at least two characters, the first a letter or digit)."
            )
    return operations.RemoveVolumes(volumes=volumes, force=parsed.flag("force"))


def build_upgrade(parsed: ParsedOptions, table: OptionTable) -> operations.UpgradeContainers:
    text = parsed.value("image")
    image = parse_image_reference(text) if text is not None else None
    return operations.UpgradeContainers(containers=_containers(parsed, table), image=image)


def build_rollback(parsed: ParsedOptions, table: OptionTable) -> operations.RollbackContainer:
    return operations.RollbackContainer(container=_container(parsed.positionals[0], table))


# A person as typed in `can`: a user ID, or a chat mention of one (``<@U123|dana>``).
_MENTION = re.compile(r"<@([A-Za-z0-9]{1,64})(?:\|[^>]{0,100})?>\Z")
_USER_ID = re.compile(r"[A-Za-z0-9]{1,64}\Z")


def build_can(parsed: ParsedOptions, table: OptionTable) -> operations.CheckAccess:
    who = parsed.positionals[0]
    mention = _MENTION.match(who)
    user_id = mention.group(1) if mention else who.removeprefix("@")
    if not _USER_ID.match(user_id) or user_id.lower() == user_id:
        raise table.error(
            f"{who[:40]!r} is not a user ID: give the person's ID (U...; in Slack, their "
            "profile's *Copy member ID*), not a display name."
        )
    assert parsed.nested is not None  # the parser parsed the rest (CommandSpec.nests)
    return operations.CheckAccess(user_id=user_id, asked=parsed.nested)


def build_updates(parsed: ParsedOptions, table: OptionTable) -> operations.ListUpdates:
    return operations.ListUpdates()


_MAX_REPLICAS = 1000


def _service(name: str, table: OptionTable) -> str:
    if not _NAME.match(name) or len(name) > 63:
        raise table.error(
            f"Invalid service name {name[:40]!r}: letters, digits and _ . - (a name or an ID)."
        )
    return name


def build_service_ls(parsed: ParsedOptions, table: OptionTable) -> operations.ListServices:
    return operations.ListServices()


def build_service_ps(parsed: ParsedOptions, table: OptionTable) -> operations.ShowServiceTasks:
    return operations.ShowServiceTasks(service=_service(parsed.positionals[0], table))


def build_service_logs(parsed: ParsedOptions, table: OptionTable) -> operations.ShowServiceLogs:
    text = parsed.value("tail")
    tail = 100 if text is None else parse_count(text, option="--tail", maximum=100_000)
    return operations.ShowServiceLogs(service=_service(parsed.positionals[0], table), tail=tail)


def build_service_update(
    parsed: ParsedOptions, table: OptionTable
) -> operations.UpdateServiceImage:
    text = parsed.value("image")
    if text is None:
        raise table.error("`service update` changes a service's image: give `--image REF`.")
    return operations.UpdateServiceImage(
        service=_service(parsed.positionals[0], table), image=parse_image_reference(text)
    )


def build_service_scale(parsed: ParsedOptions, table: OptionTable) -> operations.ScaleService:
    name, equals, count = parsed.positionals[0].partition("=")
    if not equals:
        raise table.error("Give the service and its replicas as SERVICE=N, e.g. `web=3`.")
    replicas = parse_count(count, option="replicas", maximum=_MAX_REPLICAS)
    return operations.ScaleService(service=_service(name, table), replicas=replicas)


def build_service_rollback(parsed: ParsedOptions, table: OptionTable) -> operations.RollbackService:
    return operations.RollbackService(service=_service(parsed.positionals[0], table))


def build_network_ls(parsed: ParsedOptions, table: OptionTable) -> operations.ListNetworks:
    filters = _filters(parsed, table, _NETWORK_FILTERS)
    for key, value in filters:
        if key == "scope" and value not in ("local", "global", "swarm"):
            raise table.error(f"Invalid scope filter {value[:20]!r}: use local, global or swarm.")
        if key == "type" and value not in ("builtin", "custom"):
            raise table.error(f"Invalid type filter {value[:20]!r}: use builtin or custom.")
    return operations.ListNetworks(
        quiet=parsed.flag("quiet"), no_trunc=parsed.flag("no_trunc"), filters=filters
    )


def build_events(parsed: ParsedOptions, table: OptionTable) -> operations.ShowEvents:
    since = _events_duration(parsed.value("since"), "--since", DEFAULT_EVENTS_SINCE, table)
    until = _events_duration(parsed.value("until"), "--until", timedelta(0), table)
    if since > MAX_EVENTS_SPAN:
        raise table.error(
            f"`--since` goes back at most {duration_text(MAX_EVENTS_SPAN)}: events are read "
            "from a bounded window, never followed."
        )
    if until >= since:
        raise table.error(
            "`--until` must be more recent than `--since`: both count back from now "
            "(e.g. `--since 30m --until 10m`)."
        )
    return operations.ShowEvents(
        since=since, until=until, filters=_filters(parsed, table, _EVENT_FILTERS)
    )


def _events_duration(
    text: str | None, option: str, default: timedelta, table: OptionTable
) -> timedelta:
    if text is None:
        return default
    try:
        duration = parse_duration(text, option=option)
    except ParseError:
        raise table.error(
            f"`{option}` takes a duration counted back from now, such as 10m, 1h or 90s, "
            f"not {text[:20]!r}."
        ) from None
    # Whole seconds: what is shown (and stored) reads back as exactly the same window.
    return timedelta(seconds=round(duration.total_seconds()))


def build_approvals(parsed: ParsedOptions, table: OptionTable) -> operations.ListApprovals:
    return operations.ListApprovals()


def build_cancel(parsed: ParsedOptions, table: OptionTable) -> operations.CancelApproval:
    text = parsed.positionals[0].removeprefix("#")
    return operations.CancelApproval(
        approval_id=parse_count(text, option="the request number", minimum=1)
    )


def build_audit(parsed: ParsedOptions, table: OptionTable) -> operations.ShowAudit:
    if not parsed.positionals:
        return operations.ShowAudit()
    return operations.ShowAudit(
        count=parse_count(parsed.positionals[0], option="audit N", minimum=1, maximum=200)
    )


def build_silence(parsed: ParsedOptions, table: OptionTable) -> operations.SilenceContainers:
    pattern, text = parsed.positionals
    problem = pattern_problem(pattern)
    if problem is not None:
        raise table.error(f"Cannot silence that: {problem}.")
    try:
        duration = parse_duration(text, option="silence DURATION")
    except ParseError:
        raise table.error(
            f"`silence` takes how long, such as 1h, 30m or 2d, not {text[:20]!r}."
        ) from None
    # Whole seconds: what is shown (and audited) reads back as exactly the same silence.
    duration = timedelta(seconds=round(duration.total_seconds()))
    if duration <= timedelta(0):
        raise table.error("A silence lasts a positive time, such as 1h.")
    return operations.SilenceContainers(pattern=pattern, duration=duration)


def build_silences(parsed: ParsedOptions, table: OptionTable) -> operations.ListSilences:
    return operations.ListSilences()


def build_unsilence(parsed: ParsedOptions, table: OptionTable) -> operations.Unsilence:
    text = parsed.positionals[0].removeprefix("#")
    return operations.Unsilence(
        silence_id=parse_count(text, option="the silence number", minimum=1)
    )


def _filter_option(what: str, *, short: str | None = "f") -> OptionSpec:
    return OptionSpec(
        long="filter",
        short=short,
        takes_value=True,
        repeatable=True,
        metavar="KEY=VALUE",
        help=f"Filter {what} (repeatable)",
    )


_NOT_IN_CHAT = "chat has no terminal to attach to; use `-d` and then `logs`."
_STOP_TIME = OptionSpec(
    long="time",
    short="t",
    takes_value=True,
    metavar="SECONDS",
    help="Seconds to wait before killing (default 10)",
)

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        name="ps",
        aliases=("container ls", "container list", "container ps"),
        summary="List containers",
        usage="[OPTIONS]",
        max_args=0,
        options=(
            OptionSpec(long="all", short="a", help="Show all containers (default: only running)"),
            OptionSpec(long="quiet", short="q", help="Only show container IDs"),
            OptionSpec(
                long="last",
                short="n",
                takes_value=True,
                metavar="N",
                help="Show the N last created containers (all states)",
            ),
            OptionSpec(long="latest", short="l", help="Show the latest created container"),
            OptionSpec(long="no-trunc", help="Don't truncate output"),
            _filter_option("by status, name, label, ancestor, ..."),
            OptionSpec(long="format", takes_value=True, rejected=_NO_FORMAT),
        ),
        build=build_ps,
        examples=("ps -a", "ps --filter status=exited --filter label=team=web"),
    ),
    CommandSpec(
        name="images",
        aliases=("image ls", "image list"),
        summary="List images",
        usage="[OPTIONS] [REPOSITORY[:TAG]]",
        max_args=1,
        options=(
            OptionSpec(long="all", short="a", help="Show all images (default hides intermediate)"),
            OptionSpec(long="quiet", short="q", help="Only show image IDs"),
            OptionSpec(long="digests", help="Show digests"),
            OptionSpec(long="no-trunc", help="Don't truncate output"),
            _filter_option("by dangling=true|false, label=..., reference=..."),
            OptionSpec(long="format", takes_value=True, rejected=_NO_FORMAT),
        ),
        build=build_images,
        examples=("images", "images --filter dangling=true"),
    ),
    CommandSpec(
        name="pull",
        aliases=("image pull",),
        summary="Download an image from a registry",
        usage="[OPTIONS] NAME[:TAG|@DIGEST]",
        min_args=1,
        max_args=1,
        options=(
            OptionSpec(long="all-tags", short="a", help="Download all tagged images"),
            OptionSpec(
                long="platform",
                takes_value=True,
                metavar="OS/ARCH",
                help="Platform, e.g. linux/arm64",
            ),
            OptionSpec(long="quiet", short="q", help="Suppress progress output"),
        ),
        build=build_pull,
        examples=("pull nginx:1.27", "pull registry.example.com:5000/team/app@sha256:..."),
    ),
    CommandSpec(
        name="run",
        aliases=("container run",),
        summary="Create and start a new container",
        usage="[OPTIONS] IMAGE [COMMAND] [ARG...]",
        min_args=1,
        interspersed=False,
        options=(
            OptionSpec(long="detach", short="d", help="Run in the background; print the ID"),
            OptionSpec(long="name", takes_value=True, metavar="NAME", help="Container name"),
            OptionSpec(long="rm", help="Remove the container when it exits"),
            OptionSpec(
                long="env",
                short="e",
                takes_value=True,
                repeatable=True,
                metavar="KEY=VALUE",
                help="Set an environment variable",
            ),
            OptionSpec(
                long="label",
                short="l",
                takes_value=True,
                repeatable=True,
                metavar="KEY=VALUE",
                help="Set a label",
            ),
            OptionSpec(
                long="publish",
                short="p",
                takes_value=True,
                repeatable=True,
                metavar="[IP:][HOST:]CONTAINER[/PROTO]",
                help="Publish a port",
            ),
            OptionSpec(
                long="volume",
                short="v",
                takes_value=True,
                repeatable=True,
                metavar="SOURCE:TARGET[:ro]",
                help="Mount a host path or a volume",
            ),
            OptionSpec(
                long="workdir",
                short="w",
                takes_value=True,
                metavar="DIR",
                help="Working directory inside the container",
            ),
            OptionSpec(
                long="user",
                short="u",
                takes_value=True,
                metavar="USER[:GROUP]",
                help="User to run as",
            ),
            OptionSpec(
                long="entrypoint",
                takes_value=True,
                metavar="CMD",
                help="Override the image's entrypoint",
            ),
            OptionSpec(
                long="restart",
                takes_value=True,
                metavar="POLICY",
                help="no, always, unless-stopped or on-failure[:N]",
            ),
            OptionSpec(
                long="memory",
                short="m",
                takes_value=True,
                metavar="SIZE",
                help="Memory limit, e.g. 512m",
            ),
            OptionSpec(long="cpus", takes_value=True, metavar="N", help="Number of CPUs, e.g. 1.5"),
            OptionSpec(
                long="pids-limit",
                takes_value=True,
                metavar="N",
                help="Processes the container may hold at once",
            ),
            OptionSpec(
                long="hostname",
                short="h",
                takes_value=True,
                metavar="NAME",
                help="Container host name",
            ),
            OptionSpec(
                long="network", takes_value=True, metavar="NETWORK", help="Connect to a network"
            ),
            OptionSpec(long="net", takes_value=True, metavar="NETWORK", help="Alias of --network"),
            OptionSpec(long="privileged", help="Give extended privileges (run policy decides)"),
            OptionSpec(
                long="cap-add",
                takes_value=True,
                repeatable=True,
                metavar="CAP",
                help="Add a Linux capability (run policy decides)",
            ),
            OptionSpec(
                long="cap-drop",
                takes_value=True,
                repeatable=True,
                metavar="CAP",
                help="Drop a Linux capability",
            ),
            OptionSpec(long="pid", takes_value=True, metavar="MODE", help="PID namespace"),
            OptionSpec(long="ipc", takes_value=True, metavar="MODE", help="IPC namespace"),
            OptionSpec(long="uts", takes_value=True, metavar="MODE", help="UTS namespace"),
            OptionSpec(long="userns", takes_value=True, metavar="MODE", help="User namespace"),
            OptionSpec(
                long="device",
                takes_value=True,
                repeatable=True,
                metavar="HOST[:CTR]",
                help="Add a host device (run policy decides)",
            ),
            OptionSpec(
                long="security-opt",
                takes_value=True,
                repeatable=True,
                metavar="OPT",
                help="Security options, e.g. no-new-privileges",
            ),
            OptionSpec(long="interactive", short="i", rejected=_NOT_IN_CHAT),
            OptionSpec(long="tty", short="t", rejected=_NOT_IN_CHAT),
            OptionSpec(long="attach", short="a", takes_value=True, rejected=_NOT_IN_CHAT),
            OptionSpec(
                long="env-file",
                takes_value=True,
                rejected="the file would be read on the bot's host; use `-e KEY=VALUE`.",
            ),
        ),
        build=build_run,
        examples=(
            "run -d --name web -p 127.0.0.1:8080:80 nginx",
            "run --rm busybox echo hello",
        ),
    ),
    CommandSpec(
        name="rm",
        aliases=("container rm", "container remove"),
        summary="Remove one or more containers",
        usage="[OPTIONS] CONTAINER [CONTAINER...]",
        min_args=1,
        options=(
            OptionSpec(long="force", short="f", help="Force removal of a running container"),
            OptionSpec(long="volumes", short="v", help="Remove anonymous volumes too"),
        ),
        build=_change(operations.ContainerAction.REMOVE),
    ),
    CommandSpec(
        name="rmi",
        aliases=("image rm", "image remove"),
        summary="Remove one or more images",
        usage="[OPTIONS] IMAGE [IMAGE...]",
        min_args=1,
        options=(
            OptionSpec(long="force", short="f", help="Force removal of the image"),
            OptionSpec(long="no-prune", help="Do not delete untagged parents"),
        ),
        build=build_rmi,
    ),
    CommandSpec(
        name="start",
        aliases=("container start",),
        summary="Start one or more stopped containers",
        usage="CONTAINER [CONTAINER...]",
        min_args=1,
        options=(
            OptionSpec(long="attach", short="a", rejected=_NOT_IN_CHAT),
            OptionSpec(long="interactive", short="i", rejected=_NOT_IN_CHAT),
        ),
        build=_change(operations.ContainerAction.START),
    ),
    CommandSpec(
        name="stop",
        aliases=("container stop",),
        summary="Stop one or more running containers",
        usage="[OPTIONS] CONTAINER [CONTAINER...]",
        min_args=1,
        options=(_STOP_TIME,),
        build=_change(operations.ContainerAction.STOP),
    ),
    CommandSpec(
        name="restart",
        aliases=("container restart",),
        summary="Restart one or more containers",
        usage="[OPTIONS] CONTAINER [CONTAINER...]",
        min_args=1,
        options=(_STOP_TIME,),
        build=_change(operations.ContainerAction.RESTART),
    ),
    CommandSpec(
        name="pause",
        aliases=("container pause",),
        summary="Pause all processes within one or more containers",
        usage="CONTAINER [CONTAINER...]",
        min_args=1,
        options=(),
        build=_change(operations.ContainerAction.PAUSE),
    ),
    CommandSpec(
        name="unpause",
        aliases=("container unpause",),
        summary="Unpause all processes within one or more containers",
        usage="CONTAINER [CONTAINER...]",
        min_args=1,
        options=(),
        build=_change(operations.ContainerAction.UNPAUSE),
    ),
    CommandSpec(
        name="logs",
        aliases=("container logs",),
        summary="Fetch the logs of a container",
        usage="[OPTIONS] CONTAINER",
        min_args=1,
        max_args=1,
        options=(
            OptionSpec(
                long="tail",
                short="n",
                takes_value=True,
                metavar="N",
                help="Number of lines from the end (default: all, bounded)",
            ),
            OptionSpec(
                long="since",
                takes_value=True,
                metavar="WHEN",
                help="Since a time (2026-11-29T10:00:00Z) or relative (10m)",
            ),
            OptionSpec(long="timestamps", short="t", help="Show timestamps"),
            OptionSpec(
                long="follow",
                short="f",
                rejected="chat cannot follow a stream; use `--tail N` or `--since 5m`.",
            ),
        ),
        build=build_logs,
        examples=("logs --tail 50 web", "logs --since 10m web"),
    ),
    CommandSpec(
        name="inspect",
        summary="Show low-level information on containers or images",
        usage="[OPTIONS] NAME|ID [NAME|ID...]",
        min_args=1,
        options=(
            OptionSpec(long="type", takes_value=True, metavar="TYPE", help="container or image"),
            OptionSpec(long="format", short="f", takes_value=True, rejected=_NO_FORMAT),
        ),
        build=_inspect(operations.InspectType.ANY),
    ),
    CommandSpec(
        name="container inspect",
        summary="Show low-level information on containers",
        usage="NAME|ID [NAME|ID...]",
        min_args=1,
        options=(OptionSpec(long="format", short="f", takes_value=True, rejected=_NO_FORMAT),),
        build=_inspect(operations.InspectType.CONTAINER),
    ),
    CommandSpec(
        name="image inspect",
        summary="Show low-level information on images",
        usage="IMAGE [IMAGE...]",
        min_args=1,
        options=(OptionSpec(long="format", short="f", takes_value=True, rejected=_NO_FORMAT),),
        build=_inspect(operations.InspectType.IMAGE),
    ),
    CommandSpec(
        name="stats",
        aliases=("container stats",),
        summary=f"One snapshot of resource usage, at most {MAX_STATS_CONTAINERS} containers "
        "(never a live stream)",
        usage="[OPTIONS] [CONTAINER...]",
        max_args=MAX_STATS_CONTAINERS,
        options=(
            OptionSpec(long="all", short="a", help="Show all containers (default: running)"),
            OptionSpec(
                long="no-stream",
                help="One snapshot (always: chat cannot follow a stream; implied)",
            ),
            OptionSpec(long="no-trunc", help="Don't truncate output"),
            OptionSpec(long="format", takes_value=True, rejected=_NO_FORMAT),
        ),
        build=build_stats,
        examples=("stats", "stats --no-stream web db"),
    ),
    CommandSpec(
        name="top",
        aliases=("container top",),
        summary="Show the running processes of a container (no ps options)",
        usage="CONTAINER",
        min_args=1,
        interspersed=False,
        options=(),
        build=build_top,
        examples=("top web",),
    ),
    CommandSpec(
        name="port",
        aliases=("container port",),
        summary="List a container's published ports",
        usage="CONTAINER [PRIVATE_PORT[/PROTO]]",
        min_args=1,
        max_args=2,
        options=(),
        build=build_port,
        examples=("port web", "port web 80/tcp"),
    ),
    CommandSpec(
        name="system df",
        summary="Show the engine's disk usage",
        usage="",
        max_args=0,
        options=(
            OptionSpec(
                long="verbose",
                short="v",
                rejected="not available; see `images`, `ps -a` and `volume ls`.",
            ),
            OptionSpec(long="format", takes_value=True, rejected=_NO_FORMAT),
        ),
        build=build_system_df,
    ),
    CommandSpec(
        name="volume ls",
        aliases=("volume list",),
        summary="List volumes",
        usage="[OPTIONS]",
        max_args=0,
        options=(
            OptionSpec(long="quiet", short="q", help="Only show volume names"),
            _filter_option("by dangling=true|false, driver=..., label=..., name=..."),
            OptionSpec(long="format", takes_value=True, rejected=_NO_FORMAT),
        ),
        build=build_volume_ls,
        examples=("volume ls", "volume ls --filter dangling=true"),
    ),
    CommandSpec(
        name="volume rm",
        aliases=("volume remove",),
        summary="Remove one or more volumes (not in use, not protected)",
        usage="[OPTIONS] VOLUME [VOLUME...]",
        min_args=1,
        options=(
            OptionSpec(
                long="force",
                short="f",
                help="Force the removal (a volume in use is still refused)",
            ),
        ),
        build=build_volume_rm,
        examples=("volume rm web-data", "volume rm -f old-cache old-logs"),
    ),
    CommandSpec(
        name="upgrade",
        aliases=("container upgrade",),
        summary="Pull a container's image and replace the container if it changed: verified, "
        "or rolled back",
        usage="[OPTIONS] CONTAINER [CONTAINER...]",
        min_args=1,
        options=(
            OptionSpec(
                long="image",
                takes_value=True,
                metavar="REF",
                help="Upgrade to this image instead of the container's own reference",
            ),
        ),
        build=build_upgrade,
        examples=("upgrade web", "upgrade --image nginx:1.27 web"),
    ),
    CommandSpec(
        name="can",
        summary="Say whether a person may run a command now, and by which rule (admins)",
        usage="USER COMMAND [OPTIONS] [ARGS]",
        min_args=2,
        options=(),
        build=build_can,
        nests=True,
        examples=("can U0123ABCD restart payments-web", "can U0123ABCD -c prod rm old-job"),
    ),
    CommandSpec(
        name="rollback",
        aliases=("container rollback",),
        summary="Return a container to the image its last upgrade replaced",
        usage="CONTAINER",
        min_args=1,
        max_args=1,
        options=(),
        build=build_rollback,
        examples=("rollback web",),
    ),
    CommandSpec(
        name="updates",
        summary="List running containers whose tag moved in its registry (no pull)",
        usage="",
        max_args=0,
        options=(),
        build=build_updates,
        examples=("updates",),
    ),
    CommandSpec(
        name="service ls",
        aliases=("service list",),
        summary="List a swarm manager's services",
        usage="",
        max_args=0,
        options=(),
        build=build_service_ls,
        examples=("service ls",),
    ),
    CommandSpec(
        name="service ps",
        summary="List a service's tasks",
        usage="SERVICE",
        min_args=1,
        max_args=1,
        options=(),
        build=build_service_ps,
        examples=("service ps web",),
    ),
    CommandSpec(
        name="service logs",
        summary="Show a service's last log lines (bounded, never followed)",
        usage="[OPTIONS] SERVICE",
        min_args=1,
        max_args=1,
        options=(
            OptionSpec(
                long="tail", short="n", takes_value=True, metavar="N", help="Lines (default 100)"
            ),
            OptionSpec(long="follow", short="f", rejected="a chat answer cannot follow a stream"),
        ),
        build=build_service_logs,
        examples=("service logs web", "service logs -n 20 web"),
    ),
    CommandSpec(
        name="service update",
        summary="Roll a service to another image; the engine rolls back a failure",
        usage="--image REF SERVICE",
        min_args=1,
        max_args=1,
        options=(OptionSpec(long="image", takes_value=True, metavar="REF", help="The new image"),),
        build=build_service_update,
        examples=("service update --image nginx:1.27 web",),
    ),
    CommandSpec(
        name="service scale",
        summary="Set a replicated service's number of tasks",
        usage="SERVICE=N",
        min_args=1,
        max_args=1,
        options=(),
        build=build_service_scale,
        examples=("service scale web=3",),
    ),
    CommandSpec(
        name="service rollback",
        summary="Return a service to its previous spec",
        usage="SERVICE",
        min_args=1,
        max_args=1,
        options=(),
        build=build_service_rollback,
        examples=("service rollback web",),
    ),
    CommandSpec(
        name="network ls",
        aliases=("network list",),
        summary="List networks",
        usage="[OPTIONS]",
        max_args=0,
        options=(
            OptionSpec(long="quiet", short="q", help="Only show network IDs"),
            OptionSpec(long="no-trunc", help="Don't truncate output"),
            _filter_option("by driver, id, label, name, scope=local|global|swarm, type"),
            OptionSpec(long="format", takes_value=True, rejected=_NO_FORMAT),
        ),
        build=build_network_ls,
        examples=("network ls", "network ls --filter driver=bridge"),
    ),
    CommandSpec(
        name="events",
        aliases=("system events",),
        summary=f"Past engine events, at most {duration_text(MAX_EVENTS_SPAN)} back, the newest "
        f"{MAX_EVENTS_SHOWN} (never a live stream)",
        usage="[--since DURATION] [--until DURATION] [OPTIONS]",
        max_args=0,
        options=(
            OptionSpec(
                long="since",
                takes_value=True,
                metavar="DURATION",
                help="Start this long ago, e.g. 30m (default "
                f"{duration_text(DEFAULT_EVENTS_SINCE)}, at most {duration_text(MAX_EVENTS_SPAN)})",
            ),
            OptionSpec(
                long="until",
                takes_value=True,
                metavar="DURATION",
                help="End this long ago, e.g. 5m (default: now)",
            ),
            _filter_option("by container, event, image, label, network, type, volume"),
            OptionSpec(long="format", takes_value=True, rejected=_NO_FORMAT),
        ),
        build=build_events,
        examples=("events --since 30m", "events --since 1h --until 30m --filter event=die"),
    ),
    CommandSpec(
        name="container prune",
        summary="Remove all stopped containers",
        usage="[OPTIONS]",
        max_args=0,
        options=(
            OptionSpec(long="force", short="f", help="Accepted for compatibility"),
            _filter_option("by until=DURATION|TIME, label=..., label!=...", short=None),
        ),
        build=build_container_prune,
    ),
    CommandSpec(
        name="image prune",
        summary="Remove unused images (dangling only, unless -a)",
        usage="[OPTIONS]",
        max_args=0,
        options=(
            OptionSpec(long="all", short="a", help="Remove all unused images, not just dangling"),
            OptionSpec(long="force", short="f", help="Accepted for compatibility"),
            _filter_option("by until=DURATION|TIME, label=..., label!=...", short=None),
        ),
        build=build_image_prune,
    ),
    CommandSpec(
        name="cleanup",
        summary="Remove dead containers and dangling images past their grace periods",
        usage="[--dry-run] | status",
        max_args=1,
        options=(OptionSpec(long="dry-run", help="Show what would be removed; remove nothing"),),
        build=build_cleanup,
        examples=("cleanup --dry-run", "cleanup status"),
    ),
    CommandSpec(
        name="approvals",
        summary="List pending approval requests",
        usage="",
        max_args=0,
        options=(),
        build=build_approvals,
    ),
    CommandSpec(
        name="cancel",
        summary="Withdraw your approval request N",
        usage="N",
        min_args=1,
        max_args=1,
        options=(),
        build=build_cancel,
        examples=("cancel 12",),
    ),
    CommandSpec(
        name="silence",
        summary="No notices about a container (or a glob of names) for a while (operators)",
        usage="CONTAINER|GLOB DURATION",
        min_args=2,
        max_args=2,
        options=(),
        build=build_silence,
        examples=("silence api 1h", "silence ci-* 24h"),
    ),
    CommandSpec(
        name="silences",
        summary="List the silences in force",
        usage="",
        max_args=0,
        options=(),
        build=build_silences,
    ),
    CommandSpec(
        name="unsilence",
        summary="End silence N now (operators)",
        usage="N",
        min_args=1,
        max_args=1,
        options=(),
        build=build_unsilence,
        examples=("unsilence 3",),
    ),
    CommandSpec(
        name="audit",
        summary="Show the newest audit log entries (admins)",
        usage="[N]",
        max_args=1,
        options=(),
        build=build_audit,
        examples=("audit 50",),
    ),
)


def command_index() -> dict[str, CommandSpec]:
    """Every spelling (name and aliases) -> its spec."""
    index: dict[str, CommandSpec] = {}
    for spec in COMMANDS:
        for spelling in (spec.name, *spec.aliases):
            index[spelling] = spec
    return index
