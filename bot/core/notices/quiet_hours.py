"""Quiet hours: notices of the listed kinds wait, and are told as one digest when the hours end.

``[notifications] quiet_hours = "22:00-07:00"`` in ``timezone``; the kinds in ``quiet_events``
wait (an engine that goes down never does). Plain values and pure functions: the clock is the
caller's; what waits is kept by a ``HeldNotices`` store (``bot.state.held_notices`` in the
database), and ``digest_text`` says it when the hours are over.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Protocol

from bot.core.notices.classify import Occurrence
from bot.core.notices.rules import NoticeKind
from bot.errors import ParseError

_SPAN = re.compile(r"\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)\s*\Z")
# Kinds that may wait by default: what can wait for the morning. An engine that goes down is
# never among them (refused in the settings).
DEFAULT_QUIET_KINDS = (NoticeKind.CRASH, NoticeKind.UNHEALTHY, NoticeKind.RESTART_LOOP)
# The most containers a digest names; the rest are counted.
DIGEST_NAMES = 40

_SAID = {  # kind -> (what the container did, one, several)
    NoticeKind.CRASH: ("crashed", "crash", "crashes"),
    NoticeKind.OOM: ("was OOM-killed", "OOM kill", "OOM kills"),
    NoticeKind.UNHEALTHY: ("turned unhealthy", "unhealthy check", "unhealthy checks"),
    NoticeKind.RESTART_LOOP: ("restarted in a loop", "restart loop", "restart loops"),
    NoticeKind.ENGINE: ("had an engine event", "engine event", "engine events"),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class QuietHours:
    """From ``start`` to ``end`` (wall-clock times in ``zone``; past midnight when end < start)."""

    start: time
    end: time
    zone: tzinfo
    kinds: frozenset[NoticeKind] = frozenset(DEFAULT_QUIET_KINDS)

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("quiet hours that start when they end hold always or never")
        if NoticeKind.ENGINE in self.kinds:
            raise ValueError("an engine that goes down is always told at once")

    def holds(self, now: datetime) -> bool:
        """Is ``now`` (aware) inside the quiet hours?"""
        clock = now.astimezone(self.zone).time()
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def holds_back(self, kind: NoticeKind, now: datetime) -> bool:
        """Does a notice of ``kind`` wait at ``now``?"""
        return kind in self.kinds and self.holds(now)

    def text(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_quiet_hours(text: str) -> tuple[time, time]:
    """``"22:00-07:00"`` -> (22:00, 07:00); the same start and end is refused."""
    match = _SPAN.match(text)
    if match is None:
        raise ParseError(f'Invalid quiet_hours {text!r}: use e.g. "22:00-07:00".')
    start = time(int(match.group(1)), int(match.group(2)))
    end = time(int(match.group(3)), int(match.group(4)))
    if start == end:
        raise ParseError(f"Invalid quiet_hours {text!r}: it starts when it ends.")
    return start, end


# What waited, for one channel: (engine, container name, kind) -> how many times.
HeldCounts = Mapping[tuple[str, str, NoticeKind], int]


class HeldNotices(Protocol):
    """Where notices wait during quiet hours (the database, so a restart loses none)."""

    def hold(self, *, channel: str, occurrence: Occurrence, at: datetime) -> None:
        """Count ``occurrence`` in ``channel``'s digest."""
        ...

    def channels(self) -> list[str]:
        """The channels with notices waiting."""
        ...

    def take(self, channel: str) -> dict[tuple[str, str, NoticeKind], int]:
        """What waits for ``channel``, removed (one taker gets it, however many replicas)."""
        ...


class InMemoryHeldNotices:
    """``HeldNotices`` in this process only (tests; a service without a database)."""

    def __init__(self) -> None:
        self._held: dict[str, Counter[tuple[str, str, NoticeKind]]] = {}
        self._lock = threading.Lock()

    def hold(self, *, channel: str, occurrence: Occurrence, at: datetime) -> None:
        with self._lock:
            counts = self._held.setdefault(channel, Counter())
            counts[(occurrence.engine, occurrence.name, occurrence.kind)] += 1

    def channels(self) -> list[str]:
        with self._lock:
            return [channel for channel, counts in self._held.items() if counts]

    def take(self, channel: str) -> dict[tuple[str, str, NoticeKind], int]:
        with self._lock:
            return dict(self._held.pop(channel, Counter()))


def digest_text(hours: QuietHours, counts: HeldCounts) -> str:
    """The digest of what waited, as plain text (the chat adapter escapes it)."""
    totals = Counter[NoticeKind]()
    for (_, _, kind), count in counts.items():
        totals[kind] += count
    said = [
        f"{totals[kind]} {_SAID[kind][1 if totals[kind] == 1 else 2]}"
        for kind in NoticeKind
        if totals[kind]
    ]
    lines = [f"While it was quiet ({hours.text()}): {', '.join(said)}."]
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0][1], item[0][0]))
    for (engine, name, kind), count in ordered[:DIGEST_NAMES]:
        times = "" if count == 1 else f" ({count} times)"
        lines.append(f"• {name} on {engine} {_SAID[kind][0]}{times}")
    if len(ordered) > DIGEST_NAMES:
        lines.append(f"… and {len(ordered) - DIGEST_NAMES} more")
    return "\n".join(lines)


def until_end(hours: QuietHours, now: datetime) -> timedelta:
    """How long the quiet hours in force at ``now`` still last (zero outside them)."""
    if not hours.holds(now):
        return timedelta(0)
    local = now.astimezone(hours.zone)
    end = datetime.combine(local.date(), hours.end, tzinfo=hours.zone)
    if end <= local:
        end += timedelta(days=1)
    return end - local
