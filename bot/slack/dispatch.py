"""Handing acknowledged work to where it runs: this process, or one work process beside it.

Acknowledgements must never wait for work. In one interpreter they do: rendering a 500-row
listing, and the Web API calls that deliver fifty of them, hold the interpreter lock while the
next acknowledgements wait (measured: ack p99 2.2x-3.9x a bare Bolt app, benchmarks/
slack_ack.py). ``WorkProcess`` runs the work in a child process that builds its own engines,
database connections and Slack client from the same settings, at a lower CPU priority, so the
process that acknowledges has the interpreter (and, when the machine is busy, the CPU) first.

Nothing is lost when the child dies: it is started again, orders not yet taken wait in the
queue, and the people whose orders it was running are told that their command may or may not
have run (approved plans are covered by their execution leases).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Protocol

from bot.logs import configure_logging
from bot.service.metrics import Labels, Metrics, NoMetrics
from bot.service.orders import WorkOrder
from bot.service.requests import RequestService
from bot.slack.chat import ResponseUrl
from bot.slack.reply_targets import ResponseUrlTarget, slack_target

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)
_LOWER_PRIORITY = 5  # nice increment of the work process
_STARTED = "started"  # the work process's word that its backend is built


class BuildWork(Protocol):
    """Builds the work side (the request service and what closes it) from the settings: the
    composition root's ``build_request_service``, passed in so that nothing here imports it."""

    def __call__(
        self, settings: Settings, *, metrics: Metrics | None = None
    ) -> tuple[RequestService, Callable[[], None]]: ...


class Dispatch(Protocol):
    def __call__(self, order: WorkOrder) -> None: ...

    def close(self, *, drain: float = ...) -> None:
        """Stop taking orders and let the work under way finish (for up to ``drain`` seconds,
        then tell whose work was cut short)."""
        ...


# On SIGTERM the work under way gets this long; with the rest of the shutdown the bot exits
# within 10 s (compose's stop_grace_period and `docker run --stop-timeout` allow 15).
DRAIN_SECONDS = 7.0
TELL_SECONDS = 2.0  # then telling whose commands were cut short


class Work(Protocol):
    """Where ``InProcess`` runs orders: the request service."""

    def run(self, order: WorkOrder, *, done: Callable[[], None] = ...) -> None: ...

    def shutdown(self) -> None: ...


class InProcess:
    """Work on this process's own threads (``CHATOPS_WORK_PROCESS=false``)."""

    def __init__(self, *, work: Work, tell: Callable[[WorkOrder, str], None] | None = None) -> None:
        """``tell``: how a person whose order was cut short by the stop hears of it (default:
        through the order's response URL)."""
        self._work = work
        self._tell = tell or _tell
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._in_flight: dict[int, WorkOrder] = {}  # taken, not yet answered

    def __call__(self, order: WorkOrder) -> None:
        order_id = next(self._ids)
        with self._lock:
            self._in_flight[order_id] = order
        self._work.run(order, done=lambda: self._answered(order_id))

    def _answered(self, order_id: int) -> None:
        with self._lock:
            self._in_flight.pop(order_id, None)

    def close(self, *, drain: float = DRAIN_SECONDS) -> None:
        """Let the work under way finish for up to ``drain`` seconds, then tell the people
        whose orders were not answered (threads cannot be stopped: what is still running then
        ends with the process, so it may or may not have run)."""
        finishing = threading.Thread(target=self._work.shutdown, name="drain", daemon=True)
        finishing.start()
        finishing.join(timeout=drain)
        if finishing.is_alive():
            log.warning("the work under way did not finish within %g s", drain)
        with self._lock:
            lost = list(self._in_flight.values())
            self._in_flight.clear()
        _tell_all(self._tell, lost, _CUT_SHORT_BY_STOP)


# What the people whose orders a stop cut short are told, whichever way the work ran.
_CUT_SHORT_BY_STOP = (
    ":warning: The bot was stopped (a restart or an upgrade) before this finished; it may or "
    "may not have run. Check, then ask again if needed."
)


def _tell_all(tell: Callable[[WorkOrder, str], None], orders: list[WorkOrder], text: str) -> None:
    """Tell each of ``orders`` at once, within ``TELL_SECONDS`` in all: not one after another."""
    telling = [threading.Thread(target=tell, daemon=True, args=(order, text)) for order in orders]
    for thread in telling:
        thread.start()
    deadline = time.monotonic() + TELL_SECONDS
    for thread in telling:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))


@dataclass(frozen=True, kw_only=True, slots=True)
class _Child:
    process: BaseProcess
    orders: Connection  # parent -> child: (id, order), or None to stop
    done: Connection  # child -> parent: ids of answered orders


