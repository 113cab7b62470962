"""Per-engine workers: a stalled engine holds only its own, what waits for it is bounded, and\npeople share each engine fairly."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot.errors import EngineBusy
from bot.workers import EngineWorkers, FairLane, FairQueue, Share


def test_a_stalled_engine_never_holds_other_work() -> None:
    workers = EngineWorkers(
        engines=["stalled", "healthy"], per_engine=2, control_threads=1, max_waiting=1
    )
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


# --- Fair share between people -------------------------------------------------------------


def test_one_persons_flood_leaves_a_worker_and_the_queue_for_others() -> None:
    """45 blocked runs by one person: 3 of the 4 workers, 12 waiting, the rest refused to
    them alone; another person's request runs at once, while every one of theirs still waits."""
    workers = EngineWorkers(engines=["e"], per_engine=4, control_threads=1, max_waiting=50)
    release = threading.Event()
    started = threading.Semaphore(0)

    def held() -> None:
        started.release()
        release.wait(30)

    try:
        taken, refused = 0, []
        for _ in range(45):
            try:
                workers.submit("e", held, user="U0FLOOD")
                taken += 1
            except EngineBusy as err:
                refused.append(str(err))
        assert taken == 15 and len(refused) == 30
        assert refused[0].startswith("You have 15 requests running or waiting for engine `e`")
        for _ in range(3):
            assert started.acquire(timeout=30)
        other = workers.submit("e", lambda: None, user="U0OTHER")
        other.result(timeout=30)  # answered while the flood still holds its 3 workers
        assert not started.acquire(timeout=0)  # positive control above: 3 started, no 4th
        assert workers.in_flight("e") == 15
    finally:
        release.set()
        workers.shutdown(wait=True)
    assert workers.in_flight("e") == 0


def test_a_free_worker_takes_whoever_runs_least_oldest_first() -> None:
    lane = FairLane(name="e", workers=2, max_waiting=50)
    order: list[str] = []
    gates = {name: threading.Event() for name in ("a1", "a2", "a3", "b1", "c1", "b2")}
    begun = {name: threading.Event() for name in gates}

    def job(name: str) -> Callable[[], None]:
        def run() -> None:
            order.append(name)
            begun[name].set()
            gates[name].wait(30)

        return run

    try:
        for name in ("a1", "a2", "a3", "b1", "c1", "b2"):
            lane.submit(job(name), user=name[0])
        assert begun["a1"].wait(30) and begun["b1"].wait(30)  # A's share is 1 running
        gates["a1"].set()  # the free worker goes to C (never served), not back to A
        assert begun["c1"].wait(30)
        gates["b1"].set()  # A and B have none running: A was served longer ago
        assert begun["a2"].wait(30)
        gates["c1"].set()  # B was served longer ago than A
        assert begun["b2"].wait(30)
        for gate in gates.values():
            gate.set()
    finally:
        lane.shutdown(wait=True)
    assert order == ["a1", "b1", "c1", "a2", "b2", "a3"]


def test_shutdown_without_waiting_drops_what_waits() -> None:
    lane = FairLane(name="e", workers=1, max_waiting=5)
    release, begun = threading.Event(), threading.Event()

    def held() -> None:
        begun.set()
        release.wait(30)

    first = lane.submit(held, user="U1")
    assert begun.wait(30)
    waiting = lane.submit(lambda: None, user=None)
    lane.shutdown(wait=False)
    assert waiting.cancelled() and lane.in_flight == 1
    release.set()
    first.result(timeout=30)


@given(st.integers(1, 8), st.integers(0, 40))
def test_a_share_leaves_room_for_someone_else(workers: int, max_waiting: int) -> None:
    share = Share.of(workers=workers, max_waiting=max_waiting)
    assert share.in_flight is not None
    assert 1 <= share.running <= workers
    assert share.running < workers or workers == 1
    # One person at their share never fills the lane: another's request is taken.
    assert share.in_flight < workers + max_waiting or (workers == 1 and max_waiting == 0)


class FairQueueMachine(RuleBasedStateMachine):
    """Any interleaving of submissions, starts and ends: nobody exceeds their share, the
    lane never its total, and a free worker is never left idle while someone below their
    share waits."""

    def __init__(self) -> None:
        super().__init__()
        self.queue: FairQueue[int] = FairQueue(workers=3, max_waiting=8)
        self.running: list[str | None] = []
        self.items = 0

    @rule(user=st.sampled_from(["U1", "U2", "U3", None]))
    def submit(self, user: str | None) -> None:
        if self.queue.full(user) is None:
            self.items += 1
            self.queue.push(user, self.items)
        self.start_what_can()

    @precondition(lambda self: bool(self.running))
    @rule(data=st.data())
    def finish(self, data: st.DataObject) -> None:
        user = self.running.pop(data.draw(st.integers(0, len(self.running) - 1)))
        self.queue.finish(user)
        self.start_what_can()

    def start_what_can(self) -> None:
        while len(self.running) < self.queue.workers:
            started = self.queue.pop()
            if started is None:
                return
            self.running.append(started[0])

    @invariant()
    def within_bounds(self) -> None:
        queue = self.queue
        assert queue.total is not None and queue.in_flight <= queue.total
        for user in ("U1", "U2", "U3"):
            assert queue.running(user) == self.running.count(user) <= queue.share.running
            assert queue.held(user) <= (queue.share.in_flight or 0)
        if len(self.running) < queue.workers:
            assert queue.pop() is None  # nobody who may start is left waiting


TestFairQueue = FairQueueMachine.TestCase
