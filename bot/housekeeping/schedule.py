"""Crontab schedules as APScheduler 3 triggers, with crontab's meaning kept.

Two differences would otherwise bite: APScheduler numbers days of the week from Monday = 0,
crontab from Sunday = 0 (and 7); and when both day-of-month and day-of-week are restricted,
crontab runs on either, APScheduler only on both.
"""

from __future__ import annotations

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(text: str, *, timezone: str) -> BaseTrigger:
    """A trigger for a five-field crontab line (``minute hour day month day-of-week``)."""
    fields = text.split()
    if len(fields) != 5:
        raise ValueError("a crontab schedule has five fields: minute hour day month weekday")
    minute, hour, day, month, weekday = fields
    names = crontab_weekdays(weekday)

    def trigger(day_field: str, weekday_field: str) -> CronTrigger:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day_field,
            month=month,
            day_of_week=weekday_field,
            timezone=timezone,
        )

    if day != "*" and weekday != "*":
        # crontab: either condition; APScheduler's fields would require both.
        return OrTrigger([trigger(day, "*"), trigger("*", names)])
    return trigger(day, names)


def crontab_weekdays(field: str) -> str:
    """Crontab's day-of-week field as APScheduler day names (``0`` and ``7`` are Sunday)."""
    if field == "*":
        return "*"
    days: list[int] = []
    for part in field.split(","):
        spec, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"bad step in {part!r}")
        if spec == "*":
            first, last = 0, 6
        elif "-" in spec:
            start, _, end = spec.partition("-")
            first, last = _day(start), _day(end)
            if last < first:
                raise ValueError(f"the range {spec!r} runs backwards")
        else:
            first = last = _day(spec)
        days.extend(range(first, last + 1, step))
    ordered = sorted({day % 7 for day in days})
    return ",".join(_DAY_NAMES[day] for day in ordered)


def _day(token: str) -> int:
    token = token.strip().lower()
    if token[:3] in _DAY_NAMES and not token.isdigit():
        return _DAY_NAMES.index(token[:3])
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    raise ValueError(f"{token!r} is not a day of the week (0-7 or sun-sat)")
