"""Per-engine workers: a stalled engine holds only its own, and what waits for it is bounded."""

from __future__ import annotations

import threading

import pytest

from bot.errors import EngineBusy
from bot.workers import EngineWorkers


def test_a_stalled_engine_never_holds_other_work() -> None:
    workers = EngineWorkers(engines=["stalled", "healthy"], per_engine=2, control_threads=1,
                            max_waiting=1)  # fmt: skip
    stall = threading.Event()
    started = threading.Semaphore(0)

    def stuck() -> None:
        started.release()
        stall.wait(30)

    try:
        for _ in range(3):  # two run, one waits
            workers.submit("stalled", stuck)
        for _ in range(2):
            assert started.acquire(timeout=30)
        with pytest.raises(EngineBusy, match="Engine `stalled` is busy: 3 requests"):
            workers.submit("stalled", stuck)
        done = []
        workers.submit("healthy", lambda: done.append("engine")).result(timeout=30)
        workers.submit(None, lambda: done.append("control")).result(timeout=30)
        # A name nobody configured gets no pool of its own: it runs as control work.
        workers.submit("typed-by-a-user", lambda: done.append("unknown")).result(timeout=30)
        assert done == ["engine", "control", "unknown"]
        assert workers.in_flight("stalled") == 3
    finally:
        stall.set()
        workers.shutdown(wait=True)
    assert workers.in_flight("stalled") == 0
