from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.parsing.units import parse_count, parse_duration, parse_point_in_time, parse_size
from bot.errors import ParseError

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512m", 512 * 2**20),
        ("1g", 2**30),
        ("1GB", 2**30),
        ("100", 100),
        ("64k", 65536),
        ("1.5g", int(1.5 * 2**30)),
        ("7mb", 7 * 2**20),
        ("2MiB", 2 * 2**20),
    ],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text, option="--memory") == size


@pytest.mark.parametrize("text", ["", "m", "1x", "-1m", "1e999g", "9" * 400])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(ParseError):
        parse_size(text, option="--memory")


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("30s", timedelta(seconds=30)),
        ("10m", timedelta(minutes=10)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1.5h", timedelta(minutes=90)),
        ("500ms", timedelta(milliseconds=500)),
    ],
)
def test_durations(text: str, delta: timedelta) -> None:
    assert parse_duration(text, option="x") == delta


@pytest.mark.parametrize("text", ["", "10", "m10", "1h 30m", "5y", "9" * 30 + "d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ParseError):
        parse_duration(text, option="x")


def test_points_in_time() -> None:
    assert parse_point_in_time("10m", option="x", now=NOW) == NOW - timedelta(minutes=10)
    assert parse_point_in_time("1764417600", option="x", now=NOW) == datetime(
        2025, 11, 29, 12, 0, tzinfo=UTC
    )
    assert parse_point_in_time("2026-11-29", option="x") == datetime(2026, 11, 29, tzinfo=UTC)
    assert parse_point_in_time("2026-11-29T10:00:00+01:00", option="x") == datetime(
        2026, 11, 29, 9, 0, tzinfo=UTC
    )
    with pytest.raises(ParseError):
        parse_point_in_time("tomorrow", option="x")


def test_counts() -> None:
    assert parse_count("5", option="--tail") == 5
    with pytest.raises(ParseError, match="whole number"):
        parse_count("5.5", option="--tail")
    with pytest.raises(ParseError, match="between"):
        parse_count("-2", option="--tail", minimum=-1)
