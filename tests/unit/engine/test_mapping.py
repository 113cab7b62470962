"""Engine documents -> rows and request parameters (pure functions; engine tests cover I/O)."""

from __future__ import annotations

from typing import Any

import pytest
from docker.utils import convert_port_bindings

from bot.core.operations import MountKind, PortMapping, PortProtocol, VolumeMount
from bot.core.parsing.ports import MAX_PUBLISHED_PORTS
from bot.core.results import VolumeRow
from bot.engine.mapping import (
    binds_and_volumes,
    container_item,
    container_row,
    cpu_percent,
    disk_usage,
    engine_event,
    exposed_ports,
    image_item,
    image_rows,
    memory_usage,
    network_row,
    port_bindings,
    published_ports,
    redact,
    stats_row,
    volume_row,
)
from bot.errors import ParseError


def test_container_row() -> None:
    row = container_row(
        {
            "Id": "abc",
            "Image": "nginx",
            "Command": "nginx",
            "Created": 1764417600,
            "Status": "Up",
            "State": "running",
            "Names": ["/web"],
            "Ports": [{"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}],
            "Labels": {"a": "b"},
        }
    )
    assert row.names == ("web",)
    assert row.ports[0].host_port == 8080 and row.ports[0].host_ip == "127.0.0.1"
    assert row.created.year == 2025


def test_image_rows_one_per_tag_with_digests() -> None:
    rows = image_rows(
        {
            "Id": "sha256:1",
            "Created": 0,
            "Size": 5,
            "RepoTags": ["nginx:1.27", "nginx:latest", "reg:5000/nginx:x"],
            "RepoDigests": ["nginx@sha256:d1", "reg:5000/nginx@sha256:d2"],
        }
    )
    assert [(r.repository, r.tag, r.digest) for r in rows] == [
        ("nginx", "1.27", "sha256:d1"),
        ("nginx", "latest", "sha256:d1"),
        ("reg:5000/nginx", "x", "sha256:d2"),
    ]


def test_dangling_image_row() -> None:
    rows = image_rows(
        {
            "Id": "sha256:1",
            "Created": 0,
            "Size": 5,
            "RepoTags": ["<none>:<none>"],
            "RepoDigests": ["<none>@<none>"],
        }
    )
    assert [(r.repository, r.tag, r.digest) for r in rows] == [(None, None, None)]


def test_port_bindings() -> None:
    bindings = port_bindings(
        (
            PortMapping(container_port=80, host_ip="127.0.0.1", host_port=8080),
            PortMapping(container_port=80, host_port=8081),
            PortMapping(container_port=53, protocol=PortProtocol.UDP),
            PortMapping(container_port=9, host_ip="::1"),
            PortMapping(container_port=7, host_port=7000, host_port_end=7005),
        )
    )
    assert bindings == {
        "80/tcp": [("127.0.0.1", "8080"), "8081"],
        "53/udp": [None],
        "9/tcp": [("::1",)],
        "7/tcp": ["7000-7005"],
    }


def test_ranges_expand_port_by_port_only_here() -> None:
    ports = (
        PortMapping(
            container_port=8000,
            container_port_end=8002,
            host_ip="127.0.0.1",
            host_port=18000,
            host_port_end=18002,
        ),
        PortMapping(container_port=53, container_port_end=54, protocol=PortProtocol.UDP),
        PortMapping(container_port=80, host_ip="127.0.0.1", host_port=18010, host_port_end=18012),
    )
    assert port_bindings(ports) == {
        "8000/tcp": [("127.0.0.1", "18000")],
        "8001/tcp": [("127.0.0.1", "18001")],
        "8002/tcp": [("127.0.0.1", "18002")],
        "53/udp": [None],
        "54/udp": [None],
        # One container port keeps its host range: the engine picks a free port in it.
        "80/tcp": [("127.0.0.1", "18010-18012")],
    }
    assert exposed_ports(ports) == [
        (8000, "tcp"),
        (8001, "tcp"),
        (8002, "tcp"),
        (53, "udp"),
        (54, "udp"),
        (80, "tcp"),
    ]


def test_bindings_in_the_engine_api_form_the_docker_cli_sends() -> None:
    """What docker-py puts on the wire is what ``docker run -p`` would send."""
    ports = (
        PortMapping(
            container_port=8000,
            container_port_end=8001,
            host_ip="127.0.0.1",
            host_port=9000,
            host_port_end=9001,
        ),
        PortMapping(container_port=80, host_port=7000, host_port_end=7005),
        PortMapping(container_port=81),
    )
    bindings: Any = port_bindings(ports)  # types-docker's Mapping type has no host ranges
    assert convert_port_bindings(bindings) == {
        "8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "9000"}],
        "8001/tcp": [{"HostIp": "127.0.0.1", "HostPort": "9001"}],
        "80/tcp": [{"HostIp": "", "HostPort": "7000-7005"}],
        "81/tcp": [{"HostIp": "", "HostPort": ""}],
    }


def test_exposed_ports_name_each_container_port_once() -> None:
    ports = (
        PortMapping(container_port=80, host_port=8080),
        PortMapping(container_port=80, host_port=8081),
        PortMapping(container_port=79, container_port_end=81),
    )
    assert exposed_ports(ports) == [(80, "tcp"), (79, "tcp"), (81, "tcp")]


def test_expansion_is_bounded_by_the_cap() -> None:
    """An operation built without the parser still cannot make the adapter expand 65535 ports."""
    ports = (PortMapping(container_port=1, container_port_end=65535),)
    with pytest.raises(ParseError, match=f"at most {MAX_PUBLISHED_PORTS} published ports"):
        port_bindings(ports)
    with pytest.raises(ParseError, match=f"at most {MAX_PUBLISHED_PORTS} published ports"):
        exposed_ports(ports)
    full = (PortMapping(container_port=1, container_port_end=MAX_PUBLISHED_PORTS),)
    assert len(port_bindings(full)) == len(exposed_ports(full)) == MAX_PUBLISHED_PORTS


def test_binds_and_volumes() -> None:
    binds, mounts, anonymous = binds_and_volumes(
        (
            VolumeMount(kind=MountKind.BIND, source="/h", target="/c", options=("ro",)),
            VolumeMount(kind=MountKind.BIND, source="/s", target="/t", options=("rslave",)),
            VolumeMount(kind=MountKind.BIND, source="/z", target="/y", options=("z",)),
            VolumeMount(kind=MountKind.VOLUME, source="data", target="/d"),
            VolumeMount(kind=MountKind.ANONYMOUS, target="/tmp/x"),
        )
    )
    # Host paths go through the Mounts API, which never creates a missing source on the host.
    assert [dict(m) for m in mounts] == [
        {"Target": "/c", "Source": "/h", "Type": "bind", "ReadOnly": True},
        {
            "Target": "/t",
            "Source": "/s",
            "Type": "bind",
            "ReadOnly": False,
            "BindOptions": {"Propagation": "rslave"},
        },
    ]
    assert binds == ["/z:/y:z", "data:/d"]
    assert anonymous == ["/tmp/x"]


def test_redaction_keeps_keys_and_leaves_the_original() -> None:
    doc = {
        "Config": {"Env": ["TOKEN=secret", "PATH=/bin", "FLAG"]},
        "ContainerConfig": {"Env": ["A=b"]},
    }
    clean = redact(doc)
    assert clean["Config"]["Env"] == ["TOKEN=<redacted>", "PATH=<redacted>", "FLAG"]
    assert clean["ContainerConfig"]["Env"] == ["A=<redacted>"]
    assert doc["Config"]["Env"][0] == "TOKEN=secret"
    item = container_item(
        {
            "Id": "x",
            "Name": "/web",
            "Config": {"Env": ["TOKEN=secret"]},
            "State": {"Status": "exited", "ExitCode": 137, "OOMKilled": True},
        }
    )
    summary = dict(item.summary)
    assert summary["Status"] == "exited (code 137), OOM-killed"
    assert summary["Environment"] == "TOKEN"
    assert "secret" not in str(item.summary) and "secret" not in str(item.document)


_TOKEN = "xoxb-1111111111-2222222222222-AbCdEfGhIjKlMnOpQrStUvWx"
_VALUE = "plain-env-value-42"


def test_inspect_redacts_every_place_a_secret_sits() -> None:
    """Env values and secret shapes out of the command, entrypoint, healthcheck, its log and
    the labels (summary and document); shapes out of any other text; the rest intact."""
    args = ["-c", f"serve --key {_VALUE} --slack {_TOKEN}"]
    doc: dict[str, Any] = {
        "Id": "c" * 64,
        "Name": "/web",
        "Path": "sh",
        "Args": args,
        "Config": {
            "Image": "nginx:1.25",
            "Env": [f"API_KEY={_VALUE}", "PATH=/usr/bin"],
            "Cmd": ["-c", f"serve --key {_VALUE} --slack {_TOKEN}"],
            "Entrypoint": ["sh", f"--token={_VALUE}"],
            "Healthcheck": {"Test": ["CMD-SHELL", f"curl -H 'Authorization: Bearer {_VALUE}' x"]},
            "Labels": {
                "hook": f"https://hooks.slack.com/services/T0/B0/{_VALUE}",
                "plain": f"v={_VALUE}",
                "version": "1.25",
            },
        },
        "State": {
            "Status": "running",
            "Health": {
                "Status": "healthy",
                "Log": [{"ExitCode": 0, "Output": f"ok {_VALUE} {_TOKEN}"}],
            },
        },
        "HostConfig": {"Binds": ["/srv:/srv"], "ExtraHosts": [f"db:{_TOKEN}"]},
        "Mounts": [{"Type": "bind", "Source": "/srv", "Destination": "/srv"}],
    }
    item = container_item(doc)
    shown = str(item.summary) + str(item.document)
    assert _VALUE not in shown and "AbCdEfGh" not in shown
    summary = dict(item.summary)
    assert summary["Command"] == "sh -c serve --key <redacted> --slack <redacted>"
    assert (
        "version=1.25" in summary["Labels"] and "hook=https://hooks.slack.com/" in summary["Labels"]
    )
    assert item.document["Config"]["Env"] == ["API_KEY=<redacted>", "PATH=<redacted>"]
    assert item.document["HostConfig"]["ExtraHosts"] == ["db:<redacted>"]  # a shape anywhere
    assert item.document["Mounts"] == doc["Mounts"] and item.document["Id"] == "c" * 64
    assert args[1].endswith(_TOKEN)  # the original is left alone
    image = image_item(
        {
            "Id": "sha256:" + "a" * 64,
            "RepoTags": ["app:1"],
            "Config": {
                "Env": [f"API_KEY={_VALUE}"],
                "Cmd": ["run", _VALUE],
                "Entrypoint": [_TOKEN],
            },
        }
    )
    assert _VALUE not in str(image.summary) + str(image.document)
    assert "AbCdEfGh" not in str(image.summary) + str(image.document)


def test_listing_commands_and_event_attributes_are_redacted() -> None:
    row = container_row(
        {"Id": "abc", "Command": f"serve --key {_VALUE} {_TOKEN}", "Names": ["/web"]},
        [_VALUE],
    )
    assert row.command == "serve --key <redacted> <redacted>"
    event = engine_event(
        {
            "Type": "container",
            "Action": "start",
            "Actor": {"ID": "abc", "Attributes": {"hook": f"see {_TOKEN}", "name": "web"}},
        }
    )
    assert dict(event.attributes) == {"hook": "see <redacted>", "name": "web"}


def test_secret_named_labels_and_log_driver_options_are_redacted() -> None:
    """A label's name can make its value a secret (db.password=...), as an assignment would;
    a log driver's options hold its credentials."""
    doc: dict[str, Any] = {
        "Id": "d" * 64,
        "Name": "/victim",
        "Config": {
            "Image": "app:1",
            "Labels": {
                "db.password": "Hunter2Hunter2",
                "api_token": "tok_live_abcdef123456",
                "team": "payments",
            },
        },
        "HostConfig": {
            "LogConfig": {
                "Type": "splunk",
                "Config": {
                    "splunk-token": "5f1c2d3e-aaaa-bbbb-cccc-0123456789ab",
                    "splunk-url": "https://x",
                },
            }
        },
    }
    item = container_item(doc)
    shown = str(item.summary) + str(item.document)
    for secret in ("Hunter2Hunter2", "tok_live_abcdef123456", "5f1c2d3e-aaaa"):
        assert secret not in shown
    labels = item.document["Config"]["Labels"]
    assert labels["team"] == "payments"  # the positive control: a plain label stays
    assert item.document["HostConfig"]["LogConfig"]["Type"] == "splunk"
    event = engine_event(
        {
            "Type": "container",
            "Action": "die",
            "Actor": {
                "ID": "abc",
                "Attributes": {"db.password": "Hunter2Hunter2", "team": "payments"},
            },
        }
    )
    assert dict(event.attributes) == {"db.password": "<redacted>", "team": "payments"}


# -- diagnostics ----------------------------------------------------------------------------


def _stats_doc(memory_stats: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "c" * 64,
        "name": "/web",
        "cpu_stats": {
            "cpu_usage": {"total_usage": 3_000_000_000},
            "system_cpu_usage": 40_000_000_000,
            "online_cpus": 2,
        },
        "precpu_stats": {
            "cpu_usage": {"total_usage": 2_000_000_000},
            "system_cpu_usage": 30_000_000_000,
        },
        "memory_stats": memory_stats,
        "networks": {
            "eth0": {"rx_bytes": 1000, "tx_bytes": 10},
            "eth1": {"rx_bytes": 500, "tx_bytes": 5},
        },
        "blkio_stats": {
            "io_service_bytes_recursive": [
                {"major": 8, "minor": 0, "op": "Read", "value": 4096},
                {"major": 8, "minor": 0, "op": "Write", "value": 8192},
                {"major": 8, "minor": 0, "op": "Total", "value": 12288},
                {"major": 8, "minor": 16, "op": "read", "value": 4096},
            ]
        },
        "pids_stats": {"current": 7},
    }


@pytest.mark.parametrize(
    ("memory", "usage"),
    [
        # cgroup v1: the CLI subtracts total_inactive_file.
        (
            {
                "usage": 10_000,
                "limit": 100_000,
                "stats": {"total_inactive_file": 4_000, "cache": 6_000},
            },
            6_000,
        ),
        # cgroup v2: inactive_file.
        ({"usage": 10_000, "limit": 100_000, "stats": {"inactive_file": 1_000}}, 9_000),
        # Older engines: only the cache.
        ({"usage": 10_000, "limit": 100_000, "stats": {"cache": 2_500}}, 7_500),
        # A cache larger than the usage is not subtracted.
        ({"usage": 10_000, "limit": 100_000, "stats": {"inactive_file": 20_000}}, 10_000),
        ({"usage": 10_000, "limit": 100_000}, 10_000),
    ],
)
def test_stats_row_computes_like_the_docker_cli(memory: dict[str, Any], usage: int) -> None:
    row = stats_row(_stats_doc(memory), fallback_id="x", fallback_name="x")
    assert row.id == "c" * 64 and row.name == "web"
    # (1e9 / 1e10) * 2 CPUs * 100
    assert row.cpu_percent == pytest.approx(20.0)
    assert row.memory_usage == usage and row.memory_limit == 100_000
    assert row.memory_percent == pytest.approx(usage / 1000)
    assert (row.net_rx, row.net_tx) == (1500, 15)
    assert (row.block_read, row.block_write) == (8192, 8192)
    assert row.pids == 7 and row.sampled


def test_cpu_percent_edge_cases() -> None:
    # No progress, or no CPU count at all: 0, as the CLI shows.
    assert cpu_percent({"cpu_usage": {"total_usage": 5}}, {"cpu_usage": {"total_usage": 5}}) == 0
    assert cpu_percent({"cpu_usage": {"total_usage": 5}, "system_cpu_usage": 10}, {}) == 0
    one = {"cpu_usage": {"total_usage": 5}, "system_cpu_usage": 10, "online_cpus": 1}
    assert cpu_percent(one, {}) == pytest.approx(50.0)
    # Online CPUs missing: the per-CPU list counts them.
    cpu = {"cpu_usage": {"total_usage": 2, "percpu_usage": [1, 1, 0, 0]}, "system_cpu_usage": 8}
    assert cpu_percent(cpu, {}) == pytest.approx(100.0)
    assert memory_usage({}) == 0
    empty = stats_row({}, fallback_id="abc", fallback_name="web")
    assert (empty.id, empty.name, empty.memory_percent) == ("abc", "web", 0.0)


def test_published_ports_from_inspect() -> None:
    doc = {
        "NetworkSettings": {
            "Ports": {
                "81/tcp": [
                    {"HostIp": "0.0.0.0", "HostPort": "8081"},
                    {"HostIp": "::", "HostPort": "8081"},
                ],
                "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                "53/udp": None,
                "9000/tcp": [{"HostIp": "", "HostPort": "9000"}],
            }
        }
    }
    ports = published_ports(doc)
    assert [(p.container_port, p.host_ip, p.host_port) for p in ports] == [
        (80, "127.0.0.1", 8080),
        (81, "0.0.0.0", 8081),
        (81, "::", 8081),
        (9000, "0.0.0.0", 9000),
    ]
    assert published_ports({}) == ()


def test_disk_usage_like_system_df() -> None:
    doc = {
        "LayersSize": 1_000_000,
        "Images": [
            {"Containers": 1, "Size": 600_000, "SharedSize": 100_000, "VirtualSize": 600_000},
            {"Containers": 0, "Size": 500_000, "SharedSize": 100_000},
        ],
        "Containers": [{"State": "running", "SizeRw": 100}, {"State": "exited", "SizeRw": 300}],
        "Volumes": [
            {"UsageData": {"Size": 2_000, "RefCount": 1}},
            {"UsageData": {"Size": 6_000, "RefCount": 0}},
            {"UsageData": {"Size": -1, "RefCount": -1}},
        ],
        "BuildCache": [
            {"Size": 50, "InUse": True, "Shared": False},
            {"Size": 70, "InUse": False, "Shared": False},
            {"Size": 90, "InUse": False, "Shared": True},
        ],
        "BuilderSize": 210,
    }
    images, containers, volumes, cache = disk_usage(doc).rows
    assert (images.type, images.total, images.active, images.size) == ("Images", 2, 1, 1_000_000)
    assert (images.reclaimable, images.reclaimable_percent) == (500_000, 50)
    assert (containers.total, containers.active, containers.size) == (2, 1, 400)
    assert (containers.reclaimable, containers.reclaimable_percent) == (300, 75)
    assert (volumes.type, volumes.total, volumes.active, volumes.size) == (
        "Local Volumes",
        3,
        1,
        8_000,
    )
    assert (volumes.reclaimable, volumes.reclaimable_percent) == (6_000, 75)
    assert (cache.type, cache.total, cache.active, cache.size) == ("Build Cache", 3, 1, 120)
    assert (cache.reclaimable, cache.reclaimable_percent) == (160, None)
    empty = disk_usage({})
    assert [row.reclaimable_percent for row in empty.rows] == [None] * 4


def test_lists_and_events() -> None:
    assert volume_row({"Driver": "local", "Name": "data"}) == VolumeRow(driver="local", name="data")
    network = network_row({"Id": "n" * 64, "Name": "bridge", "Driver": "bridge", "Scope": "local"})
    assert (network.name, network.driver, network.scope) == ("bridge", "bridge", "local")
    event = engine_event(
        {
            "Type": "container",
            "Action": "die",
            "time": 1,
            "timeNano": 1_764_446_400_123_456_789,
            "Actor": {"ID": "abc", "Attributes": {"name": "web", "exitCode": "3", "image": "x"}},
        }
    )
    assert event.time_ns == 1_764_446_400_123_456_789
    assert event.attributes == (("exitCode", "3"), ("image", "x"), ("name", "web"))
    assert engine_event({"time": 2}).time_ns == 2_000_000_000


def test_image_inspect_size_is_human() -> None:
    item = image_item({"Id": "sha256:" + "a" * 64, "Size": 12_345_678, "RepoTags": ["x:1"]})
    assert dict(item.summary)["Size"] == "12.3MB"
