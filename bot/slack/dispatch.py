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
import itertools
import logging
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any, Protocol

from bot.slack.orders import WorkOrder
from bot.slack.work import ResponseUrl, SlackWork

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)
_LOWER_PRIORITY = 5  # nice increment of the work process


class Dispatch(Protocol):
    def __call__(self, order: WorkOrder) -> None: ...

    def close(self) -> None:
        """Stop taking orders and let the work under way finish."""
        ...


class InProcess:
    """Work on this process's own threads (``WORK_PROCESS=false``)."""

    def __init__(self, *, work: SlackWork) -> None:
        self._work = work

    def __call__(self, order: WorkOrder) -> None:
        self._work.run(order)

    def close(self) -> None:
        self._work.shutdown()


class WorkProcess:
    """Work in one child process, restarted if it dies."""

    def __init__(self, *, settings: Settings) -> None:
        self._settings = settings
        self._context = multiprocessing.get_context("spawn")  # no fork of a threaded process
        self._orders: multiprocessing.Queue[tuple[int, WorkOrder] | None] = self._context.Queue()
        self._done: multiprocessing.Queue[int | None] = self._context.Queue()
        self._ids = itertools.count(1)
        self._in_flight: dict[int, WorkOrder] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._process = self._spawn()
        self._threads = [
            threading.Thread(target=self._collect_done, name="work-done", daemon=True),
            threading.Thread(target=self._supervise, name="work-supervisor", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def __call__(self, order: WorkOrder) -> None:
        with self._lock:
            order_id = next(self._ids)
            self._in_flight[order_id] = order
        self._orders.put((order_id, order))

    def close(self) -> None:
        self._stopping.set()
        self._orders.put(None)
        self._process.join(timeout=60)
        if self._process.is_alive():
            log.error("the work process did not finish within 60 s; stopping it")
            self._process.terminate()
            self._process.join(timeout=10)
        self._done.put(None)

    def _spawn(self) -> BaseProcess:
        process = self._context.Process(
            target=_child_main, args=(self._settings, self._orders, self._done),
            name="chatops-work", daemon=True,
        )  # fmt: skip
        process.start()
        return process

    def _collect_done(self) -> None:
        while (order_id := self._done.get()) is not None:
            with self._lock:
                self._in_flight.pop(order_id, None)

    def _supervise(self) -> None:
        while True:
            self._process.join()
            if self._stopping.is_set():
                return
            log.error("the work process died (exit %s); starting it again", self._process.exitcode)
            self._tell_lost()
            self._process = self._spawn()

    def _tell_lost(self) -> None:
        """People whose orders the dead child had taken hear it; nobody waits in silence."""
        # Orders still in the queue will be taken by the next child; those it had taken are
        # the ones it had not reported done. Give the queue a moment to be told apart.
        with self._lock:
            lost = dict(self._in_flight)
            self._in_flight.clear()
        for order in lost.values():
            _tell(order, "The bot's work process stopped while handling this; it may or may "
                  "not have run. Check, then ask again if needed.")  # fmt: skip


def _tell(order: WorkOrder, text: str) -> None:
    url = order.response_url
    try:
        ResponseUrl(url)(
            text=f":warning: {text}", response_type="ephemeral", replace_original=False
        )
    except Exception as err:  # Slack unreachable: the log is all that is left
        log.error("could not tell about a lost order (%s): %s", type(order).__name__, err)


def _child_main(
    settings: Settings,
    orders: multiprocessing.Queue[tuple[int, WorkOrder] | None],
    done: multiprocessing.Queue[int | None],
) -> None:
    """The work process: build the work side from the settings, then run orders until told
    to stop, and finish what is under way."""
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s [work]: %(message)s"
    )
    with contextlib.suppress(OSError):
        os.nice(_LOWER_PRIORITY)  # acknowledgements first when the CPU is contended
    from bot.server import build_slack_work  # the composition root, imported in the child

    work, close = build_slack_work(settings)
    try:
        while (item := _next(orders)) is not None:
            order_id, order = item
            work.run(order, done=_reporter(done, order_id))
    finally:
        work.shutdown()
        close()


def _next(orders: multiprocessing.Queue[Any]) -> Any:
    while True:
        try:
            return orders.get(timeout=1.0)
        except queue.Empty:
            continue


def _reporter(done: multiprocessing.Queue[int | None], order_id: int) -> Callable[[], None]:
    return lambda: done.put(order_id)
