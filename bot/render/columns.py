"""Docker-style listing columns, shared by every renderer: headers and cell text per row."""

from __future__ import annotations

from datetime import datetime

from bot.core.results import ContainerList, ContainerRow, ImageList, ImageRow, PublishedPort
from bot.render.humanize import ago, ellipsis, human_size, short_id

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
    """``127.0.0.1:8080->80/tcp, 443/tcp`` as ``docker ps`` shows them."""
    parts = []
    for port in ports:
        target = f"{port.container_port}/{port.protocol}"
        if port.host_port is None:
            parts.append(target)
        else:
            host = port.host_ip or "0.0.0.0"
            host = f"[{host}]" if ":" in host else host
            parts.append(f"{host}:{port.host_port}->{target}")
    return ", ".join(dict.fromkeys(parts))


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
