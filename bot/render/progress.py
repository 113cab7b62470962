"""Pull progress, for every platform: per-layer events aggregated into one bar, and a throttle
for redrawing it."""

from __future__ import annotations

import time

from bot.core.results import PullProgress

_FINISHED = frozenset({"Pull complete", "Already exists", "Download complete"})


class PullTracker:
    """Aggregates ``PullProgress`` events from all layers into one fraction."""

    def __init__(self) -> None:
        self._layers: dict[str, tuple[int, int]] = {}
        self._done: set[str] = set()

    def add(self, event: PullProgress) -> None:
        if event.total:
            self._layers[event.layer] = (event.current or 0, event.total)
        if event.status in _FINISHED:
            self._done.add(event.layer)

    @property
    def fraction(self) -> float:
        total = sum(size for _, size in self._layers.values())
        current = sum(done for done, _ in self._layers.values())
        return min(current / total, 1.0) if total else 0.0

    def line(self, *, width: int = 30, fill: str = "#", empty: str = "-") -> str:
        """``[#####-----]  50% 2/4 layers``."""
        filled = int(self.fraction * width)
        layers = max(len(self._layers), len(self._done))
        bar = fill * filled + empty * (width - filled)
        return f"[{bar}] {self.fraction:4.0%} {len(self._done)}/{layers} layers"


class Throttle:
    """True at most once per ``interval`` seconds."""

    def __init__(self, *, interval: float) -> None:
        self._interval = interval
        self._last = float("-inf")

    def ready(self) -> bool:
        now = time.monotonic()
        if now - self._last < self._interval:
            return False
        self._last = now
        return True
