"""Docker-style listing columns, shared by every renderer: headers and cell text per row."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.results import (
    ContainerList,
    ContainerRow,
    DiskUsageResult,
    EngineEvent,
    ImageList,
    ImageRow,
    NetworkList,
    PortList,
    PublishedPort,
    ServiceList,
    StatsResult,
    StatsRow,
    TaskList,
    TopResult,
    UpdateList,
    VolumeList,
)
from bot.render.humanize import ago, binary_size, ellipsis, human_size, short_id

CONTAINER_HEADERS: tuple[str, ...] = (
    "CONTAINER ID",
    "IMAGE",
    "COMMAND",
    "CREATED",
    "STATUS",
    "PORTS",
    "NAMES",
)


def ports_text(ports: tuple[PublishedPort, ...]) -> str:
    """``0.0.0.0:8000-8003->8000-8003/tcp, 9000/udp`` as ``docker ps`` shows them.

    As docker/cli's ``DisplayablePorts``: ports sorted; consecutive container ports published
    on the same host port numbers, host IP and protocol collapse into one range (so do
    consecutive unpublished ones); other mappings follow, one by one.
    """
    ordered = sorted(
        ports, key=lambda p: (p.container_port, _host_ip(p), p.host_port or 0, p.protocol)
    )
    groups: dict[tuple[str, str], list[int]] = {}  # (host IP, protocol) -> [first, last]
    parts: list[str] = []
    mappings: list[str] = []
    for port in ordered:
        ip, current = _host_ip(port), port.container_port
        if ip and port.host_port != current:
            target = f"{current}/{port.protocol}"
            mappings.append(f"{_join_host_port(ip, str(port.host_port))}->{target}")
            continue
        key = (ip, port.protocol)
        group = groups.get(key)
        if group is not None and current == group[1] + 1:
            group[1] = current
            continue
        if group is not None:
            parts.append(_port_group(key, group))
        groups[key] = [current, current]  # a key keeps its first place, as in the CLI
    parts += [_port_group(key, group) for key, group in groups.items()]
    return ", ".join(parts + mappings)


def _host_ip(port: PublishedPort) -> str:
    """The host IP of a published port ("" when unpublished)."""
    if port.host_port is None:
        return ""
    return port.host_ip or "0.0.0.0"


def _join_host_port(host: str, port: str) -> str:
    """Go's ``net.JoinHostPort``: IPv6 addresses in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _port_group(key: tuple[str, str], group: list[int]) -> str:
    ip, protocol = key
    first, last = group
    text = str(first) if first == last else f"{first}-{last}"
    if ip:
        text = f"{_join_host_port(ip, text)}->{text}"
    return f"{text}/{protocol}"


def container_cells(row: ContainerRow, *, now: datetime, no_trunc: bool) -> tuple[str, ...]:
    image = short_id(row.image) if row.image.startswith("sha256:") and not no_trunc else row.image
    command = row.command if no_trunc else ellipsis(row.command, 20)
    return (
        row.id if no_trunc else short_id(row.id),
        image,
        f'"{command}"',
        ago(row.created, now=now),
        row.status,
        ports_text(row.ports),
        ",".join(row.names),
    )


def container_table(result: ContainerList, *, now: datetime) -> list[tuple[str, ...]]:
    return [container_cells(row, now=now, no_trunc=result.no_trunc) for row in result.rows]


def image_headers(result: ImageList) -> tuple[str, ...]:
    digest = ("DIGEST",) if result.digests else ()
    return ("REPOSITORY", "TAG", *digest, "IMAGE ID", "CREATED", "SIZE")


def image_cells(row: ImageRow, *, now: datetime, digests: bool, no_trunc: bool) -> tuple[str, ...]:
    digest = ((row.digest or "<none>"),) if digests else ()
    return (
        row.repository or "<none>",
        row.tag or "<none>",
        *digest,
        row.id if no_trunc else short_id(row.id),
        ago(row.created, now=now),
        human_size(row.size),
    )


def image_table(result: ImageList, *, now: datetime) -> list[tuple[str, ...]]:
    return [
        image_cells(row, now=now, digests=result.digests, no_trunc=result.no_trunc)
        for row in result.rows
    ]


def quiet_ids(ids: list[str], *, no_trunc: bool) -> list[str]:
    """IDs for ``-q``: unique, in order, short unless ``--no-trunc``."""
    shown = ids if no_trunc else [short_id(identifier) for identifier in ids]
    return list(dict.fromkeys(shown))


# -- diagnostics ----------------------------------------------------------------------------

STATS_HEADERS: tuple[str, ...] = (
    "CONTAINER ID",
    "NAME",
    "CPU %",
    "MEM USAGE / LIMIT",
    "MEM %",
    "NET I/O",
    "BLOCK I/O",
    "PIDS",
)
DISK_USAGE_HEADERS: tuple[str, ...] = ("TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE")
VOLUME_HEADERS: tuple[str, ...] = ("DRIVER", "VOLUME NAME")
NETWORK_HEADERS: tuple[str, ...] = ("NETWORK ID", "NAME", "DRIVER", "SCOPE")