class WorkProcess:
    """Work in one child process, restarted if it dies.

    Orders and their completions travel over two one-way pipes (one reader, one writer each,
    so no lock is shared with the child: a child killed while holding a queue's lock would
    block every child after it). A new child gets new pipes.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        build: BuildWork,
        tell: Callable[[WorkOrder, str], None] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        """``build``: makes the work side from the settings, in the child (a module-level
        function: it is sent to the child by name); ``tell``: how a person whose order was
        lost hears of it (default: through the order's response URL); ``metrics``: where the
        work's metrics go."""
        self._settings = settings
        self._build = build
        self._tell = tell or _tell
        self._metrics = metrics or NoMetrics()
        self._context = multiprocessing.get_context("spawn")  # no fork of a threaded process
        self._ids = itertools.count(1)
        self._in_flight: dict[int, WorkOrder] = {}
        self._lock = threading.Lock()  # the current child, _in_flight and _unsent
        self._unsent: deque[int] = deque()  # taken, not yet written to the child's pipe
        self._more = threading.Condition(self._lock)  # an order to send, or closing
        self._closing = False
        self._writing = threading.Lock()  # a pipe is written, or closed, by one at a time
        self._stopping = threading.Event()
        self._started = threading.Event()
        self._child = self._spawn()
        self._supervisor = threading.Thread(
            target=self._supervise, name="work-supervisor", daemon=True
        )
        self._supervisor.start()
        self._sender = threading.Thread(target=self._send_orders, name="work-sender", daemon=True)
        self._sender.start()

    def __call__(self, order: WorkOrder) -> None:
        """Take ``order``; never waits for the work process. (Writing to its pipe here made
        acknowledgements wait: a busy work process reads slowly, its pipe fills, and every
        listener thread Bolt has, five, blocked in the write or on this lock.)"""
        with self._more:
            order_id = next(self._ids)
            self._in_flight[order_id] = order
            self._unsent.append(order_id)
            self._more.notify()

    def _send_orders(self) -> None:
        """The orders pipe's one writer: orders in the order taken, then None once closing."""
        while True:
            with self._more:
                while not self._unsent and not self._closing:
                    self._more.wait()
                child = self._child
                item = None
                if self._unsent:
                    order_id = self._unsent.popleft()
                    order = self._in_flight.get(order_id)
                    if order is None:  # told already
                        continue
                    item = (order_id, order)
            # If the child is gone, the supervisor starts another and tells this person.
            with self._writing, contextlib.suppress(OSError):
                child.orders.send(item)
            if item is None:
                return

    def wait_started(self, timeout: float) -> bool:
        """Wait until the first work process has built its backend (False: not within
        ``timeout`` seconds). Its start-up costs seconds of CPU; the front waits for it
        before taking requests, so that it is not paid from the first acknowledgements."""
        return self._started.wait(timeout)

    @property
    def pid(self) -> int | None:
        """The work process's PID (for operators and tests)."""
        return self._child.process.pid

    def close(self, *, drain: float = DRAIN_SECONDS) -> None:
        """Take no more orders; let the work under way finish for up to ``drain`` seconds,
        then stop the work process and tell the people whose orders it had not answered."""
        self._stopping.set()
        with self._more:  # what was taken is sent first, then None
            self._closing = True
            self._more.notify()
        # Only the supervisor waits for (reaps) the child: two threads waiting on one process
        # race, and the loser's waitpid fails, so it takes an exited child for a live one. The
        # supervisor returns once the child is gone, having taken the answers sent before.
        self._supervisor.join(timeout=drain)
        if self._supervisor.is_alive():
            log.warning("the work under way did not finish within %g s; stopping it", drain)
            process = self._child.process
            process.terminate()
            self._supervisor.join(timeout=1)
            if self._supervisor.is_alive():
                process.kill()
                self._supervisor.join(timeout=2)
        with self._lock:
            lost = list(self._in_flight.values())
            self._in_flight.clear()
        _tell_all(self._tell, lost, _CUT_SHORT_BY_STOP)

    def _record(self, message: tuple[object, ...]) -> None:
        """A metric the work process sent (``_Reporter``); a malformed one is logged, never
        allowed to stop the supervisor (which restarts a dead work process)."""
        try:
            self._apply(message)
        except Exception:
            log.exception("a metric from the work process could not be recorded")

    def _apply(self, message: tuple[object, ...]) -> None:
        kind, name, labels, value = message
        if not isinstance(name, str) or not isinstance(labels, tuple):
            return
        if not isinstance(value, int | float):
            return
        if kind == "count":
            self._metrics.count(name, labels, float(value))
        elif kind == "observe":
            self._metrics.observe(name, float(value), labels)

    def _spawn(self) -> _Child:
        orders_in, orders_out = self._context.Pipe(duplex=False)
        done_in, done_out = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_child_main,
            args=(self._settings, self._build, orders_in, done_out),
            name="chatops-work",
            daemon=True,
        )
        process.start()
        # Lower priority from its first instruction (its imports and start-up included),
        # not only once it has got as far as lowering it itself.
        with contextlib.suppress(OSError):
            os.setpriority(
                os.PRIO_PROCESS,
                process.pid or 0,
                os.getpriority(os.PRIO_PROCESS, 0) + _LOWER_PRIORITY,
            )
        # Only the child holds these ends now: when it dies, reading `done` ends.
        orders_in.close()
        done_out.close()
        return _Child(process=process, orders=orders_out, done=done_in)

    def _supervise(self) -> None:
        while True:
            child = self._child
            ready = wait([child.done, child.process.sentinel])
            if child.done in ready:
                try:
                    message = child.done.recv()
                except (EOFError, OSError):
                    pass  # the child is gone; its sentinel says so next
                else:
                    if message == _STARTED:
                        self._started.set()
                        continue
                    if isinstance(message, tuple):
                        self._record(message)
                        continue
                    with self._lock:
                        self._in_flight.pop(message, None)
                    continue
            if child.process.sentinel not in ready:
                child.process.join(timeout=1)
                if child.process.is_alive():
                    continue
            if self._stopping.is_set():
                return
            log.error("the work process died (exit %s); starting it again", child.process.exitcode)
            with self._lock:
                # Orders not yet written go to the new child; the others may have run.
                unsent = set(self._unsent)
                lost = [
                    order for order_id, order in self._in_flight.items() if order_id not in unsent
                ]
                self._in_flight = {order_id: self._in_flight[order_id] for order_id in unsent}
                self._child = self._spawn()
            with self._writing:
                child.orders.close()
            for order in lost:
                self._tell(
                    order,
                    ":warning: The bot's work process stopped while handling this; it may "
                    "or may not have run. Check, then ask again if needed.",
                )


