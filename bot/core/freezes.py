"""Change freezes: windows in which changes wait, as plain values and pure functions.

A window is fixed (``start``/``end``) or recurring (a schedule's fire times, each opening a
window of ``duration``). The schedule is injected as a function (``next_fire``: the first fire
time strictly after a moment), so this module imports no scheduler, and reads no clock but the
one injected into ``FreezeCalendar``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

NextFire = Callable[[datetime], datetime | None]


@dataclass(frozen=True, kw_only=True, slots=True)
class Window:
    """One window in force from ``start`` (inclusive) to ``end`` (exclusive)."""

    start: datetime
    end: datetime
    reason: str
    engines: frozenset[str] = frozenset()  # empty: every engine
    actions: frozenset[str] = frozenset()  # empty: every change

    def covers(self, *, engine: str, action: str) -> bool:
        return (not self.engines or engine in self.engines) and (
            not self.actions or action in self.actions
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Freeze:
    """A configured freeze: fixed (``start``/``end``) or recurring (``next_fire``, ``duration``)."""

    reason: str
    start: datetime | None = None
    end: datetime | None = None
    next_fire: NextFire | None = None
    duration: timedelta = timedelta(0)
    engines: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        fixed = self.start is not None and self.end is not None
        if fixed == (self.next_fire is not None):
            raise ValueError("a freeze has start and end, or schedule and duration")
        if fixed and self.end <= self.start:  # type: ignore[operator]
            raise ValueError(f"freeze {self.reason!r} ends ({self.end}) before it starts")
        if not fixed and self.duration <= timedelta(0):
            raise ValueError(f"freeze {self.reason!r} has a schedule but no positive duration")

    def windows_from(self, moment: datetime) -> list[Window]:
        """The window holding ``moment`` (if any), then the next one to open."""
        if self.start is not None and self.end is not None:
            return [self._window(self.start, self.end)] if self.end > moment else []
        assert self.next_fire is not None
        found: list[Window] = []
        # A window that opened up to ``duration`` ago is still in force.
        fire = self.next_fire(moment - self.duration)
        while fire is not None and len(found) < 2:
            window = self._window(fire, fire + self.duration)
            if window.end > moment:
                found.append(window)
            if fire > moment:
                break
            fire = self.next_fire(fire)
        return found

    def _window(self, start: datetime, end: datetime) -> Window:
        return Window(
            start=start, end=end, reason=self.reason, engines=self.engines, actions=self.actions
        )


def in_force(
    freezes: tuple[Freeze, ...], *, now: datetime, engine: str, action: str
) -> Window | None:
    """The window that freezes ``action`` on ``engine`` at ``now`` (the latest-ending), or None."""
    held = [
        window
        for freeze in freezes
        for window in freeze.windows_from(now)
        if window.start <= now < window.end and window.covers(engine=engine, action=action)
    ]
    return max(held, key=lambda window: window.end, default=None)


def next_window(freezes: tuple[Freeze, ...], *, now: datetime) -> Window | None:
    """The next window to open after ``now``, or None."""
    upcoming = [
        window for freeze in freezes for window in freeze.windows_from(now) if window.start > now
    ]
    return min(upcoming, key=lambda window: window.start, default=None)


def refusal(window: Window) -> str:
    """What a person reads when a window holds their change."""
    return f"changes are frozen until {when(window.end)}: {window.reason} ([[freeze]])"


def when(moment: datetime) -> str:
    """A window's start or end as people read it, in the window's own timezone."""
    return f"{moment:%Y-%m-%d %H:%M %Z}"


# What the bot's own scheduled work counts as, for a window's ``actions``: housekeeping removes
# containers and images like ``cleanup``; the update check posts Upgrade buttons.
HOUSEKEEPING_ACTION = "cleanup"
UPDATE_CHECK_ACTION = "upgrade"


def skipped(window: Window, *, engine: str) -> str:
    """What the bot's own scheduled work says when ``window`` holds it on ``engine``."""
    return f"skipped on {engine}: frozen ({window.reason}) until {when(window.end)}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Outlook:
    """The windows in force at a moment (soonest ending first) and the next one to open."""

    in_force: tuple[Window, ...]
    upcoming: Window | None


def outlook(freezes: tuple[Freeze, ...], *, now: datetime) -> Outlook:
    """What is frozen at ``now``, on any engine and action, and what is frozen next."""
    held = (
        window
        for freeze in freezes
        for window in freeze.windows_from(now)
        if window.start <= now < window.end
    )
    return Outlook(
        in_force=tuple(sorted(held, key=lambda window: window.end)),
        upcoming=next_window(freezes, now=now),
    )


class FreezeCalendar:
    """The configured windows and the clock that reads them, for the bot's scheduled work and
    the Home tab (the policy asks ``in_force`` itself)."""

    def __init__(self, *, freezes: tuple[Freeze, ...], clock: Callable[[], datetime]) -> None:
        self._freezes = freezes
        self._clock = clock

    @property
    def freezes(self) -> tuple[Freeze, ...]:
        return self._freezes

    def holding(self, engine: str, action: str) -> Window | None:
        """The window that holds ``action`` on ``engine`` now, or None."""
        if not self._freezes:
            return None
        return in_force(self._freezes, now=self._clock(), engine=engine, action=action)

    def outlook(self) -> Outlook:
        return outlook(self._freezes, now=self._clock())


def windows_between(
    freeze: Freeze, *, since: datetime, until: datetime, limit: int
) -> list[Window]:
    """The windows of ``freeze`` in force at some moment in [since, until), at most ``limit``."""
    if freeze.start is not None and freeze.end is not None:
        window = freeze._window(freeze.start, freeze.end)
        return [window] if window.end > since and window.start < until else []
    assert freeze.next_fire is not None
    found: list[Window] = []
    fire = freeze.next_fire(since - freeze.duration)
    while fire is not None and fire < until and len(found) < limit:
        window = freeze._window(fire, fire + freeze.duration)
        if window.end > since:
            found.append(window)
        fire = freeze.next_fire(fire)
    return found


def clash(
    freezes: tuple[Freeze, ...], *, since: datetime, until: datetime, limit: int = 2000
) -> tuple[Window, Window] | None:
    """Two windows of different reasons that overlap between ``since`` and ``until``: a
    person refused by one would read a reason the other contradicts."""
    windows = sorted(
        (
            window
            for freeze in freezes
            for window in windows_between(freeze, since=since, until=until, limit=limit)
        ),
        key=lambda window: window.start,
    )
    for index, first in enumerate(windows):
        for second in windows[index + 1 :]:
            if second.start >= first.end:
                break
            if second.reason != first.reason and _may_meet(first, second):
                return first, second
    return None


def _may_meet(first: Window, second: Window) -> bool:
    # Windows on disjoint engines or disjoint actions never hold the same change.
    engines = not first.engines or not second.engines or bool(first.engines & second.engines)
    actions = not first.actions or not second.actions or bool(first.actions & second.actions)
    return engines and actions
