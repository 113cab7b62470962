"""Sizes and ages written the way the Docker CLI writes them (go-units' HumanSize/HumanDuration)."""

from __future__ import annotations

from datetime import datetime, timedelta

# The core writes sizes and IDs into plans too; renderers keep importing them from here.
from bot.core.humanize import binary_size as binary_size
from bot.core.humanize import human_size as human_size
from bot.core.humanize import short_id as short_id


def human_duration(delta: timedelta) -> str:
    """``timedelta(minutes=3)`` -> ``3 minutes``; ``About an hour``; ``2 weeks``."""
    seconds = int(delta.total_seconds())
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = seconds // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(delta.total_seconds() / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // (24 * 7)} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // (24 * 30)} months"
    return f"{hours // (24 * 365)} years"


def ago(moment: datetime, *, now: datetime) -> str:
    return f"{human_duration(now - moment)} ago"


def ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
