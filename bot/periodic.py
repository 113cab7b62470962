"""A task run every ``interval`` seconds, by APScheduler, which never dies of an exception."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

# APScheduler says at INFO each time a job runs and ends: every few seconds here. A job that
# fails is logged by its executor at ERROR, with the traceback, and runs again next time.
logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
logging.getLogger("apscheduler.scheduler").setLevel(logging.WARNING)


class Periodic:
    """Runs ``task`` at start and then every ``interval`` seconds until ``stop()``: never two
    runs at once, and runs missed while one was slow are one run, not a burst."""

    def __init__(self, *, name: str, interval: float, task: Callable[[], None]) -> None:
        self._name = name
        self._interval = interval
        self._task = task
        self._idle = threading.Event()
        self._idle.set()
        self._scheduler: BackgroundScheduler | None = None

    def start(self) -> None:
        # Imported on start: the console and `exec` build services with periodic tasks they
        # never start, and importing APScheduler costs them ~30 ms.
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
            daemon=True,
        )
        self._scheduler.add_job(
            self._run,
            IntervalTrigger(seconds=self._interval, timezone=UTC),
            id=self._name,
            name=self._name,
            next_run_time=datetime.now(UTC),
        )
        self._scheduler.start()

    def stop(self) -> None:
        """Stop scheduling, and wait (up to 10 s) for a run under way to end."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._idle.wait(timeout=10)

    def _run(self) -> None:
        self._idle.clear()
        try:
            self._task()
        finally:
            self._idle.set()