def stats_cells(row: StatsRow, *, no_trunc: bool) -> tuple[str, ...]:
    """A ``docker stats`` row; ``--`` where the engine gave no sample, as the CLI does."""
    ident = row.id if no_trunc else short_id(row.id)
    if not row.sampled:
        return (ident, row.name, *(["--"] * 6))
    return (
        ident,
        row.name,
        f"{row.cpu_percent:.2f}%",
        f"{binary_size(row.memory_usage)} / {binary_size(row.memory_limit)}",
        f"{row.memory_percent:.2f}%",
        f"{human_size(row.net_rx)} / {human_size(row.net_tx)}",
        f"{human_size(row.block_read)} / {human_size(row.block_write)}",
        str(row.pids),
    )


def stats_table(result: StatsResult) -> list[tuple[str, ...]]:
    return [stats_cells(row, no_trunc=result.no_trunc) for row in result.rows]


def top_table(result: TopResult) -> list[tuple[str, ...]]:
    """The processes, each cut or padded to the titles' width (engine rows may be ragged)."""
    width = len(result.titles)
    return [(*process[:width], *([""] * (width - len(process)))) for process in result.processes]


def port_lines(result: PortList) -> list[str]:
    """``80/tcp -> 0.0.0.0:8080``, or only ``0.0.0.0:8080`` for one chosen port (``docker
    port``)."""
    lines = []
    for port in result.ports:
        host = _join_host_port(port.host_ip or "0.0.0.0", str(port.host_port))
        lines.append(
            host if result.selected else f"{port.container_port}/{port.protocol} -> {host}"
        )
    return lines


def disk_usage_table(result: DiskUsageResult) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for row in result.rows:
        reclaimable = human_size(row.reclaimable, precision=4)
        if row.reclaimable_percent is not None:
            reclaimable += f" ({row.reclaimable_percent}%)"
        size = human_size(row.size, precision=4)
        rows.append((row.type, str(row.total), str(row.active), size, reclaimable))
    return rows


def volume_table(result: VolumeList) -> list[tuple[str, ...]]:
    return [(row.driver, row.name) for row in result.rows]


def network_table(result: NetworkList) -> list[tuple[str, ...]]:
    return [
        (row.id if result.no_trunc else short_id(row.id), row.name, row.driver, row.scope)
        for row in result.rows
    ]


def event_line(event: EngineEvent) -> str:
    """``docker events``' line: ``2026-11-29T20:00:00.000000000Z container die ID (k=v, ...)``."""
    seconds, nanos = divmod(event.time_ns, 1_000_000_000)
    try:
        when = f"{datetime.fromtimestamp(seconds, tz=UTC):%Y-%m-%dT%H:%M:%S}.{nanos:09d}Z"
    except (OverflowError, OSError, ValueError):  # a time no calendar holds: shown as sent
        when = f"time_ns={event.time_ns}"
    line = f"{when} {event.type} {event.action} {event.actor_id}"
    if event.attributes:
        line += " (" + ", ".join(f"{key}={value}" for key, value in event.attributes) + ")"
    # One event a line, whatever a label or name holds: the lines are cut and kept by line.
    return " ".join(line.splitlines())


UPDATE_HEADERS: tuple[str, ...] = ("CONTAINER", "TAG", "RUNS", "AVAILABLE", "BUILT")


def _digest(digest: str | None) -> str:
    """The first 12 hex digits of ``sha256:…``: enough to tell, as short IDs are."""
    return short_id(digest) if digest else "(never pushed)"


def update_table(result: UpdateList, *, now: datetime) -> list[tuple[str, ...]]:
    return [
        (
            row.container,
            row.reference,
            _digest(row.current_digest),
            _digest(row.available_digest),
            ago(row.current_created, now=now) if row.current_created else "",
        )
        for row in result.rows
    ]


def update_notes(result: UpdateList) -> list[str]:
    """What the listing leaves out: registries that failed, or that nothing moved."""
    notes = [
        f"{reference}: its registry did not answer ({why})" for reference, why in result.failures
    ]
    if not result.rows:
        notes.insert(0, f"No tag moved ({result.checked} container(s) checked).")
    return notes


SERVICE_HEADERS: tuple[str, ...] = ("ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS")
TASK_HEADERS: tuple[str, ...] = (
    "ID",
    "NAME",
    "IMAGE",
    "NODE",
    "DESIRED STATE",
    "CURRENT STATE",
    "ERROR",
)


def service_table(result: ServiceList) -> list[tuple[str, ...]]:
    return [
        (row.id[:12], row.name, row.mode, f"{row.running}/{row.desired}", row.image, row.ports)
        for row in result.rows
    ]


def task_table(result: TaskList) -> list[tuple[str, ...]]:
    return [
        (
            row.id[:12],
            row.name,
            row.image,
            row.node,
            row.desired_state.title(),
            row.current_state.title(),
            ellipsis(row.error, 60),
        )
        for row in result.rows
    ]
