"""Engine API documents -> neutral result rows. Pure functions over dicts; no I/O."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.core import redaction
from bot.core.humanize import human_size
from bot.core.operations import MountKind, PortMapping, RunContainer, VolumeMount
from bot.core.parsing.ports import check_published_ports
from bot.core.plans import ObjectKind
from bot.core.results import (
    ContainerRow,
    DiskUsageResult,
    DiskUsageRow,
    EngineEvent,
    ImageRow,
    InspectItem,
    NetworkRow,
    PublishedPort,
    StatsRow,
    VolumeRow,
)

if TYPE_CHECKING:
    import docker.types

REDACTED = redaction.REDACTED


def secret_values(doc: dict[str, Any]) -> list[str]:
    """The values of a container's environment (an inspect document) that could be secrets,
    longest first: what is redacted from its command, logs and process lists."""
    config = doc.get("Config") if isinstance(doc.get("Config"), dict) else None
    return list(redaction.secret_values((config or {}).get("Env") or []))


def container_row(doc: dict[str, Any], secrets: Sequence[str] = ()) -> ContainerRow:
    """A listing's row; its command redacted (``secrets``: the container's environment values)
    before any renderer cuts it."""
    return ContainerRow(
        id=doc["Id"],
        image=doc.get("Image") or "",
        command=redaction.redact(str(doc.get("Command") or ""), secrets),
        created=_epoch(doc.get("Created")),
        status=doc.get("Status") or "",
        state=doc.get("State") or "",
        ports=tuple(
            PublishedPort(
                container_port=int(port.get("PrivatePort", 0)),
                protocol=port.get("Type", "tcp"),
                host_ip=port.get("IP"),
                host_port=port.get("PublicPort"),
            )
            for port in doc.get("Ports") or ()
        ),
        names=tuple(name.lstrip("/") for name in doc.get("Names") or ()),
        labels=dict(doc.get("Labels") or {}),
    )


def image_rows(doc: dict[str, Any]) -> list[ImageRow]:
    """One row per repository:tag, like ``docker images``; one ``<none>`` row if untagged."""
    created = _epoch(doc.get("Created"))
    size = int(doc.get("Size") or 0)
    digests: dict[str, str] = {}
    for repo_digest in doc.get("RepoDigests") or ():
        if repo_digest == "<none>@<none>":
            continue
        repository, _, digest = repo_digest.partition("@")
        digests.setdefault(repository, digest)
    tags = [tag for tag in doc.get("RepoTags") or () if tag != "<none>:<none>"]
    if not tags:
        digest = next(iter(digests.values()), None)
        repo = next(iter(digests), None)
        return [
            ImageRow(
                id=doc["Id"], repository=repo, tag=None, digest=digest, created=created, size=size
            )
        ]
    rows = []
    for repo_tag in tags:
        repository, _, tag = repo_tag.rpartition(":")
        rows.append(
            ImageRow(
                id=doc["Id"],
                repository=repository,
                tag=tag,
                digest=digests.get(repository),
                created=created,
                size=size,
            )
        )
    return rows


def exposed_ports(ports: tuple[PortMapping, ...]) -> list[tuple[int, str]]:
    """``-p`` mappings as docker-py's ``ports`` (ExposedPorts): each container port once."""
    check_published_ports(ports)  # the expansion below is bounded by the cap
    exposed: dict[tuple[int, str], None] = {}
    for port in ports:
        for offset in range(port.container_count):
            exposed[(port.container_port + offset, port.protocol.value)] = None
    return list(exposed)


def port_bindings(ports: tuple[PortMapping, ...]) -> dict[int | str, list[Any]]:
    """``-p`` mappings in docker-py's ``port_bindings`` form: one key per container port.

    A container range maps port by port onto its host range; one container port keeps a host
    range whole (``"8000-8010"``) for the engine to pick from, as the Docker CLI sends it.
    """
    check_published_ports(ports)  # the expansion below is bounded by the cap
    bindings: dict[int | str, list[Any]] = {}
    for port in ports:
        for offset in range(port.container_count):
            key = f"{port.container_port + offset}/{port.protocol.value}"
            host_port: str | None
            if port.host_port is None:
                host_port = None
            elif port.container_count > 1:
                host_port = str(port.host_port + offset)
            else:
                host_port = port.host_port_text()
            if port.host_ip is not None:
                binding: Any = (port.host_ip, host_port) if host_port else (port.host_ip,)
            else:
                binding = host_port
            bindings.setdefault(key, []).append(binding)
    return bindings


