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


def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_crashing=TESTS)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    return pytester.runpytest_subprocess(
        "-p", "xdist", "-n", "2", "--max-worker-restart", "2", "-p", "no:cacheprovider"
    )


def test_a_worker_killed_once_is_told_and_its_test_runs_again(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRASH_MARKER", str(pytester.path / "crashed-once"))
    result = run(pytester, monkeypatch)
    result.stdout.fnmatch_lines(
        [
            "*parallel workers that died*",
            "gw*: Not properly terminated; killed by SIGKILL",
            "*start test_crashing.py::test_kills_its_worker_once threads=*",
            "test_crashing.py::test_kills_its_worker_once: crashed a worker 1 time(s): ran again*",
            "*3 passed, 1 crashed*",
        ]
    )
    assert result.ret == 0


def test_a_worker_killed_every_time_fails_the_run_and_says_which_signal(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRASH_MARKER", str(pytester.path / "crashed-once"))
    monkeypatch.setenv("CRASH_ALWAYS", "1")
    result = run(pytester, monkeypatch)
    result.stdout.fnmatch_lines(
        [
            "*received SIGTERM",
            "*test_kills_its_worker_every_time*",  # the stack at that moment
            "*test_kills_its_worker_every_time: crashed a worker * time(s): fails the run",
        ]
    )
    assert result.ret == 1
