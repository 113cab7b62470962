"""What a team is told about one engine: the kinds of event, where, and how quietly."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from bot.core.parsing.units import parse_duration
from bot.core.protection import is_protected
from bot.errors import ParseError


class NoticeKind(StrEnum):
    """What happened, as configured in ``[notifications] events``."""

    CRASH = "crash"  # exited with a non-zero code, nobody asked it to stop
    OOM = "oom"  # killed for lack of memory
    UNHEALTHY = "unhealthy"  # its health check failed
    RESTART_LOOP = "restart_loop"  # restarted several times within a short span
    ENGINE = "engine"  # the engine became unreachable, or is back


DEFAULT_KINDS = tuple(NoticeKind)


@dataclass(frozen=True, kw_only=True, slots=True)
class RestartLoop:
    """``count`` restarts within ``span`` make a loop."""

    count: int = 3
    span: timedelta = timedelta(minutes=5)


_LOOP = re.compile(r"\s*(\d{1,3})\s+in\s+(\S{1,32})\s*\Z")


def parse_restart_loop(text: str) -> RestartLoop:
    """``"3 in 5m"`` -> ``RestartLoop(count=3, span=5 minutes)``."""
    match = _LOOP.match(text)
    if match is None:
        raise ParseError(f'Invalid restart_loop {text!r}: use e.g. "3 in 5m".')
    count = int(match.group(1))
    if count < 2:
        raise ParseError(f"Invalid restart_loop {text!r}: a loop takes at least 2 restarts.")
    span = parse_duration(match.group(2), option="restart_loop")
    if span <= timedelta(0):
        raise ParseError(f"Invalid restart_loop {text!r}: the span must be longer than 0.")
    return RestartLoop(count=count, span=span)


@dataclass(frozen=True, kw_only=True, slots=True)
class NotificationRules:
    """One engine's notification rules (``[notifications]``, overridden per engine)."""

    channel: str
    kinds: frozenset[NoticeKind] = frozenset(DEFAULT_KINDS)
    quiet_label: str = "chatops.quiet"
    exclude: tuple[str, ...] = ()  # globs on container names and image references
    group_window: timedelta = timedelta(minutes=10)
    restart_loop: RestartLoop = field(default_factory=RestartLoop)

    def ignores(self, *, name: str, image: str, labels: Mapping[str, str]) -> bool:
        """True for a container the team never hears about (protected, quiet label,
        ``exclude``): a protected container's buttons could not be used from chat anyway."""
        if is_protected(labels):
            return True
        if labels.get(self.quiet_label, "").strip().lower() in ("true", "1", "yes"):
            return True
        return any(
            fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(image, pattern)
            for pattern in self.exclude
        )