_PROPAGATION = ("shared", "rshared", "slave", "rslave", "private", "rprivate")


def binds_and_volumes(
    mounts: tuple[VolumeMount, ...],
) -> tuple[list[str], list[docker.types.Mount], list[str]]:
    """(``binds`` and ``mounts`` for the host config, anonymous volume targets for the
    container config).

    Host paths go through the Mounts API: unlike ``-v``'s binds, it refuses a source that does
    not exist instead of creating it on the host as root. Only an allowed SELinux relabel
    (``z``/``Z``), which the Mounts API cannot express, keeps the binds form.
    """
    import docker.types  # the docker SDK only for `run`: listings need none of it

    binds: list[str] = []
    host_mounts: list[docker.types.Mount] = []
    anonymous: list[str] = []
    for mount in mounts:
        if mount.kind is MountKind.ANONYMOUS:
            anonymous.append(mount.target)
        elif mount.kind is MountKind.BIND and not {"z", "Z"} & set(mount.options):
            propagation = next((o for o in mount.options if o in _PROPAGATION), None)
            host_mounts.append(
                docker.types.Mount(
                    target=mount.target,
                    source=mount.source or "",
                    type="bind",
                    read_only=mount.read_only,
                    propagation=propagation,
                )
            )
        else:
            options = f":{','.join(mount.options)}" if mount.options else ""
            binds.append(f"{mount.source}:{mount.target}{options}")
    return binds, host_mounts, anonymous


def generated_name(op: RunContainer, doc: dict[str, Any]) -> str:
    return op.name or str(doc.get("Name", "")).lstrip("/")


