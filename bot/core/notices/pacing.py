"""A token bucket: at most ``rate`` per second on average, ``burst`` at once."""

from __future__ import annotations


class TokenBucket:
    """Pure: the caller passes the (monotonic) time."""

    def __init__(self, *, rate: float, burst: float, now: float) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._at = now

    def take(self, now: float) -> bool:
        """Spend one token if there is one."""
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = max(self._at, now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
