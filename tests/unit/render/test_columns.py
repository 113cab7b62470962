"""Docker-style cells for the diagnostics listings and ``ps`` ports (docker/cli's formats)."""

from __future__ import annotations

import pytest

from bot.core.results import (
    DiskUsageResult,
    DiskUsageRow,
    EngineEvent,
    NetworkList,
    NetworkRow,
    PortList,
    PublishedPort,
    StatsResult,
    StatsRow,
    TopResult,
)
from bot.render.columns import (
    disk_usage_table,
    event_line,
    network_table,
    port_lines,
    ports_text,
    stats_cells,
    top_table,
)
from bot.render.humanize import binary_size


def published(
    port: int, host: int | None = None, ip: str = "0.0.0.0", proto: str = "tcp"
) -> PublishedPort:
    if host is None:
        return PublishedPort(container_port=port, protocol=proto)
    return PublishedPort(container_port=port, protocol=proto, host_ip=ip, host_port=host)


@pytest.mark.parametrize(
    ("ports", "text"),
    [
        ((), ""),
        # Consecutive ports published on the same numbers, IP and protocol collapse.
        (
            tuple(published(p, p) for p in (8003, 8000, 8001, 8002)),
            "0.0.0.0:8000-8003->8000-8003/tcp",
        ),
        # A gap starts a new group; the groups keep the order their keys first appeared in.
        (
            tuple(published(p, p) for p in (80, 81, 83)),
            "0.0.0.0:80-81->80-81/tcp, 0.0.0.0:83->83/tcp",
        ),
        # Unpublished ports group by protocol.
        ((published(80), published(81), published(53, proto="udp")), "53/udp, 80-81/tcp"),
        # Another host port is a mapping of its own, listed after the groups.
        ((published(80, 8080, "127.0.0.1"), published(443)), "443/tcp, 127.0.0.1:8080->80/tcp"),
        ((published(80, 8080), published(81, 8081)), "0.0.0.0:8080->80/tcp, 0.0.0.0:8081->81/tcp"),
        # Each host IP and protocol is its own group; IPv6 in brackets.
        (
            (
                published(80, 80),
                published(80, 80, "::"),
                published(81, 81),
                published(81, 81, "::"),
            ),
            "0.0.0.0:80-81->80-81/tcp, [::]:80-81->80-81/tcp",
        ),
        (
            (published(53, 53, proto="udp"), published(53, 53)),
            "0.0.0.0:53->53/tcp, 0.0.0.0:53->53/udp",
        ),
    ],
)
def test_ports_like_displayable_ports(ports: tuple[PublishedPort, ...], text: str) -> None:
    assert ports_text(ports) == text


def test_stats_cells_like_docker_stats() -> None:
    row = StatsRow(
        id="a" * 64,
        name="web",
        cpu_percent=12.3456,
        memory_usage=1_413_120,
        memory_limit=2 * 2**30,
        memory_percent=0.0658,
        net_rx=1_450,
        net_tx=0,
        block_read=4_096_000,
        block_write=12_300_000,
        pids=4,
    )
    assert stats_cells(row, no_trunc=False) == (
        "a" * 12,
        "web",
        "12.35%",
        "1.348MiB / 2GiB",
        "0.07%",
        "1.45kB / 0B",
        "4.1MB / 12.3MB",
        "4",
    )
    assert stats_cells(row, no_trunc=True)[0] == "a" * 64
    missing = StatsRow(id="b" * 64, name="db", sampled=False)
    assert stats_cells(missing, no_trunc=False) == ("b" * 12, "db", *(["--"] * 6))
    assert binary_size(0) == "0B" and binary_size(1023) == "1023B" and binary_size(1536) == "1.5KiB"
    assert StatsResult(rows=(row,)).rows == (row,)


def test_disk_usage_like_system_df() -> None:
    result = DiskUsageResult(
        rows=(
            DiskUsageRow(
                type="Images",
                total=3,
                active=1,
                size=1_984_216,
                reclaimable=992_108,
                reclaimable_percent=50,
            ),
            DiskUsageRow(
                type="Containers",
                total=0,
                active=0,
                size=0,
                reclaimable=0,
                reclaimable_percent=None,
            ),
            DiskUsageRow(
                type="Build Cache",
                total=0,
                active=0,
                size=0,
                reclaimable=0,
                reclaimable_percent=None,
            ),
        )
    )
    assert disk_usage_table(result) == [
        ("Images", "3", "1", "1.984MB", "992.1kB (50%)"),
        ("Containers", "0", "0", "0B", "0B"),
        ("Build Cache", "0", "0", "0B", "0B"),
    ]


def test_port_lines_like_docker_port() -> None:
    ports = (published(80, 8080), published(80, 8080, "::"), published(53, 5353, proto="udp"))
    assert port_lines(PortList(container="web", ports=ports)) == [
        "80/tcp -> 0.0.0.0:8080",
        "80/tcp -> [::]:8080",
        "53/udp -> 0.0.0.0:5353",
    ]
    chosen = PortList(container="web", ports=ports[:2], selected=True)
    assert port_lines(chosen) == ["0.0.0.0:8080", "[::]:8080"]


def test_event_line_like_docker_events() -> None:
    event = EngineEvent(
        time_ns=1_795_982_400_000_000_042,
        type="container",
        action="die",
        actor_id="abc",
        attributes=(("exitCode", "3"), ("image", "busybox"), ("name", "web\nfake line")),
    )
    assert event_line(event) == (
        "2026-11-29T20:00:00.000000042Z container die abc "
        "(exitCode=3, image=busybox, name=web fake line)"
    )
    bare = EngineEvent(time_ns=0, type="network", action="connect", actor_id="n")
    assert event_line(bare) == "1970-01-01T00:00:00.000000000Z network connect n"


def test_top_and_networks() -> None:
    top = TopResult(
        container="web", titles=("PID", "CMD"), processes=(("1", "sh", "extra"), ("2",))
    )
    assert top_table(top) == [("1", "sh"), ("2", "")]
    networks = NetworkList(
        rows=(NetworkRow(id="f" * 64, name="b", driver="bridge", scope="local"),)
    )
    assert network_table(networks) == [("f" * 12, "b", "bridge", "local")]
