"""Acknowledgements first: engine work waits (briefly) while Slack requests are coming in.

Slack needs its HTTP 200 within 3 s; engine work can wait a moment. All of it shares one
interpreter (and the engine shares the machine), so work that starts during a burst of commands
takes CPU from the burst's own acknowledgements. Workers therefore hold back until requests
have stopped arriving for ``settle`` seconds, for at most ``max_defer`` seconds: work is
delayed a little and never starved.
"""

from __future__ import annotations

import threading
import time


class AckFirst:
    """Counts requests being acknowledged; lets work wait for a quiet moment."""

    def __init__(self, *, settle: float = 0.05, max_defer: float = 1.0) -> None:
        self._settle = settle
        self._max_defer = max_defer
        self._in_flight = 0
        self._arrivals = 0
        self._quiet = threading.Condition()

    def started(self) -> None:
        with self._quiet:
            self._in_flight += 1
            self._arrivals += 1

    def finished(self) -> None:
        with self._quiet:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._quiet.notify_all()

    def wait_for_quiet(self) -> None:
        """Return once no request has been in flight for ``settle`` seconds, or after
        ``max_defer`` seconds whatever happens."""
        deadline = time.monotonic() + self._max_defer
        with self._quiet:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                if self._in_flight:
                    self._quiet.wait(left)
                    continue
                arrivals = self._arrivals
                self._quiet.wait(min(self._settle, left))
                if self._in_flight == 0 and self._arrivals == arrivals:
                    return
