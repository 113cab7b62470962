"""A one-line pull progress bar for terminals, fed by ``PullProgress`` events."""

from __future__ import annotations

import time
from typing import TextIO

from bot.core.results import PullProgress

_WIDTH = 30


class TerminalProgress:
    """Aggregates per-layer progress and redraws one line, at most ``rate`` times a second."""

    def __init__(self, *, stream: TextIO, rate: float = 10.0) -> None:
        self._stream = stream
        self._interval = 1.0 / rate
        self._layers: dict[str, tuple[int, int]] = {}
        self._done: set[str] = set()
        self._last_draw = 0.0
        self._drawn = False

    def __call__(self, event: PullProgress) -> None:
        if event.total:
            self._layers[event.layer] = (event.current or 0, event.total)
        if event.status in ("Pull complete", "Already exists", "Download complete"):
            self._done.add(event.layer)
        now = time.monotonic()
        if now - self._last_draw >= self._interval:
            self._last_draw = now
            self._draw()

    def finish(self) -> None:
        """Clear the bar so that the result prints on a clean line."""
        if self._drawn:
            self._stream.write("\r" + " " * (_WIDTH + 40) + "\r")
            self._stream.flush()

    def _draw(self) -> None:
        current = sum(done for done, _ in self._layers.values())
        total = sum(size for _, size in self._layers.values())
        fraction = current / total if total else 0.0
        filled = int(fraction * _WIDTH)
        bar = "#" * filled + "-" * (_WIDTH - filled)
        layers = f"{len(self._done)}/{max(len(self._layers), len(self._done))} layers"
        self._stream.write(f"\rPulling [{bar}] {fraction:4.0%} {layers}")
        self._stream.flush()
        self._drawn = True
