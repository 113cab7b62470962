"""``-p/--publish`` specifications in every form the Docker CLI accepts."""

from __future__ import annotations

import ipaddress

from bot.core.operations import PortMapping, Protocol
from bot.errors import ParseError

_FORMS = "80, 8080:80, 127.0.0.1:8080:80, 127.0.0.1::80, 8080:80/udp or 8000-8010:8000-8010"


def parse_publish(spec: str) -> list[PortMapping]:
    """Parse one ``-p`` value into one mapping per container port."""
    body, _, proto_text = spec.partition("/")
    try:
        protocol = Protocol((proto_text or "tcp").lower())
    except ValueError:
        raise _error(spec, f"unknown protocol {proto_text!r} (use tcp, udp or sctp)") from None
    host_ip, rest = _split_ip(spec, body)
    parts = rest.split(":")
    if len(parts) == 1:
        host_text, container_text = "", parts[0]
    elif len(parts) == 2:
        host_text, container_text = parts
    elif len(parts) == 3 and host_ip is None:
        host_ip = _check_ip(spec, parts[0])
        host_text, container_text = parts[1], parts[2]
    else:
        raise _error(spec, "too many ':' separators")
    if not container_text:
        raise _error(spec, "the container port is missing")
    c_first, c_last = _port_range(spec, container_text)
    if not host_text:
        return [
            PortMapping(container_port=port, protocol=protocol, host_ip=host_ip)
            for port in range(c_first, c_last + 1)
        ]
    h_first, h_last = _port_range(spec, host_text)
    if c_first == c_last:
        end = h_last if h_last != h_first else None
        return [
            PortMapping(
                container_port=c_first,
                protocol=protocol,
                host_ip=host_ip,
                host_port=h_first,
                host_port_end=end,
            )
        ]
    if h_last - h_first != c_last - c_first:
        raise _error(spec, "the host and container port ranges differ in size")
    return [
        PortMapping(
            container_port=c_first + offset,
            protocol=protocol,
            host_ip=host_ip,
            host_port=h_first + offset,
        )
        for offset in range(c_last - c_first + 1)
    ]


def _split_ip(spec: str, body: str) -> tuple[str | None, str]:
    if not body.startswith("["):
        return None, body
    address, bracket, rest = body[1:].partition("]")
    if not bracket or not rest.startswith(":"):
        raise _error(spec, "an IPv6 address must be written as [ADDRESS]:HOST_PORT:CONTAINER_PORT")
    return _check_ip(spec, address), rest[1:]


def _check_ip(spec: str, text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise _error(spec, f"{text!r} is not an IP address") from None


def _port_range(spec: str, text: str) -> tuple[int, int]:
    first_text, dash, last_text = text.partition("-")
    first = _port(spec, first_text)
    last = _port(spec, last_text) if dash else first
    if last < first:
        raise _error(spec, f"the range {text!r} ends before it starts")
    return first, last


def _port(spec: str, text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise _error(spec, f"{text!r} is not a port number")
    number = int(text)
    if not 1 <= number <= 65535:
        raise _error(spec, f"port {number} is outside 1-65535")
    return number


def _error(spec: str, detail: str) -> ParseError:
    return ParseError(f"Invalid port specification {spec!r}: {detail}. Forms: {_FORMS}.")
