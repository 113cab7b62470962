"""Pull progress in a terminal: one line, redrawn in place."""

from __future__ import annotations

from typing import TextIO

from bot.core.results import PullProgress
from bot.render.progress import PullTracker, Throttle


class TerminalProgress:
    """Redraws one terminal line, at most ``rate`` times a second."""

    def __init__(self, *, stream: TextIO, rate: float = 10.0) -> None:
        self._stream = stream
        self._tracker = PullTracker()
        self._throttle = Throttle(interval=1.0 / rate)
        self._width = 0

    def __call__(self, event: PullProgress) -> None:
        self._tracker.add(event)
        if self._throttle.ready():
            line = f"Pulling {self._tracker.line()}"
            self._width = max(self._width, len(line))
            self._stream.write("\r" + line)
            self._stream.flush()

    def finish(self) -> None:
        """Clear the bar so that the result prints on a clean line."""
        if self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