def redact(doc: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of an inspect document (container or image) fit to show: every environment
    value replaced; the command, entrypoint, healthcheck, health log and label values rid of
    the environment's values and of secret shapes; secret shapes out of every other text."""
    clean = copy.deepcopy(doc)
    secrets = _environment_secrets(doc)

    def known(value: Any) -> Any:
        return _texts(value, lambda text: redaction.redact(text, secrets))

    for key in ("Path", "Args"):
        if key in clean:
            clean[key] = known(clean[key])
    for section in ("Config", "ContainerConfig"):
        config = clean.get(section)
        if not isinstance(config, dict):
            continue
        if isinstance(config.get("Env"), list):
            config["Env"] = [_redact_env(str(item)) for item in config["Env"]]
        for key in ("Cmd", "Entrypoint", "Healthcheck", "Labels"):
            if key in config:
                config[key] = known(config[key])
    # A log driver's options hold its credentials (splunk-token, awslogs keys...), like Env.
    log_config = (clean.get("HostConfig") or {}).get("LogConfig")
    if isinstance(log_config, dict) and isinstance(log_config.get("Config"), dict):
        log_config["Config"] = {key: REDACTED for key in log_config["Config"]}
    health = (clean.get("State") or {}).get("Health")
    if isinstance(health, dict) and "Log" in health:
        health["Log"] = known(health["Log"])
    return dict(_texts(clean, redaction.redact))


def _environment_secrets(doc: dict[str, Any]) -> list[str]:
    env: list[Any] = []
    for section in ("Config", "ContainerConfig"):
        config = doc.get(section)
        if isinstance(config, dict) and isinstance(config.get("Env"), list):
            env.extend(config["Env"])
    return list(redaction.secret_values(env))


def _texts(value: Any, change: Callable[[str], str]) -> Any:
    """``value`` with ``change`` applied to every string in it (mapping keys kept, but judged
    with their value: ``{"db.password": "x"}`` is the secret ``db.password=x``)."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {key: _keyed(str(key), item, change) for key, item in value.items()}
    if isinstance(value, list):
        return [_texts(item, change) for item in value]
    return value


def _keyed(key: str, value: Any, change: Callable[[str], str]) -> Any:
    """A mapping's value, changed as ``key=value`` would be (a secret-named key redacts it)."""
    if not isinstance(value, str):
        return _texts(value, change)
    whole = change(f"{key}={value}")
    if whole.startswith(f"{key}=") and whole != f"{key}={value}":
        return whole[len(key) + 1 :]
    return change(value)


def _env_names(config: dict[str, Any]) -> str:
    return ", ".join(str(item).partition("=")[0] for item in config.get("Env") or [])


def _redact_env(item: str) -> str:
    key, eq, _ = item.partition("=")
    return f"{key}={REDACTED}" if eq else key


def container_item(raw: dict[str, Any]) -> InspectItem:
    doc = redact(raw)  # the summary is made of the document as shown
    state = doc.get("State") or {}
    config = doc.get("Config") or {}
    host = doc.get("HostConfig") or {}
    networks = (doc.get("NetworkSettings") or {}).get("Networks") or {}
    status = str(state.get("Status", ""))
    if status == "exited":
        status += f" (code {state.get('ExitCode')})"
    if state.get("OOMKilled"):
        status += ", OOM-killed"
    health = (state.get("Health") or {}).get("Status")
    summary = [
        ("Name", str(doc.get("Name", "")).lstrip("/")),
        ("ID", str(doc.get("Id", ""))),
        ("Image", str(config.get("Image", ""))),
        ("Status", status + (f", {health}" if health else "")),
        ("Created", str(doc.get("Created", ""))),
        ("Started", str(state.get("StartedAt", ""))),
        ("Finished", str(state.get("FinishedAt", ""))),
        ("Command", " ".join([str(doc.get("Path", "")), *map(str, doc.get("Args") or [])]).strip()),
        ("Restart policy", str((host.get("RestartPolicy") or {}).get("Name") or "no")),
        ("Restarts", str(doc.get("RestartCount", 0))),
        ("Ports", _ports_text((doc.get("NetworkSettings") or {}).get("Ports") or {})),
        ("Mounts", ", ".join(_mount_text(m) for m in doc.get("Mounts") or []) or "none"),
        (
            "Networks",
            ", ".join(
                f"{name} {net.get('IPAddress') or ''}".strip() for name, net in networks.items()
            )
            or "none",
        ),
        ("Environment", _env_names(config)),
        ("Labels", _labels_text(config.get("Labels") or {})),
    ]
    return InspectItem(
        kind=ObjectKind.CONTAINER,
        id=str(doc.get("Id", "")),
        name=str(doc.get("Name", "")).lstrip("/"),
        summary=tuple((key, value) for key, value in summary if value),
        document=doc,
    )


def image_item(raw: dict[str, Any]) -> InspectItem:
    doc = redact(raw)
    config = doc.get("Config") or {}
    tags = doc.get("RepoTags") or []
    summary = [
        ("ID", str(doc.get("Id", ""))),
        ("Tags", ", ".join(tags) or "<none>"),
        ("Digests", ", ".join(doc.get("RepoDigests") or [])),
        ("Created", str(doc.get("Created", ""))),
        ("Size", human_size(int(doc.get("Size") or 0))),
        ("Platform", f"{doc.get('Os', '')}/{doc.get('Architecture', '')}".strip("/")),
        ("Entrypoint", " ".join(config.get("Entrypoint") or [])),
        ("Cmd", " ".join(config.get("Cmd") or [])),
        ("Exposed ports", ", ".join(sorted(config.get("ExposedPorts") or {}))),
        (
            "Environment",
            ", ".join(_redact_env(e).partition("=")[0] for e in config.get("Env") or []),
        ),
        ("Labels", _labels_text(config.get("Labels") or {})),
    ]
    return InspectItem(
        kind=ObjectKind.IMAGE,
        id=str(doc.get("Id", "")),
        name=tags[0] if tags else str(doc.get("Id", ""))[:19],
        summary=tuple((key, value) for key, value in summary if value),
        document=doc,
    )


def _ports_text(ports: dict[str, Any]) -> str:
    parts = []
    for container_port, bindings in sorted(ports.items()):
        if not bindings:
            parts.append(container_port)
        for binding in bindings or []:
            parts.append(
                f"{binding.get('HostIp') or '0.0.0.0'}:{binding.get('HostPort')}->{container_port}"
            )
    return ", ".join(parts) or "none"


def _mount_text(mount: dict[str, Any]) -> str:
    source = mount.get("Name") if mount.get("Type") == "volume" else mount.get("Source")
    mode = "" if mount.get("RW", True) else " (ro)"
    return f"{source}:{mount.get('Destination')}{mode}"


def _labels_text(labels: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(labels.items()))


def _epoch(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value or 0), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.fromtimestamp(0, tz=UTC)


# -- diagnostics ----------------------------------------------------------------------------


def stats_row(doc: dict[str, Any], *, fallback_id: str, fallback_name: str) -> StatsRow:
    """A stats document (with ``precpu_stats`` filled) as ``docker stats`` computes it."""
    cpu = doc.get("cpu_stats") or {}
    precpu = doc.get("precpu_stats") or {}
    memory = doc.get("memory_stats") or {}
    usage = memory_usage(memory)
    limit = _int(memory.get("limit"))
    rx = tx = 0
    for network in (doc.get("networks") or {}).values():
        rx += _int(network.get("rx_bytes"))
        tx += _int(network.get("tx_bytes"))
    read = write = 0
    for entry in (doc.get("blkio_stats") or {}).get("io_service_bytes_recursive") or ():
        operation = str(entry.get("op", "")).lower()
        if operation == "read":
            read += _int(entry.get("value"))
        elif operation == "write":
            write += _int(entry.get("value"))
    return StatsRow(
        id=str(doc.get("id") or fallback_id),
        name=str(doc.get("name") or fallback_name).lstrip("/"),
        cpu_percent=cpu_percent(cpu, precpu),
        memory_usage=usage,
        memory_limit=limit,
        memory_percent=usage / limit * 100 if limit else 0.0,
        net_rx=rx,
        net_tx=tx,
        block_read=read,
        block_write=write,
        pids=_int((doc.get("pids_stats") or {}).get("current")),
    )


def cpu_percent(cpu: dict[str, Any], precpu: dict[str, Any]) -> float:
    """The Docker CLI's CPU %: container delta / system delta * online CPUs * 100."""
    cpu_usage = cpu.get("cpu_usage") or {}
    cpu_delta = _int(cpu_usage.get("total_usage")) - _int(
        (precpu.get("cpu_usage") or {}).get("total_usage")
    )
    system_delta = _int(cpu.get("system_cpu_usage")) - _int(precpu.get("system_cpu_usage"))
    online = _int(cpu.get("online_cpus")) or len(cpu_usage.get("percpu_usage") or ())
    if system_delta > 0 and cpu_delta > 0:
        return cpu_delta / system_delta * online * 100.0
    return 0.0


def memory_usage(memory: dict[str, Any]) -> int:
    """Usage without the inactive page cache, as the Docker CLI shows it: cgroup v1's
    ``total_inactive_file``, cgroup v2's ``inactive_file`` (older CLIs took ``cache``)."""
    usage = _int(memory.get("usage"))
    stats = memory.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file", "cache"):
        if key in stats:
            cache = _int(stats[key])
            return usage - cache if cache < usage else usage
    return usage


def published_ports(doc: dict[str, Any]) -> tuple[PublishedPort, ...]:
    """The published ports of an inspected container, in port order (``docker port``)."""
    ports: list[PublishedPort] = []
    for key, bindings in ((doc.get("NetworkSettings") or {}).get("Ports") or {}).items():
        number, _, protocol = str(key).partition("/")
        for binding in bindings or ():
            host_port = str(binding.get("HostPort") or "")
            if not number.isdigit() or not host_port.isdigit():
                continue
            ports.append(
                PublishedPort(
                    container_port=int(number),
                    protocol=protocol or "tcp",
                    host_ip=binding.get("HostIp") or "0.0.0.0",
                    host_port=int(host_port),
                )
            )
    ports.sort(key=lambda p: (p.container_port, p.protocol, p.host_ip or "", p.host_port or 0))
    return tuple(ports)


def disk_usage(doc: dict[str, Any]) -> DiskUsageResult:
    """``GET /system/df`` as the Docker CLI's ``system df`` summary computes it."""
    images = doc.get("Images") or []
    layers = _int(doc.get("LayersSize"))
    used = sum(
        _int(i.get("VirtualSize") or i.get("Size")) - _int(i.get("SharedSize"))
        for i in images
        if _int(i.get("Containers")) > 0 and _int(i.get("SharedSize")) != -1
    )
    containers = doc.get("Containers") or []
    container_size = sum(_int(c.get("SizeRw")) for c in containers)
    idle = sum(_int(c.get("SizeRw")) for c in containers if c.get("State") != "running")
    volumes = doc.get("Volumes") or []
    usage = [v.get("UsageData") or {} for v in volumes]
    volume_size = sum(_int(u.get("Size")) for u in usage if _int(u.get("Size")) != -1)
    unused = sum(
        _int(u.get("Size"))
        for u in usage
        if _int(u.get("Size")) != -1 and _int(u.get("RefCount")) == 0
    )
    cache = doc.get("BuildCache") or []
    cache_size = sum(_int(c.get("Size")) for c in cache if not c.get("Shared"))
    in_use = sum(_int(c.get("Size")) for c in cache if c.get("InUse") and not c.get("Shared"))
    return DiskUsageResult(
        rows=(
            _usage_row(
                "Images",
                len(images),
                sum(_int(i.get("Containers")) > 0 for i in images),
                layers,
                layers - used,
            ),
            _usage_row(
                "Containers",
                len(containers),
                sum(c.get("State") == "running" for c in containers),
                container_size,
                idle,
            ),
            _usage_row(
                "Local Volumes",
                len(volumes),
                sum(_int(u.get("RefCount")) > 0 for u in usage),
                volume_size,
                unused,
            ),
            DiskUsageRow(
                type="Build Cache",
                total=len(cache),
                active=sum(bool(c.get("InUse")) for c in cache),
                size=cache_size,
                reclaimable=max(0, _int(doc.get("BuilderSize")) - in_use),
                reclaimable_percent=None,
            ),
        )
    )


def _usage_row(kind: str, total: int, active: int, size: int, reclaimable: int) -> DiskUsageRow:
    # The CLI shows a whole percentage only when there is something at all.
    percent = reclaimable * 100 // size if size > 0 else None
    return DiskUsageRow(
        type=kind,
        total=total,
        active=active,
        size=size,
        reclaimable=reclaimable,
        reclaimable_percent=percent,
    )


def volume_row(doc: dict[str, Any]) -> VolumeRow:
    return VolumeRow(driver=str(doc.get("Driver") or ""), name=str(doc.get("Name") or ""))


def network_row(doc: dict[str, Any]) -> NetworkRow:
    return NetworkRow(
        id=str(doc.get("Id") or ""),
        name=str(doc.get("Name") or ""),
        driver=str(doc.get("Driver") or ""),
        scope=str(doc.get("Scope") or ""),
    )


def engine_event(doc: dict[str, Any]) -> EngineEvent:
    """One event as data; whatever shape the engine sent, within bounds (a time in range,
    attributes a mapping, texts cut, secret shapes redacted), and without the command lines of
    ``exec_create: …`` and ``exec_start: …`` actions (a ``docker exec`` line can hold a
    password)."""
    found = doc.get("Actor")
    actor: dict[str, Any] = found if isinstance(found, dict) else {}
    found = actor.get("Attributes")
    attributes: dict[str, Any] = found if isinstance(found, dict) else {}
    time_ns = _int(doc.get("timeNano")) or _int(doc.get("time")) * 1_000_000_000
    action = str(doc.get("Action") or doc.get("status") or "")
    if action.startswith(("exec_create:", "exec_start:")):
        action = action.partition(":")[0]
    return EngineEvent(
        time_ns=min(max(time_ns, 0), _LATEST_NS),
        type=str(doc.get("Type") or "")[:_EVENT_TEXT],
        action=action[:_EVENT_TEXT],
        actor_id=str(actor.get("ID") or doc.get("id") or "")[:_EVENT_TEXT],
        attributes=tuple(
            sorted(
                (str(k)[:_EVENT_TEXT], _event_text(str(k), str(v))) for k, v in attributes.items()
            )
        )[:_EVENT_ATTRIBUTES],
    )


def _event_text(key: str, value: str) -> str:
    """The head of an attribute's value, redacted first (labels may hold secrets, and a
    secret-named label's value is one): the margin keeps any secret that starts in the head
    whole."""
    head = value[: _EVENT_TEXT + redaction.TAIL_MARGIN]
    return str(_keyed(key, head, redaction.redact))[:_EVENT_TEXT]


_LATEST_NS = 253_402_300_799 * 1_000_000_000  # 9999-12-31T23:59:59Z: datetime's last second
_EVENT_TEXT = 500  # characters of one event field
_EVENT_ATTRIBUTES = 50


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
