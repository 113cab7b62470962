"""Where work runs after Slack has been acknowledged: one bounded queue per engine.

A stalled engine (it accepts connections and never answers) holds a worker until the engine
timeout. With one shared pool, a handful of commands to it would hold every worker, and
commands to healthy engines, ``approvals`` and button clicks would wait behind them. Here each
configured engine has its own workers (at most ``per_engine`` at once, created on demand) and
work that needs no engine has its own pool, so a stall stays with the engine that stalls.
What waits for a busy engine is bounded too: past ``max_waiting`` the request is refused at
once with a message, instead of queueing without end.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from bot.errors import EngineBusy

log = logging.getLogger(__name__)


class EngineWorkers:
    """``submit(engine, task)``: run ``task`` on that engine's workers (None: no engine)."""

    def __init__(
        self, *, engines: Iterable[str], per_engine: int, control_threads: int,
        max_waiting: int = 50,
    ) -> None:  # fmt: skip
        self._per_engine = per_engine
        self._max_waiting = max_waiting
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        # Pools exist only for configured engines: a user-typed `-c NAME` never creates one.
        self._pools = {
            name: ThreadPoolExecutor(max_workers=per_engine, thread_name_prefix=f"engine-{name}")
            for name in engines
        }
        self._control = ThreadPoolExecutor(
            max_workers=control_threads, thread_name_prefix="control"
        )

    def knows(self, engine: str | None) -> bool:
        return engine in self._pools

    def submit(self, engine: str | None, task: Callable[[], None]) -> Future[None]:
        """Queue ``task``; raise ``EngineBusy`` if too much already waits for ``engine``."""
        pool = self._pools.get(engine) if engine is not None else None
        if pool is None or engine is None:
            return self._control.submit(_logged, task)
        with self._lock:
            busy = self._in_flight.get(engine, 0)
            if busy >= self._per_engine + self._max_waiting:
                raise EngineBusy(
                    f"Engine `{engine}` is busy: {busy} requests are running or waiting for it "
                    "(it may be stalled). Try again later."
                )
            self._in_flight[engine] = busy + 1
        future = pool.submit(_logged, task)
        future.add_done_callback(lambda _: self._done(engine))
        return future

    def in_flight(self, engine: str) -> int:
        with self._lock:
            return self._in_flight.get(engine, 0)

    def _done(self, engine: str) -> None:
        with self._lock:
            self._in_flight[engine] -= 1

    def shutdown(self, *, wait: bool = True) -> None:
        for pool in (*self._pools.values(), self._control):
            pool.shutdown(wait=wait, cancel_futures=not wait)


def _logged(task: Callable[[], None]) -> None:
    try:
        task()
    except Exception:  # a worker must never die silently; callers tell the person
        log.exception("background task failed")
