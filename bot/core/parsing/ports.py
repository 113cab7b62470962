"""``-p/--publish`` specifications in every form the Docker CLI accepts.

A range stays one ``PortMapping``: ``-p1-65535`` costs the same to parse as ``-p80``. The total
number of published ports is capped by arithmetic over the ranges, before anything expands them
(the engine adapter does, for the Engine API's one-entry-per-port form).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from bot.core.operations import PortMapping, PortProtocol
from bot.errors import ParseError

# Far above what a chat-started container needs, far below what would let one message make the
# bot (and the engine) build and hold tens of thousands of port bindings.
MAX_PUBLISHED_PORTS = 1024

# A dict, not PortProtocol(...): one -p may be repeated a thousand times in one message.
_PROTOCOLS = {"": PortProtocol.TCP, **{protocol.value: protocol for protocol in PortProtocol}}
_FORMS = "80, 8080:80, 127.0.0.1:8080:80, 127.0.0.1::80, 8080:80/udp or 8000-8010:8000-8010"
# The longest valid spec is a bracketed IPv6 address with two ranges and a protocol: well under
# this. Longer text is refused before ipaddress or int() look at it.
_MAX_SPEC = 128


def parse_publish(spec: str) -> PortMapping:
    """Parse one ``-p`` value into one mapping (a range stays a range)."""
    if len(spec) > _MAX_SPEC:
        raise _error(spec, f"longer than {_MAX_SPEC} characters")
    body, _, proto_text = spec.partition("/")
    protocol = _PROTOCOLS.get(proto_text.lower())
    if protocol is None:
        raise _error(spec, f"unknown protocol {proto_text!r} (use tcp, udp or sctp)")
    host_ip, rest = _split_ip(spec, body) if body.startswith("[") else (None, body)
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
        return PortMapping(
            container_port=c_first,
            container_port_end=_end(c_first, c_last),
            protocol=protocol,
            host_ip=host_ip,
        )
    h_first, h_last = _port_range(spec, host_text)
    # Docker: a host range for one container port is a pool to pick from; for a container
    # range it maps port by port, so the sizes must agree.
    if c_first != c_last and h_last - h_first != c_last - c_first:
        raise _error(spec, "the host and container port ranges differ in size")
    return PortMapping(
        container_port=c_first,
        container_port_end=_end(c_first, c_last),
        protocol=protocol,
        host_ip=host_ip,
        host_port=h_first,
        host_port_end=_end(h_first, h_last),
    )


def check_published_ports(mappings: Iterable[PortMapping]) -> None:
    """Refuse more than ``MAX_PUBLISHED_PORTS`` container ports in all, counted, not expanded."""
    total = sum(mapping.container_count for mapping in mappings)
    if total > MAX_PUBLISHED_PORTS:
        raise ParseError(
            f"A container can have at most {MAX_PUBLISHED_PORTS} published ports; "
            f"these -p options publish {total}. Publish fewer or smaller port ranges."
        )


def _end(first: int, last: int) -> int | None:
    return last if last != first else None


def _split_ip(spec: str, body: str) -> tuple[str | None, str]:
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
    shown = spec if len(spec) <= _MAX_SPEC else spec[: _MAX_SPEC - 1] + "…"
    return ParseError(f"Invalid port specification {shown!r}: {detail}. Forms: {_FORMS}.")
