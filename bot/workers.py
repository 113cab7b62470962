"""Where work runs after Slack has been acknowledged: one fair, bounded queue per engine.

A stalled engine (it accepts connections and never answers) holds a worker until the engine
timeout. With one shared pool, a handful of commands to it would hold every worker, and
commands to healthy engines, ``approvals`` and button clicks would wait behind them. Here each
configured engine has its own workers (at most ``per_engine`` at once, created on demand) and
work that needs no engine has its own, so a stall stays with the engine that stalls. What waits
for a busy engine is bounded too: past ``max_waiting`` the request is refused at once with a
message, instead of queueing without end.

Within an engine, people share fairly (``FairLane``): one person's flood (45 ``run``s at once)
may neither fill the queue nor hold every worker. Each person may have at most
``per_engine - 1`` requests running (one worker is always left for someone else) and
``max_waiting // 4`` more waiting (past that their next one is refused, not anyone else's);
a free worker takes the waiting request of whoever has the fewest running, and among them of
whoever was served longest ago (round robin).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from bot.errors import EngineBusy

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True, slots=True)
class Share:
    """What one person may hold on a lane at once: ``running`` requests running and
    ``in_flight`` running or waiting (None: no bound)."""

    running: int
    in_flight: int | None

    @classmethod
    def of(cls, *, workers: int, max_waiting: int | None) -> Share:
        """One worker kept for others (when there are two or more); a quarter of the queue."""
        running = max(1, workers - 1)
        if max_waiting is None:
            return cls(running=running, in_flight=None)
        # A quarter of the queue, less whatever would leave nobody else a place.
        room = max(0, workers + max_waiting - running - 1)
        waiting = min(max(1, max_waiting // 4), room)
        return cls(running=running, in_flight=running + waiting)


@dataclass(frozen=True, slots=True)
class _Job:
    task: Callable[[], None]
    future: Future[None]


class FairQueue(Generic[T]):
    """The lane's bookkeeping, pure (no threads): who waits with what, who runs how many.

    ``user`` None is work on nobody's behalf: bounded only by the lane's total.
    """

    def __init__(self, *, workers: int, max_waiting: int | None) -> None:
        self.workers = workers
        self.total = None if max_waiting is None else workers + max_waiting
        self.share = Share.of(workers=workers, max_waiting=max_waiting)
        self._waiting: dict[str | None, deque[tuple[int, T]]] = {}
        self._running: dict[str | None, int] = {}
        # When each person was last started (a count): among people running as many, the
        # one served longest ago goes first (round robin), a newcomer before anyone.
        self._served: dict[str | None, int] = {}
        self._seq = itertools.count()
        self._starts = itertools.count()
        self.in_flight = 0

    def held(self, user: str | None) -> int:
        """``user``'s requests running or waiting."""
        return self._running.get(user, 0) + len(self._waiting.get(user, ()))

    def running(self, user: str | None) -> int:
        return self._running.get(user, 0)

    def full(self, user: str | None) -> Literal["lane", "share"] | None:
        """Why one more request by ``user`` cannot be taken (None: it can)."""
        if self.total is not None and self.in_flight >= self.total:
            return "lane"
        cap = self.share.in_flight
        if user is not None and cap is not None and self.held(user) >= cap:
            return "share"
        return None

    def push(self, user: str | None, item: T) -> None:
        """Queue ``item`` (the caller has checked ``full``)."""
        self._waiting.setdefault(user, deque()).append((next(self._seq), item))
        self.in_flight += 1

    def pop(self) -> tuple[str | None, T] | None:
        """Start the head of the queue of whoever has the fewest running, served longest
        ago, among those below their share; None if nobody may start now."""
        best: str | None = None
        best_key: tuple[int, int, int] | None = None
        for user, items in self._waiting.items():
            running = self._running.get(user, 0)
            if user is not None and running >= self.share.running:
                continue
            key = (
                (running, self._served.get(user, -1), items[0][0])
                if user is not None
                else (0, -1, items[0][0])
            )
            if best_key is None or key < best_key:
                best, best_key = user, key
        if best_key is None:
            return None
        items = self._waiting[best]
        _, item = items.popleft()
        if not items:
            del self._waiting[best]
        self._running[best] = self._running.get(best, 0) + 1
        self._served[best] = next(self._starts)
        return best, item

    def finish(self, user: str | None) -> None:
        """A request of ``user``'s that ``pop`` started has ended."""
        left = self._running[user] - 1
        if left:
            self._running[user] = left
        else:
            del self._running[user]
            if user not in self._waiting:
                self._served.pop(user, None)  # gone quiet: nothing to remember
        self.in_flight -= 1

    def waiting(self) -> bool:
        return bool(self._waiting)

    def drop_waiting(self) -> list[T]:
        """Everything not started, removed."""
        dropped = [item for items in self._waiting.values() for _, item in items]
        self._waiting.clear()
        self.in_flight -= len(dropped)
        return dropped


