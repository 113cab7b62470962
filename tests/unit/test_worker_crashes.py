"""A parallel worker that dies (tests/worker_crashes.py): the run says how, and the test it was
running counts by its second run; a test that kills its worker every time fails the run."""

from __future__ import annotations

import pytest

from tests.conftest import REPO

pytest_plugins = ("pytester",)

CONFTEST = """
from tests.worker_crashes import register

def pytest_configure(config):
    register(config)
"""

TESTS = """
import os
import signal
from pathlib import Path

def test_kills_its_worker_once():
    marker = Path(os.environ["CRASH_MARKER"])
    if not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)

def test_kills_its_worker_every_time():
    if os.environ.get("CRASH_ALWAYS"):
        os.kill(os.getpid(), signal.SIGTERM)

def test_fine():
    pass
"""


LATER = """
def test_later():
    pass
"""

# scripts/test's scheduler, which queues a dead worker's unfinished file again, and xdist's
# default, which is asked to run the crashed test again.
DIST_MODES = pytest.mark.parametrize("dist", ["loadfile", "load"])


def run(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    *,
    dist: str,
    workers: str = "2",
    restarts: str = "2",
) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_crashing=TESTS, test_later=LATER)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    return pytester.runpytest_subprocess(
        "-p", "xdist", "-n", workers, "--dist", dist, "--max-worker-restart", restarts,
        "-p", "no:cacheprovider",
    )  # fmt: skip


@DIST_MODES
def test_a_worker_killed_once_is_told_and_its_test_runs_again(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: str
) -> None:
    monkeypatch.setenv("CRASH_MARKER", str(pytester.path / "crashed-once"))
    result = run(pytester, monkeypatch, dist=dist)
    result.stdout.fnmatch_lines(
        [
            "*parallel workers that died*",
            "gw*: Not properly terminated; killed by SIGKILL",
            "*start test_crashing.py::test_kills_its_worker_once threads=*",
            "test_crashing.py::test_kills_its_worker_once: crashed a worker 1 time(s): ran again*",
            "*4 passed, 1 crashed*",
        ]
    )
    assert result.ret == 0


@DIST_MODES
def test_a_worker_killed_every_time_fails_the_run_and_says_which_signal(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: str
) -> None:
    monkeypatch.setenv("CRASH_MARKER", str(pytester.path / "crashed-once"))
    monkeypatch.setenv("CRASH_ALWAYS", "1")
    result = run(pytester, monkeypatch, dist=dist)
    result.stdout.fnmatch_lines(
        [
            "gw*: Not properly terminated; killed by SIGTERM",
            "*Current thread*",  # the stacks at that moment, the test's among them
            "*test_crashing.py*in test_kills_its_worker_every_time",
            "*test_kills_its_worker_every_time: crashed a worker * time(s): fails the run",
        ]
    )
    assert result.ret == 1


def test_tests_a_dying_worker_left_unrun_fail_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No worker is started again (--max-worker-restart 0): the file queued after the one
    that killed the only worker never runs, and the run says so."""
    monkeypatch.setenv("CRASH_MARKER", str(pytester.path / "crashed-once"))
    result = run(pytester, monkeypatch, dist="loadfile", workers="1", restarts="0")
    result.stdout.fnmatch_lines(["*test(s) never ran*", "*test_later.py::test_later"])
    assert result.ret == 1
