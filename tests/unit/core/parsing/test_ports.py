from __future__ import annotations

import pytest

from bot.core.operations import PortMapping, Protocol
from bot.core.parsing.ports import parse_publish
from bot.errors import ParseError


@pytest.mark.parametrize(
    ("spec", "mappings"),
    [
        ("80", [PortMapping(container_port=80)]),
        (":80", [PortMapping(container_port=80)]),
        ("8080:80", [PortMapping(container_port=80, host_port=8080)]),
        (
            "127.0.0.1:8080:80",
            [PortMapping(container_port=80, host_ip="127.0.0.1", host_port=8080)],
        ),
        ("127.0.0.1::80", [PortMapping(container_port=80, host_ip="127.0.0.1")]),
        ("8080:80/udp", [PortMapping(container_port=80, protocol=Protocol.UDP, host_port=8080)]),
        ("53/UDP", [PortMapping(container_port=53, protocol=Protocol.UDP)]),
        ("[::1]:8080:80", [PortMapping(container_port=80, host_ip="::1", host_port=8080)]),
        ("8000-8001:80", [PortMapping(container_port=80, host_port=8000, host_port_end=8001)]),
        ("7000-7001", [PortMapping(container_port=7000), PortMapping(container_port=7001)]),
        (
            "127.0.0.1:5000-5001:6000-6001",
            [
                PortMapping(container_port=6000, host_ip="127.0.0.1", host_port=5000),
                PortMapping(container_port=6001, host_ip="127.0.0.1", host_port=5001),
            ],
        ),
    ],
)
def test_forms(spec: str, mappings: list[PortMapping]) -> None:
    assert parse_publish(spec) == mappings


@pytest.mark.parametrize(
    "spec", ["", "80:", "0", "65536", "a:80", "1:2:3:4", "81-80", "[::1:80", "80/xyz", "1.1:80:80"]
)
def test_invalid(spec: str) -> None:
    with pytest.raises(ParseError, match="Invalid port specification"):
        parse_publish(spec)


def test_host_port_text() -> None:
    assert PortMapping(container_port=1, host_port=5, host_port_end=9).host_port_text() == "5-9"
    assert PortMapping(container_port=1).host_port_text() is None
