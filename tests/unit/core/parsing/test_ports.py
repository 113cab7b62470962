from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.operations import PortMapping, PortProtocol, RunContainer
from bot.core.parsing.parser import parse_command
from bot.core.parsing.ports import MAX_PUBLISHED_PORTS, check_published_ports, parse_publish
from bot.errors import ParseError


@pytest.mark.parametrize(
    ("spec", "mapping"),
    [
        ("80", PortMapping(container_port=80)),
        (":80", PortMapping(container_port=80)),
        ("8080:80", PortMapping(container_port=80, host_port=8080)),
        ("127.0.0.1:8080:80", PortMapping(container_port=80, host_ip="127.0.0.1", host_port=8080)),
        ("127.0.0.1::80", PortMapping(container_port=80, host_ip="127.0.0.1")),
        ("8080:80/udp", PortMapping(container_port=80, protocol=PortProtocol.UDP, host_port=8080)),
        ("53/UDP", PortMapping(container_port=53, protocol=PortProtocol.UDP)),
        ("[::1]:8080:80", PortMapping(container_port=80, host_ip="::1", host_port=8080)),
        # One container port, a host range: the engine picks a free host port in it.
        ("8000-8001:80", PortMapping(container_port=80, host_port=8000, host_port_end=8001)),
        # Ranges stay ranges.
        ("7000-7001", PortMapping(container_port=7000, container_port_end=7001)),
        ("1-65535", PortMapping(container_port=1, container_port_end=65535)),
        (
            "127.0.0.1:5000-5001:6000-6001",
            PortMapping(
                container_port=6000,
                container_port_end=6001,
                host_ip="127.0.0.1",
                host_port=5000,
                host_port_end=5001,
            ),
        ),
        (
            "[::1]::9000-9010/sctp",
            PortMapping(
                container_port=9000,
                container_port_end=9010,
                host_ip="::1",
                protocol=PortProtocol.SCTP,
            ),
        ),
        # A one-port range is a single port.
        ("80-80:90-90", PortMapping(container_port=90, host_port=80)),
    ],
)
def test_forms(spec: str, mapping: PortMapping) -> None:
    assert parse_publish(spec) == mapping


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "80:",
        "0",
        "65536",
        "a:80",
        "1:2:3:4",
        "81-80",
        "[::1:80",
        "80/xyz",
        "1.1:80:80",
        "8000-8002:80-81",
        "8000:80-81",
        "1-",
        "-1",
        "٣",
        "9" * 129,
        "1-65536",
    ],
)
def test_invalid(spec: str) -> None:
    with pytest.raises(ParseError, match="Invalid port specification"):
        parse_publish(spec)


def test_long_spec_is_not_echoed_whole() -> None:
    with pytest.raises(ParseError) as caught:
        parse_publish("1" * 3000)
    assert len(str(caught.value)) < 400


def test_host_port_text() -> None:
    assert PortMapping(container_port=1, host_port=5, host_port_end=9).host_port_text() == "5-9"
    assert PortMapping(container_port=1, host_port=5).host_port_text() == "5"
    assert PortMapping(container_port=1).host_port_text() is None


def test_container_count_is_arithmetic() -> None:
    assert PortMapping(container_port=80).container_count == 1
    assert PortMapping(container_port=80, host_port=8000, host_port_end=9000).container_count == 1
    assert PortMapping(container_port=1, container_port_end=65535).container_count == 65535


@pytest.mark.parametrize(
    "fields",
    [
        {"container_port": 0},
        {"container_port": 65536},
        {"container_port": 80, "container_port_end": 80},  # one port: end is None
        {"container_port": 80, "container_port_end": 79},
        {"container_port": 80, "host_port_end": 90},
        {"container_port": 80, "container_port_end": 81, "host_port": 90},
        {"container_port": 80, "container_port_end": 81, "host_port": 90, "host_port_end": 99},
    ],
)
def test_malformed_mappings_cannot_be_built(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PortMapping(**fields)


@given(st.text(alphabet="0123456789:-/.[]abcdefptu", max_size=40))
def test_any_spec_is_one_mapping_or_refused(text: str) -> None:
    try:
        mapping = parse_publish(text)
    except ParseError:
        return
    last = mapping.container_port_end or mapping.container_port
    assert 1 <= mapping.container_port <= last <= 65535
    assert mapping.container_count == last - mapping.container_port + 1


def test_hostile_ranges_are_refused_by_arithmetic() -> None:
    """The 411-character message that once took 3.4 s and 335 MB to parse."""
    text = "run " + "-p1-65535 " * 40 + "busybox"
    assert len(text) == 411
    with pytest.raises(ParseError, match=f"at most {MAX_PUBLISHED_PORTS} published ports"):
        parse_command(text)


def test_cap_error_text() -> None:
    with pytest.raises(ParseError) as caught:
        check_published_ports([PortMapping(container_port=1, container_port_end=65535)] * 40)
    assert str(caught.value) == (
        "A container can have at most 1024 published ports; these -p options publish 2621400. "
        "Publish fewer or smaller port ranges."
    )


def test_ranges_up_to_the_cap_are_kept_as_ranges() -> None:
    operation = parse_command("run " + "-p1-32 " * 32 + "busybox").operation  # 1024 ports
    assert isinstance(operation, RunContainer)
    assert operation.ports == (PortMapping(container_port=1, container_port_end=32),) * 32
    with pytest.raises(ParseError, match="at most 1024 published ports"):
        parse_command("run " + "-p1-32 " * 32 + "-p 80 busybox")


def test_each_publish_option_is_one_mapping() -> None:
    text = "run -p 8080:80/udp -p 127.0.0.1::53 -p 9000-9001:9000-9001 busybox"
    operation = parse_command(text).operation
    assert isinstance(operation, RunContainer)
    assert operation.ports == (
        PortMapping(container_port=80, protocol=PortProtocol.UDP, host_port=8080),
        PortMapping(container_port=53, host_ip="127.0.0.1"),
        PortMapping(
            container_port=9000, container_port_end=9001, host_port=9000, host_port_end=9001
        ),
    )
