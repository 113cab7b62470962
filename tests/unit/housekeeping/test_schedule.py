"""Crontab meaning under APScheduler 3: Sunday is 0 (and 7), and day OR weekday."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.housekeeping.schedule import cron_trigger, crontab_weekdays

UTC = ZoneInfo("UTC")
# Saturday 2026-11-28 12:00 UTC.
SATURDAY_NOON = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def next_run(text: str, after: datetime = SATURDAY_NOON, zone: str = "UTC") -> datetime:
    fire = cron_trigger(text, timezone=zone).get_next_fire_time(None, after)
    assert isinstance(fire, datetime)
    return fire


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("0 3 * * 0", datetime(2026, 11, 29, 3, 0, tzinfo=UTC)),  # Sunday 03:00
        ("0 3 * * 7", datetime(2026, 11, 29, 3, 0, tzinfo=UTC)),  # 7 is Sunday too
        ("0 3 * * sun", datetime(2026, 11, 29, 3, 0, tzinfo=UTC)),
        ("0 3 * * 1", datetime(2026, 11, 30, 3, 0, tzinfo=UTC)),  # Monday
        ("0 3 * * 1-5", datetime(2026, 11, 30, 3, 0, tzinfo=UTC)),
        ("0 3 * * 0-2", datetime(2026, 11, 29, 3, 0, tzinfo=UTC)),
        ("0 3 * * 6", datetime(2026, 12, 5, 3, 0, tzinfo=UTC)),  # next Saturday (today's passed)
        ("30 12 * * 6", datetime(2026, 11, 28, 12, 30, tzinfo=UTC)),
        ("0 3 * * *", datetime(2026, 11, 29, 3, 0, tzinfo=UTC)),
        # Day 1 OR Sunday (crontab), not "a Sunday that is the 1st" (APScheduler's AND).
        ("0 3 1 * 0", datetime(2026, 11, 29, 3, 0, tzinfo=UTC)),
        ("0 3 1 * 3", datetime(2026, 12, 1, 3, 0, tzinfo=UTC)),
    ],
)
def test_crontab_meaning(schedule: str, expected: datetime) -> None:
    assert next_run(schedule) == expected


def test_time_zone() -> None:
    berlin = next_run("0 3 * * *", zone="Europe/Berlin")
    assert berlin.utcoffset() is not None and berlin.hour == 3
    assert berlin.astimezone(UTC).hour == 2


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("*", "*"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("*/2", "sun,tue,thu,sat"),
        ("5-7", "sun,fri,sat"),
        ("0,6", "sun,sat"),
        ("MON-wed", "mon,tue,wed"),
    ],
)
def test_weekday_names(field: str, names: str) -> None:
    assert crontab_weekdays(field) == names


@pytest.mark.parametrize(
    "schedule", ["", "* * * *", "0 3 * * 8", "0 3 * * 5-1", "61 * * * *", "0 3 * * x"]
)
def test_invalid(schedule: str) -> None:
    with pytest.raises(ValueError):
        cron_trigger(schedule, timezone="UTC")
