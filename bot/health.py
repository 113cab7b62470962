"""Health: is the bot up, and do its engines answer? Bounded in time whatever the engines do."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from bot.core.engine import EngineDirectory
from bot.errors import ChatOpsError


@dataclass(frozen=True, kw_only=True, slots=True)
class EngineHealth:
    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Health:
    engines: tuple[EngineHealth, ...]
    default_engine: str

    @property
    def ok(self) -> bool:
        """Healthy when the default engine answers (other engines are reported, not required)."""
        return any(e.ok for e in self.engines if e.name == self.default_engine)

    def as_dict(self) -> dict[str, object]:
        return {
            "status": "ok" if self.ok else "degraded",
            "default_engine": self.default_engine,
            "engines": {e.name: {"ok": e.ok, **({"detail": e.detail} if e.detail else {})}
                        for e in self.engines},
        }  # fmt: skip


class HealthCheck:
    """Pings every engine concurrently and waits at most ``deadline`` seconds.

    At most one ping per engine is in flight: a stalled engine does not gather a thread per
    health request.
    """

    def __init__(self, *, engines: EngineDirectory, default_engine: str, deadline: float = 2.0):
        self._engines = engines
        self._default = default_engine
        self._deadline = deadline
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")
        self._pending: dict[str, Future[None]] = {}
        self._lock = threading.Lock()

    def check(self) -> Health:
        futures = {name: self._ping(name) for name in self._engines.names()}
        results = []
        for name, future in futures.items():
            try:
                future.result(timeout=self._deadline)
                results.append(EngineHealth(name=name, ok=True))
            except FutureTimeout:
                detail = f"no answer within {self._deadline:g}s"
                results.append(EngineHealth(name=name, ok=False, detail=detail))
            except ChatOpsError as err:
                results.append(EngineHealth(name=name, ok=False, detail=str(err)))
        return Health(engines=tuple(results), default_engine=self._default)

    def _ping(self, name: str) -> Future[None]:
        with self._lock:
            pending = self._pending.get(name)
            if pending is None or pending.done():
                pending = self._pool.submit(self._engines.get(name).ping)
                self._pending[name] = pending
            return pending

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
