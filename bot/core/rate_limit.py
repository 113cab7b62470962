"""Each person's share of the bot: at most ``limit`` commands and clicks in any ``window``.

A sliding window (the times of a person's admitted requests within the last minute), not a
token bucket: "30 a minute" then means what it says for any minute, and the time to retry is
exact (when the oldest admitted request leaves the window). Refused requests are not counted,
so hammering never moves the retry time further away. Pure and clock-injected: the tests move
the clock instead of waiting.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import RateLimited


@dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    """Whether a request is admitted; if not, in how many seconds the person may retry."""

    admitted: bool
    retry_after: float = 0.0
    # The first refusal since the person was last admitted: where telling them costs a
    # Slack call (mentions, clicks), only this one is told, so a flood costs no flood of calls.
    first_refusal: bool = False

    @property
    def retry_seconds(self) -> int:
        """Whole seconds to wait, never 0 for a refusal."""
        return max(1, math.ceil(self.retry_after - 1e-9)) if not self.admitted else 0


ADMITTED = Verdict(admitted=True)


class RateLimiter:
    """``admit(user)``: count a request by ``user`` and say whether it may go on.

    ``limit`` 0 admits everything. Memory is bounded by ``limit`` times the number of people
    seen within one window: a person idle for a window is forgotten.
    """

    def __init__(
        self, *, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 0 or window <= 0:
            raise ValueError("limit must be >= 0 and window > 0")
        self._limit = limit
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._admitted: dict[str, deque[float]] = {}
        self._refused: set[str] = set()  # told once since their last admitted request
        self._next_sweep = 0.0

    @property
    def limit(self) -> int:
        return self._limit

    def admit(self, user: str) -> Verdict:
        if self._limit == 0:
            return ADMITTED
        now = self._clock()
        with self._lock:
            self._sweep(now)
            times = self._admitted.setdefault(user, deque())
            horizon = now - self._window
            while times and times[0] <= horizon:
                times.popleft()
            if len(times) < self._limit:
                times.append(now)
                self._refused.discard(user)
                return ADMITTED
            first = user not in self._refused
            self._refused.add(user)
            return Verdict(admitted=False, retry_after=times[0] - horizon, first_refusal=first)

    def _sweep(self, now: float) -> None:
        """Forget people with nothing in the window (once a window, so it stays cheap)."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._window
        horizon = now - self._window
        for user in [u for u, times in self._admitted.items() if not times or times[-1] <= horizon]:
            del self._admitted[user]
            self._refused.discard(user)


def refusal(verdict: Verdict, *, limit: int) -> RateLimited:
    """What a refused person reads: the limit, the setting, and when to try again."""
    return RateLimited(
        f"Too many requests: you sent {limit} commands and clicks within a minute, the most "
        f"one person may ([access] user_rate_limit). Try again in {verdict.retry_seconds} s."
    )
