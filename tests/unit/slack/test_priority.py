"""AckFirst: work waits for acknowledgements to finish, but is never starved."""

from __future__ import annotations

import threading

from bot.slack.priority import AckFirst


def test_idle_gate_lets_work_through() -> None:
    gate = AckFirst(settle=0.01, max_defer=5)
    gate.wait_for_quiet()  # returns: nothing in flight


def test_work_waits_until_the_acknowledgement_is_done() -> None:
    gate = AckFirst(settle=0.01, max_defer=30)
    gate.started()
    order: list[str] = []

    def work() -> None:
        gate.wait_for_quiet()
        order.append("work")

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(0.2)
    assert worker.is_alive() and order == []
    order.append("ack")
    gate.finished()
    worker.join(10)
    assert order == ["ack", "work"]


def test_work_is_never_starved() -> None:
    gate = AckFirst(settle=0.01, max_defer=0.3)
    gate.started()  # never finishes
    worker = threading.Thread(target=gate.wait_for_quiet)
    worker.start()
    worker.join(10)
    assert not worker.is_alive()
