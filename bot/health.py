"""Health: is the bot up, and do its engines answer? Bounded in time whatever the engines do.

``/healthz`` is often reachable by more people than the bot's operators, so it shows the status
and each engine's name with ok / unreachable, nothing more: engine addresses and error texts go
to the log (once per change, not once per probe).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from bot.core.engine import EngineDirectory
from bot.errors import ChatOpsError
from bot.periodic import Periodic

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class EngineHealth:
    name: str
    ok: bool
    detail: str = ""  # for the log only


@dataclass(frozen=True, kw_only=True, slots=True)
class Health:
    engines: tuple[EngineHealth, ...]
    default_engine: str
    starting: bool = False  # not ready yet (Slack not reached): not healthy whatever else
    streams: dict[str, bool] = field(default_factory=dict)  # engine -> streaming events now

    @property
    def ok(self) -> bool:
        """Healthy when ready and the default engine answers (others are reported only)."""
        if self.starting:
            return False
        return any(e.ok for e in self.engines if e.name == self.default_engine)

    def as_dict(self) -> dict[str, object]:
        status = "starting" if self.starting else "ok" if self.ok else "degraded"
        answer: dict[str, object] = {
            "status": status,
            "engines": {e.name: "ok" if e.ok else "unreachable" for e in self.engines},
        }
        if self.streams:
            answer["notifications"] = {
                name: "streaming" if live else "connecting" for name, live in self.streams.items()
            }
        return answer


class HealthCheck:
    """Pings every engine concurrently and waits at most ``deadline`` seconds for all of them.

    ``/healthz`` answers from the last result, which a background probe refreshes every
    ``interval`` seconds once started: a flood of probes (or a stalled engine) never holds an
    HTTP thread for the deadline. At most one ping per engine is in flight.
    """

    def __init__(
        self,
        *,
        engines: EngineDirectory,
        default_engine: str,
        deadline: float = 2.0,
        interval: float = 5.0,
        streams: Callable[[], dict[str, bool]] = dict,
    ) -> None:
        self._engines = engines
        self._default = default_engine
        self._streams = streams
        self._deadline = deadline
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")
        self._pending: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._last_detail: dict[str, str] = {}
        self._ready = threading.Event()
        self._latest: tuple[EngineHealth, ...] | None = None
        self._first = threading.Lock()  # one synchronous probe before the background has one
        self._probe = Periodic(name="health-probe", interval=interval, task=self._refresh_quietly)

    def start(self) -> None:
        """Keep the result fresh in the background."""
        self._probe.start()

    def ready(self) -> None:
        """Start-up is complete (Slack reached): health now depends on the engines."""
        self._ready.set()

    def check(self) -> Health:
        """The latest result (probing once now if there is none yet)."""
        latest = self._latest
        if latest is None:
            with self._first:
                latest = self._latest if self._latest is not None else self.refresh()
        return Health(
            engines=latest,
            default_engine=self._default,
            starting=not self._ready.is_set(),
            streams=self._streams(),
        )

    def refresh(self) -> tuple[EngineHealth, ...]:
        """Ping every engine now, within one budget, and keep the result."""
        futures = {name: self._ping(name) for name in self._engines.names()}
        # One budget for all engines together, not one per engine.
        wait(futures.values(), timeout=self._deadline)
        results = []
        for name, future in futures.items():
            if not future.done():
                detail = f"no answer within {self._deadline:g}s"
            elif (error := future.exception()) is not None:
                detail = str(error) if isinstance(error, ChatOpsError) else repr(error)
            else:
                detail = ""
            self._log_change(name, detail)
            results.append(EngineHealth(name=name, ok=not detail, detail=detail))
        self._latest = tuple(results)
        return self._latest

    def _log_change(self, name: str, detail: str) -> None:
        with self._lock:
            if self._last_detail.get(name, "") == detail:
                return
            self._last_detail[name] = detail
        if detail:
            log.warning("engine %s is unhealthy: %s", name, detail)
        else:
            log.info("engine %s answers again", name)

    def _ping(self, name: str) -> Future[None]:
        with self._lock:
            pending = self._pending.get(name)
            if pending is None or pending.done():
                pending = self._pool.submit(self._engines.get(name).ping)
                self._pending[name] = pending
            return pending

    def _refresh_quietly(self) -> None:
        self.refresh()

    def close(self) -> None:
        self._probe.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
