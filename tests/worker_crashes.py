"""When a parallel worker dies (pytest-xdist: "worker 'gw1' crashed while running ..."), say why,
and let the test it was running count by the run xdist gives it again.

A worker that dies takes its own account with it: xdist only knows that its pipe closed. So
each worker keeps a short log of its own (the tests it started, with its threads, open files
and memory at each; a catchable fatal signal it received and every thread's stack at that
moment; a fatal error's stacks, such as a segfault's, through ``faulthandler``), and the
controller prints, at the end of the run, that log from the last test the worker started, how
its process ended (a signal's name, an exit code) and what the kernel logged of killed
processes.

xdist runs the tests the dead worker had not finished again on another worker, the crashed one
among them. A first crash of a test is reported as "crashed" (not failed), so that its second
run decides; a second crash of the same test fails the run.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import pytest

_LOG_KEY = "chatops_worker_log"
_SHOWN_LINES = 60
# Fatal by default and catchable: who sent them is unknown, but the stacks when one came are
# worth keeping.
_RECORDED_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)


class WorkerCrashes:
    """The controller's side: hands each worker a log file, reads the dead ones'."""

    def __init__(self, *, folder: Path) -> None:
        self.folder = folder
        self.started = 0
        self.deaths: list[tuple[str, str, Path | None]] = []  # worker id, how, its log
        self.crashed: dict[str, int] = {}  # test id -> how many times it crashed a worker
        self.awaiting: set[str] = set()  # crashed once, not yet run again
        self.collected: set[str] = set()
        self.ran: set[str] = set()

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        self.started += 1  # a worker started again after a crash has a log of its own
        node.workerinput[_LOG_KEY] = str(self.folder / f"{node.gateway.id}-{self.started}.log")

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.collected.update(ids)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object | None) -> None:
        if error is None:
            return
        log = node.workerinput.get(_LOG_KEY)
        self.deaths.append(
            (node.gateway.id, _how_it_ended(node, error), Path(log) if log else None)
        )

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        self.crashed[crashitem] = self.crashed.get(crashitem, 0) + 1
        if self.crashed[crashitem] > 1:
            return  # a second crash fails the run, as xdist reports it
        # Not "failed": it neither fails the run nor counts for --lf; its next run decides.
        report.outcome = "crashed"  # type: ignore[assignment]
        self.awaiting.add(crashitem)
        # --dist loadfile/loadscope have no such call: they queue the unfinished part of its
        # file again themselves.
        with contextlib.suppress(NotImplementedError):
            sched.mark_test_pending(crashitem)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Run: its call reported, or its setup failed or skipped it.
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.ran.add(report.nodeid)
            self.awaiting.discard(report.nodeid)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # A crashed test that never ran again proves nothing, and workers that kept dying
        # (xdist's --max-worker-restart) leave the files still queued unrun: either fails a
        # run that would pass. A run stopped otherwise (-x, Ctrl-C, an internal error) keeps
        # its own status.
        if session.exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            return
        if self.awaiting or self.never_ran():
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def never_ran(self) -> set[str]:
        """Tests collected that no worker ran (only once a worker died: else none)."""
        return self.collected - self.ran if self.deaths else set()

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, str] | None:
        if report.outcome == "crashed":  # type: ignore[comparison-overlap]
            return "crashed", "C", "CRASHED (its worker died; it runs again)"
        return None

    def pytest_unconfigure(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.deaths:
            return
        write = terminalreporter.write_line
        terminalreporter.write_sep("=", "parallel workers that died")
        for worker, how, log in self.deaths:
            write(f"{worker}: {how}")
            for line in _tail(log):
                write(f"  {line}")
        killed = _kernel_says()
        if killed:
            write("the kernel's log, on killed processes:")
            for line in killed:
                write(f"  {line}")
        unrun = self.never_ran() - self.awaiting
        if unrun:
            write(f"{len(unrun)} test(s) never ran (the workers kept dying), among them:")
            for test in sorted(unrun)[:5]:
                write(f"  {test}")
        for test, times in self.crashed.items():
            if times > 1:
                verdict = "fails the run"
            elif test in self.awaiting:
                verdict = "did not run again: fails the run"
            else:
                verdict = "ran again; that run decides"
            write(f"{test}: crashed a worker {times} time(s): {verdict}")


def _how_it_ended(node: Any, error: object) -> str:
    """The dead worker's exit status (a signal's name), from its process if xdist still
    holds it (execnet's Popen, a private attribute: absent, the error is all there is)."""
    popen = getattr(getattr(node.gateway, "_io", None), "popen", None)
    code = None
    if popen is not None:
        try:
            code = popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return f"{error}; its process still runs"
    if code is None:
        return str(error)
    if code < 0:
        return f"{error}; killed by {signal.Signals(-code).name}"
    return f"{error}; exit code {code}"


def _tail(log: Path | None) -> list[str]:
    """The worker's log from the last test it started: how it went down, if it could tell
    (the current thread's stack comes first)."""
    if log is None or not log.exists():
        return ["(no log of its own)"]
    lines = log.read_text(errors="replace").splitlines()
    starts = [i for i, line in enumerate(lines) if " start " in line]
    last = lines[starts[-1] if starts else 0 :]
    return last[:_SHOWN_LINES] + (["  ..."] if len(last) > _SHOWN_LINES else [])


def _kernel_says() -> list[str]:
    """What the kernel logged of killed or crashed processes (dmesg needs root)."""
    try:
        done = subprocess.run(["dmesg"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    words = ("out of memory", "oom-kill", "killed process", "segfault", "traps:")
    return [line for line in done.stdout.splitlines() if any(w in line.lower() for w in words)][
        -10:
    ]


class WorkerLog:
    """A worker's side: what it started, and how it went down if it could tell."""

    def __init__(self, *, path: Path) -> None:
        self.file: TextIO = path.open("a", buffering=1)  # a line reaches the file at once
        faulthandler.enable(file=self.file, all_threads=True)
        # In C, not Python: the stacks are written whatever the main thread is doing, and the
        # worker then dies of the signal as it would have (the controller names it).
        for signum in _RECORDED_SIGNALS:
            faulthandler.register(signum, file=self.file, all_threads=True, chain=True)

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.file.write(
            f"{time.strftime('%H:%M:%S')} start {nodeid} threads={threading.active_count()} "
            f"fds={_open_files()} rss={_rss()}\n"
        )


def _open_files() -> int | str:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return "?"


def _rss() -> str:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return "?"
    return next(
        (line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith("VmRSS")),
        "?",
    )


def register(config: pytest.Config) -> None:
    """Install the controller's or the worker's side, in a parallel run (none otherwise)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        if _LOG_KEY in workerinput:
            config.pluginmanager.register(
                WorkerLog(path=Path(workerinput[_LOG_KEY])), "chatops-worker-log"
            )
        return
    if config.pluginmanager.hasplugin("xdist") and config.getoption("numprocesses", None):
        folder = Path(tempfile.mkdtemp(prefix="chatops-worker-logs-"))
        config.pluginmanager.register(WorkerCrashes(folder=folder), "chatops-worker-crashes")