class FairLane:
    """``workers`` threads (started on demand) shared fairly between people."""

    def __init__(
        self, *, name: str, workers: int, max_waiting: int | None, threads: str | None = None
    ) -> None:
        """``name``: the engine, as people read it; ``threads``: its threads' name prefix."""
        self._name = name
        self._prefix = threads or name
        self._queue: FairQueue[_Job] = FairQueue(workers=workers, max_waiting=max_waiting)
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, task: Callable[[], None], *, user: str | None) -> Future[None]:
        """Queue ``task``; raise ``EngineBusy`` if the lane, or ``user``'s share of it, is full."""
        future: Future[None] = Future()
        queue = self._queue
        with self._cond:
            if self._closed:
                raise RuntimeError("the workers were shut down")
            match queue.full(user):
                case "lane":
                    raise EngineBusy(
                        f"Engine `{self._name}` is busy: {queue.in_flight} requests are running "
                        "or waiting for it (it may be stalled). Try again later."
                    )
                case "share":
                    raise EngineBusy(
                        f"You have {queue.held(user)} requests running or waiting for engine "
                        f"`{self._name}`, the most one person may have there at once (so that "
                        "others are not kept waiting). Try again when some have finished."
                    )
            queue.push(user, _Job(task, future))
            if len(self._threads) < min(queue.workers, queue.in_flight):
                thread = threading.Thread(
                    target=self._work, name=f"{self._prefix}_{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            self._cond.notify_all()
        return future

    @property
    def in_flight(self) -> int:
        with self._cond:
            return self._queue.in_flight

    def _work(self) -> None:
        while True:
            with self._cond:
                started = self._queue.pop()
                while started is None:
                    if self._closed and not self._queue.waiting():
                        return
                    self._cond.wait()
                    started = self._queue.pop()
            user, job = started
            try:
                if job.future.set_running_or_notify_cancel():
                    try:
                        job.task()
                    except Exception as err:  # a worker must never die silently
                        log.exception("background task failed")
                        job.future.set_exception(err)
                    else:
                        job.future.set_result(None)
            finally:
                with self._cond:
                    self._queue.finish(user)
                    self._cond.notify_all()

    def shutdown(self, *, wait: bool) -> None:
        """Take nothing more; ``wait``: finish everything queued, else drop what waits."""
        with self._cond:
            self._closed = True
            if not wait:
                for job in self._queue.drop_waiting():
                    job.future.cancel()
            self._cond.notify_all()
            threads = list(self._threads)
        if wait:
            for thread in threads:
                thread.join()


class EngineWorkers:
    """``submit(engine, task, user=...)``: run ``task`` on that engine's lane (None: no
    engine), fairly between people."""

    def __init__(
        self,
        *,
        engines: Iterable[str],
        per_engine: int,
        control_threads: int,
        max_waiting: int = 50,
    ) -> None:
        # Lanes exist only for configured engines: a user-typed `-c NAME` never creates one.
        self._lanes = {
            name: FairLane(
                name=name, workers=per_engine, max_waiting=max_waiting, threads=f"engine-{name}"
            )
            for name in engines
        }
        # Work that needs no engine is quick (the database, Slack): never refused, but shared.
        self._control = FairLane(name="control", workers=control_threads, max_waiting=None)

    def knows(self, engine: str | None) -> bool:
        return engine in self._lanes

    def submit(
        self, engine: str | None, task: Callable[[], None], *, user: str | None = None
    ) -> Future[None]:
        """Queue ``task`` for ``user``; raise ``EngineBusy`` if too much already waits for
        ``engine``, or ``user`` already holds their share of it."""
        lane = self._lanes.get(engine) if engine is not None else None
        return (lane or self._control).submit(task, user=user)

    def in_flight(self, engine: str) -> int:
        lane = self._lanes.get(engine)
        return lane.in_flight if lane is not None else 0

    def shutdown(self, *, wait: bool = True) -> None:
        for lane in (*self._lanes.values(), self._control):
            lane.shutdown(wait=wait)
