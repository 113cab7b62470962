"""Work on the front's own threads (``CHATOPS_WORK_PROCESS=false``): a stop lets the work under
way finish, then tells the people whose orders it cut short, as the work process does."""

from __future__ import annotations

import threading
from collections.abc import Callable

from bot.core.parsing.parser import parse_command
from bot.core.policy import Actor
from bot.service.orders import CommandOrder, WorkOrder
from bot.slack.dispatch import InProcess
from bot.slack.reply_targets import ResponseUrlTarget


def order(user: str) -> CommandOrder:
    return CommandOrder(
        command=parse_command("ps"),
        reply_to=ResponseUrlTarget(url=f"https://hooks.slack.invalid/{user}"),
        actor=Actor(user_id=user, channel_id="C0OPS"),
    )


class HeldWork:
    """Takes orders and answers only when told to; its shutdown waits until released."""

    def __init__(self) -> None:
        self.taken: dict[str, Callable[[], None]] = {}
        self.released = threading.Event()
        self.shut_down = threading.Event()

    def run(self, order: WorkOrder, *, done: Callable[[], None] = lambda: None) -> None:
        assert isinstance(order, CommandOrder)
        self.taken[order.actor.user_id] = done

    def shutdown(self) -> None:
        self.shut_down.set()
        self.released.wait(timeout=30)


def test_a_stop_tells_whose_order_it_cut_short_and_no_one_else() -> None:
    work = HeldWork()
    told: list[tuple[str, str]] = []
    dispatch = InProcess(
        work=work,
        tell=lambda lost, text: told.append((lost.actor.user_id, text)),  # type: ignore[union-attr]
    )
    dispatch(order("U0DONE"))
    dispatch(order("U0HELD"))
    work.taken["U0DONE"]()  # answered before the stop
    try:
        dispatch.close(drain=0)  # the held order's work does not finish in time
    finally:
        work.released.set()
    assert work.shut_down.is_set()
    [(user, text)] = told
    assert user == "U0HELD"
    assert "stopped" in text and "may or may not have run" in text


def test_a_stop_after_every_order_was_answered_tells_no_one() -> None:
    work = HeldWork()
    work.released.set()
    told: list[WorkOrder] = []
    dispatch = InProcess(work=work, tell=lambda lost, text: told.append(lost))
    dispatch(order("U0ONE"))
    dispatch(order("U0TWO"))
    for answered in work.taken.values():
        answered()
    dispatch.close(drain=5)
    assert work.shut_down.is_set()
    assert told == []