def _tell(order: WorkOrder, text: str) -> None:
    """The default way a lost order is told: through its response URL (the front's own
    ``tell``, with the Web API client, reaches threads and direct messages too)."""
    target = slack_target(order.reply_to)
    if not isinstance(target, ResponseUrlTarget):
        log.error("a lost order (%s) has no response URL to be told through", type(order).__name__)
        return
    try:
        ResponseUrl(target.url)(text=text, response_type="ephemeral", replace_original=False)
    except Exception as err:  # Slack unreachable: the log is all that is left
        log.error("could not tell about a lost order (%s): %s", type(order).__name__, err)


def _child_main(settings: Settings, build: BuildWork, orders: Connection, done: Connection) -> None:
    """The work process: build the work side from the settings, then run orders until told
    to stop (or the front is gone), and finish what is under way."""
    configure_logging(
        level=settings.log_level,
        json_lines=settings.log_format == "json",
        secrets=settings.secret_values(),
        process="work",
    )
    report = _Reporter(done)
    work, close = build(settings, metrics=report)
    # What start-up built lives as long as the process: out of the collector's sight, as in
    # the front (bot.cli.serve). Each full collection walked it all again, 80-170 ms of CPU,
    # about every second while listings were rendered (README, Benchmarks).
    gc.collect()
    gc.freeze()
    report.started()
    try:
        while True:
            try:
                item = orders.recv()
            except (EOFError, OSError):
                log.error("the front process is gone; finishing the work under way")
                break
            if item is None:
                break
            order_id, order = item
            work.run(order, done=report.bound(order_id))
    finally:
        work.shutdown()
        close()


class _Reporter:
    """Sends answered order IDs back, and the work's metrics (``bot.service.metrics``) for
    the front to serve; the workers' threads share one pipe end."""

    def __init__(self, done: Connection) -> None:
        self._done = done
        self._lock = threading.Lock()

    def started(self) -> None:
        self._send(_STARTED)

    def bound(self, order_id: int) -> Callable[[], None]:
        return lambda: self._send(order_id)

    def count(self, name: str, labels: Labels = (), amount: float = 1.0) -> None:
        self._send(("count", name, labels, amount))

    def observe(self, name: str, value: float, labels: Labels = ()) -> None:
        self._send(("observe", name, labels, value))

    def _send(self, message: object) -> None:
        with self._lock, contextlib.suppress(OSError):
            self._done.send(message)
