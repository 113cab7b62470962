"""Values with units in Docker's spelling: sizes (``512m``), durations (``1h30m``), times."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.errors import ParseError

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\Z", re.IGNORECASE)
_SIZE_FACTORS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
_MAX_SIZE = float(2**62)
_MAX_SECONDS = 100 * 365 * 86400.0
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)")
_DURATION_FACTORS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}


def parse_size(text: str, *, option: str) -> int:
    """``512m`` -> bytes, with Docker's binary units (k, m, g, t, p; optional ``b``)."""
    match = _SIZE.match(text.strip())
    if not match:
        raise ParseError(
            f"Invalid size {text!r} for {option}: use a number with an optional unit "
            "b, k, m or g (e.g. 512m)."
        )
    number, unit = match.groups()
    size = float(number) * _SIZE_FACTORS[unit.lower()]
    if not size < _MAX_SIZE:
        raise ParseError(f"Size {text!r} for {option} is too large.")
    return int(size)


def parse_duration(text: str, *, option: str) -> timedelta:
    """A Go-style duration (``90s``, ``1h30m``, ``2d``) as a timedelta."""
    position = 0
    seconds = 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _DURATION_FACTORS[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise ParseError(f"Invalid duration {text!r} for {option}: use e.g. 30s, 10m, 1h30m or 2d.")
    if not seconds < _MAX_SECONDS:
        raise ParseError(f"Duration {text!r} for {option} is too long.")
    return timedelta(seconds=seconds)


def parse_point_in_time(text: str, *, option: str, now: datetime | None = None) -> datetime:
    """``--since``/``until`` values: a relative duration (``10m``: ten minutes ago), a Unix
    timestamp, or an RFC 3339 / ISO 8601 date or time (UTC unless it says otherwise)."""
    now = now or datetime.now(UTC)
    try:
        return now - parse_duration(text, option=option)
    except ParseError:
        pass
    try:
        return datetime.fromtimestamp(float(text), tz=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ParseError(
            f"Invalid time {text!r} for {option}: use a duration (10m, 2h), a Unix timestamp "
            "or a date such as 2026-11-29T10:00:00Z."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_count(text: str, *, option: str, minimum: int = 0, maximum: int = 10**9) -> int:
    """A whole number within ``[minimum, maximum]``."""
    try:
        number = int(text, 10)
    except ValueError:
        raise ParseError(f"{option} takes a whole number, not {text!r}.") from None
    if not minimum <= number <= maximum:
        raise ParseError(f"{option} must be between {minimum} and {maximum}, not {number}.")
    return number
