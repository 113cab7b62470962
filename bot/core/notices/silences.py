"""Silenced containers: a notice's Silence button, or ``silence CONTAINER|GLOB DURATION``,
keeps one container's (or a glob's) crashes, OOM kills, unhealthy turns and restart loops
out of the channel until a time.

A silence is stored (``bot.state.silences``: the database), so it survives a restart and
holds in whichever replica streams the engine. It covers events on its engine from when it
was made (give or take ``SKEW``: events carry the engine's clock) until ``until``, or until
``unsilence`` ends it. Pure decisions here, the clock always passed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Protocol

from bot.core.upgrades import name_outside_upgrade

DEFAULT_MAX_SILENCE = timedelta(days=7)  # [notifications] max_silence
# The notice buttons' durations.
BUTTON_DURATIONS = (timedelta(hours=1), timedelta(hours=24))
# Events are stamped by the engine's clock, silences by the bot's: this much either way.
SKEW = timedelta(seconds=2)
MAX_PATTERN = 256  # the column's width
# A container name (Docker's rule) with glob characters; an ID (prefix) is such a name too.
_PATTERN = re.compile(r"[a-zA-Z0-9_.*?\[][a-zA-Z0-9_.*?\[\]!-]*\Z")
_ID_PREFIX = re.compile(r"[0-9a-f]{12,64}\Z")


@dataclass(frozen=True, kw_only=True, slots=True)
class Silence:
    id: int
    engine: str
    pattern: str  # a container name, a glob on names, or an ID (prefix, 12+ digits)
    created_by: str  # a chat user ID
    created_at: datetime
    until: datetime
    ended_at: datetime | None = None  # unsilenced early
    ended_by: str | None = None

    @property
    def ends_at(self) -> datetime:
        """When it stops covering: its end time, or when it was ended if earlier."""
        if self.ended_at is not None:
            return min(self.until, self.ended_at)
        return self.until

    def active(self, at: datetime) -> bool:
        """Does it hold at ``at``?"""
        return self.created_at - SKEW <= at < self.ends_at

    def matches(self, *, name: str, container_id: str) -> bool:
        """Does it name this container (its name, the name outside an upgrade, or its ID)?"""
        name = name.lstrip("/")
        if _ID_PREFIX.match(self.pattern) and container_id.startswith(self.pattern):
            return True
        return fnmatchcase(name, self.pattern) or fnmatchcase(
            name_outside_upgrade(name), self.pattern
        )

    def covers(self, *, engine: str, name: str, container_id: str, at: datetime) -> bool:
        return (
            self.engine == engine
            and self.active(at)
            and self.matches(name=name, container_id=container_id)
        )


def silencing(
    silences: Iterable[Silence], *, engine: str, name: str, container_id: str, at: datetime
) -> Silence | None:
    """The silence covering this container at ``at`` (the one that lasts longest), or None."""
    found = [
        s for s in silences if s.covers(engine=engine, name=name, container_id=container_id, at=at)
    ]
    return max(found, key=lambda s: (s.ends_at, s.id)) if found else None


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be silenced (None: it can)."""
    if len(pattern) > MAX_PATTERN:
        return f"a container name or glob is at most {MAX_PATTERN} characters"
    if not _PATTERN.match(pattern):
        return (
            f"{pattern[:40]!r} is no container name, ID or glob (letters, digits, `_.-`, and "
            "`*?[]` for a glob)"
        )
    return None


def duration_problem(duration: timedelta, *, max_silence: timedelta) -> str | None:
    """Why a silence of ``duration`` is refused (None: it is not)."""
    if duration <= timedelta(0):
        return "a silence lasts a positive time, such as 1h"
    if duration > max_silence:
        return (
            f"a silence of {_spoken(duration)} is longer than [notifications] max_silence "
            f"({_spoken(max_silence)})"
        )
    return None


def _spoken(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"


class SilenceStore(Protocol):
    """Where silences are kept (``bot.state.silences``: the database)."""

    def add(self, *, engine: str, pattern: str, user: str, duration: timedelta) -> Silence:
        """A new silence from now (the store's clock) for ``duration``."""
        ...

    def end(self, silence_id: int, *, user: str) -> Silence | None:
        """End silence ``silence_id`` now; None if there is no such silence in force."""
        ...

    def active(self, *, engine: str | None = None, at: datetime | None = None) -> list[Silence]:
        """The silences in force at ``at`` (default: now), on ``engine`` or every engine."""
        ...


class MemorySilenceStore:
    """``SilenceStore`` in memory (unit tests; one process)."""

    def __init__(self, *, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self.silences: dict[int, Silence] = {}

    def add(self, *, engine: str, pattern: str, user: str, duration: timedelta) -> Silence:
        now = self._clock()
        silence = Silence(
            id=len(self.silences) + 1,
            engine=engine,
            pattern=pattern,
            created_by=user,
            created_at=now,
            until=now + duration,
        )
        self.silences[silence.id] = silence
        return silence

    def end(self, silence_id: int, *, user: str) -> Silence | None:
        now = self._clock()
        silence = self.silences.get(silence_id)
        if silence is None or not silence.active(now):
            return None
        ended = self.silences[silence_id] = replace(silence, ended_at=now, ended_by=user)
        return ended

    def active(self, *, engine: str | None = None, at: datetime | None = None) -> list[Silence]:
        when = at or self._clock()
        return [
            s
            for s in self.silences.values()
            if s.active(when) and (engine is None or s.engine == engine)
        ]
