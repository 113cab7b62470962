"""Engine documents -> rows and request parameters (pure functions; engine tests cover I/O)."""

from __future__ import annotations

from typing import Any

import pytest
from docker.utils import convert_port_bindings

from bot.core.operations import MountKind, PortMapping, Protocol, VolumeMount
from bot.core.parsing.ports import MAX_PUBLISHED_PORTS
from bot.engine.mapping import (
    binds_and_volumes,
    container_item,
    container_row,
    exposed_ports,
    image_rows,
    port_bindings,
    redact,
)
from bot.errors import ParseError


def test_container_row() -> None:
    row = container_row(
        {"Id": "abc", "Image": "nginx", "Command": "nginx", "Created": 1764417600,
         "Status": "Up", "State": "running", "Names": ["/web"],
         "Ports": [{"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}],
         "Labels": {"a": "b"}}
    )  # fmt: skip
    assert row.names == ("web",)
    assert row.ports[0].host_port == 8080 and row.ports[0].host_ip == "127.0.0.1"
    assert row.created.year == 2025


def test_image_rows_one_per_tag_with_digests() -> None:
    rows = image_rows(
        {"Id": "sha256:1", "Created": 0, "Size": 5,
         "RepoTags": ["nginx:1.27", "nginx:latest", "reg:5000/nginx:x"],
         "RepoDigests": ["nginx@sha256:d1", "reg:5000/nginx@sha256:d2"]}
    )  # fmt: skip
    assert [(r.repository, r.tag, r.digest) for r in rows] == [
        ("nginx", "1.27", "sha256:d1"),
        ("nginx", "latest", "sha256:d1"),
        ("reg:5000/nginx", "x", "sha256:d2"),
    ]


def test_dangling_image_row() -> None:
    rows = image_rows(
        {"Id": "sha256:1", "Created": 0, "Size": 5, "RepoTags": ["<none>:<none>"],
         "RepoDigests": ["<none>@<none>"]}
    )  # fmt: skip
    assert [(r.repository, r.tag, r.digest) for r in rows] == [(None, None, None)]


def test_port_bindings() -> None:
    bindings = port_bindings(
        (
            PortMapping(container_port=80, host_ip="127.0.0.1", host_port=8080),
            PortMapping(container_port=80, host_port=8081),
            PortMapping(container_port=53, protocol=Protocol.UDP),
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
        PortMapping(container_port=8000, container_port_end=8002, host_ip="127.0.0.1",
                    host_port=18000, host_port_end=18002),
        PortMapping(container_port=53, container_port_end=54, protocol=Protocol.UDP),
        PortMapping(container_port=80, host_ip="127.0.0.1", host_port=18010, host_port_end=18012),
    )  # fmt: skip
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
        (8000, "tcp"), (8001, "tcp"), (8002, "tcp"), (53, "udp"), (54, "udp"), (80, "tcp"),
    ]  # fmt: skip


def test_bindings_in_the_engine_api_form_the_docker_cli_sends() -> None:
    """What docker-py puts on the wire is what ``docker run -p`` would send."""
    ports = (
        PortMapping(container_port=8000, container_port_end=8001, host_ip="127.0.0.1",
                    host_port=9000, host_port_end=9001),
        PortMapping(container_port=80, host_port=7000, host_port_end=7005),
        PortMapping(container_port=81),
    )  # fmt: skip
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
        {"Target": "/t", "Source": "/s", "Type": "bind", "ReadOnly": False,
         "BindOptions": {"Propagation": "rslave"}},
    ]  # fmt: skip
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
