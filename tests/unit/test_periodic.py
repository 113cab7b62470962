"""Periodic tasks on APScheduler: run at start, again after a failure, and stop waits."""

from __future__ import annotations

import logging
import threading

import pytest

from bot.periodic import Periodic


def test_runs_at_start_and_again_after_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    twice = threading.Event()

    def task() -> None:
        runs.append(len(runs))
        if len(runs) >= 2:
            twice.set()
        if len(runs) == 1:
            raise RuntimeError("the first run fails")

    periodic = Periodic(name="test-periodic", interval=0.01, task=task)
    with caplog.at_level(logging.ERROR):
        periodic.start()
        try:
            assert twice.wait(timeout=10), "the task did not run again after failing"
        finally:
            periodic.stop()
    assert "the first run fails" in caplog.text  # the failure reached the log, with its cause


def test_stop_waits_for_a_run_under_way() -> None:
    inside, release = threading.Event(), threading.Event()
    finished: list[bool] = []

    def task() -> None:
        inside.set()
        release.wait(timeout=10)
        finished.append(True)

    periodic = Periodic(name="test-slow", interval=3600, task=task)
    periodic.start()
    assert inside.wait(timeout=10), "the task did not run at start"
    stopper = threading.Thread(target=periodic.stop)
    stopper.start()
    stopper.join(timeout=0.2)
    assert stopper.is_alive() and not finished  # stop is waiting for the run
    release.set()
    stopper.join(timeout=10)
    assert not stopper.is_alive() and finished == [True]
