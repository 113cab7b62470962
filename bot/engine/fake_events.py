"""An in-memory ``EventSource`` for tests: events are emitted by hand, the engine can go down.

Keeps every event emitted (a real engine keeps a window of them) so that ``since=`` replays
work as they do on Docker; ``down()`` ends live streams and makes every call fail as an
unreachable engine does, until ``up()``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from bot.core.notices.events import ContainerBrief, ContainerEvent, NoticeDetails
from bot.errors import EngineUnreachable

_END = object()


class _Stream:
    def __init__(self, *, replay: list[ContainerEvent], live: bool) -> None:
        self._queue: queue.Queue[object] = queue.Queue()
        for event in replay:
            self._queue.put(event)
        if not live:
            self._queue.put(_END)

    def put(self, event: ContainerEvent) -> None:
        self._queue.put(event)

    def __iter__(self) -> Iterator[ContainerEvent]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            assert isinstance(item, ContainerEvent)
            yield item

    def close(self) -> None:
        self._queue.put(_END)


class FakeEventSource:
    """``EventSource`` for one fake engine."""

    def __init__(self, *, name: str = "fake", time_ns: int = 1_700_000_000_000_000_000) -> None:
        self._name = name
        self.time_ns = time_ns
        self._events: list[ContainerEvent] = []
        self._live: list[_Stream] = []
        self._up = True
        self._lock = threading.Lock()
        self.containers_now: list[ContainerBrief] = []
        self.details = NoticeDetails(log_tail="last line\n")
        self.opened = 0  # streams opened, replays included

    @property
    def name(self) -> str:
        return self._name

    def emit(self, event: ContainerEvent, *, deliver: bool = True) -> None:
        """Record ``event``; live streams get it unless ``deliver`` is False (a lost one)."""
        with self._lock:
            self._events.append(event)
            self.time_ns = max(self.time_ns, event.time_ns)
            streams = list(self._live) if deliver else []
        for stream in streams:
            stream.put(event)

    def down(self) -> None:
        with self._lock:
            self._up = False
            streams, self._live = self._live, []
        for stream in streams:
            stream.close()

    def up(self) -> None:
        with self._lock:
            self._up = True

    def _check(self) -> None:
        if not self._up:
            raise EngineUnreachable(f"Cannot reach Docker engine `{self._name}`: it is down.")

    def engine_time_ns(self) -> int:
        self._check()
        return self.time_ns

    def events(self, *, since_ns: int, until_ns: int | None = None) -> _Stream:
        with self._lock:
            self._check()
            self.opened += 1
            replay = [
                e
                for e in self._events
                if e.time_ns >= since_ns and (until_ns is None or e.time_ns <= until_ns)
            ]
            stream = _Stream(replay=replay, live=until_ns is None)
            if until_ns is None:
                self._live.append(stream)
        return stream

    def containers(self) -> list[ContainerBrief]:
        self._check()
        return list(self.containers_now)

    def notice_details(self, container_id: str, *, lines: int) -> NoticeDetails:
        self._check()
        return self.details
