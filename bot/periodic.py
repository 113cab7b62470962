"""A task run every ``interval`` seconds on a daemon thread, which never dies of an exception."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    """Runs ``task`` at start and then every ``interval`` seconds until ``stop()``."""

    def __init__(self, *, name: str, interval: float, task: Callable[[], None]) -> None:
        self._name = name
        self._interval = interval
        self._task = task
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._task()
            except Exception:
                log.exception("%s failed", self._name)
            self._stop.wait(self._interval)
