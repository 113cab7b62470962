"""Acknowledgements never wait for work: taking an order for the work process does not wait for
the work process (benchmarks/slack_ack.py measures the whole path; README, Benchmarks)."""

from __future__ import annotations

import os
import signal
import threading

from bot.core.parsing.parser import parse_command
from bot.core.policy import Actor
from bot.service.orders import CommandOrder
from bot.slack.reply_targets import ResponseUrlTarget
from tests.conftest import Sandbox, start_work_process
from tests.fakes.fake_slack import FakeSlack


def test_taking_orders_never_waits_for_a_work_process_that_reads_slowly(
    sandbox: Sandbox, fake_slack: FakeSlack
) -> None:
    work = start_work_process(sandbox, fake_slack)
    count = 600  # ~160 KiB of orders: more than a pipe holds (64 KiB)
    orders = [
        CommandOrder(
            command=parse_command("approvals"),
            reply_to=ResponseUrlTarget(url=fake_slack.response_url(f"o{i}")),
            actor=Actor(user_id=f"U0P{i:04d}", channel_id="C0OPS"),
        )
        for i in range(count)
    ]

    def take() -> None:
        for order in orders:
            work(order)

    try:
        assert work.wait_started(60) and work.pid is not None
        os.kill(work.pid, signal.SIGSTOP)  # it reads nothing: its pipe fills
        try:
            taking = threading.Thread(target=take)
            taking.start()
            taking.join(timeout=30)
            assert not taking.is_alive(), "taking an order waited for the work process"
        finally:
            os.kill(work.pid, signal.SIGCONT)
        # The control: every order taken then reaches the work process and is answered.
        fake_slack.wait_for("response", count=count, timeout=120)
    finally:
        work.close()
