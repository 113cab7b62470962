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
# No size, duration, time or count Docker accepts is longer than this; refusing longer text
# first keeps float(), int() and the regular expressions below on short input.
_MAX_VALUE_TEXT = 64
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
    """``512m`` -> bytes, with Docker's binary units (k, m, g, t, p; optional ``b``).

    Not the Docker SDK's ``parse_bytes`` (issue 21 asked to weigh it): the core imports no
    Docker, and this runs on untrusted chat text before anyone is authorized, so its length and
    result are bounded and its error names the option; the SDK's takes any length, no ``t``/``p``
    and raises its own exception type. The engine adapter passes the bytes on as numbers."""
    _check_length(text, option)
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
    _check_length(text, option)
    position = 0
    seconds = 0.0
    # Each part is matched where the previous one ended (a scan with finditer would retry
    # from every position of a long digit run: quadratic).
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if match is None:
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
    _check_length(text, option)
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
    _check_length(text, option)
    try:
        number = int(text, 10)
    except ValueError:
        raise ParseError(f"{option} takes a whole number, not {text!r}.") from None
    if not minimum <= number <= maximum:
        raise ParseError(f"{option} must be between {minimum} and {maximum}, not {number}.")
    return number


def _check_length(text: str, option: str) -> None:
    if len(text) > _MAX_VALUE_TEXT:
        # Say how long, not what: the message should not echo a flood back into the channel.
        raise ParseError(
            f"Invalid value {text[:20]!r}… for {option}: {len(text)} characters is too long."
        )
