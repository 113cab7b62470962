"""Notifications that know what the bot did: a service that exits 1 on its stop signal,
stopped through chat, is not told as a crash; the same container exiting 1 by itself is. The
bot is the real ``python -m bot serve``, with its work process: the stop's intent is written
by that process and read by the front's event watcher, as another replica's would be."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from tests.conftest import SIGNING_SECRET, TEST_IMAGE
from tests.fakes.fake_slack import post_signed, slash_command_body
from tests.scenarios.test_notifications import NotifyingBot, start_bot

__all__ = ["start_bot"]  # the fixture, shared with the notifications' scenarios

# The bot under test is told every container's events on the shared engine: alone.
pytestmark = pytest.mark.serial

# Stops on SIGUSR1 (its stop signal: one Docker's kill event cannot tell from a reload, so
# only the bot's intent says the death was asked for), exiting 1; and exits 1 by itself once
# /tmp/crash exists.
SERVICE = "trap 'echo stopping; exit 1' USR1; while [ ! -f /tmp/crash ]; do sleep 0.2; done; exit 1"


def _wait_exited(bot: NotifyingBot, name: str, *, code: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        state = bot.api.inspect_container(name)["State"]
        if not state["Running"]:
            assert state["ExitCode"] == code, state
            return
        assert time.monotonic() < deadline, state
        time.sleep(0.1)


def test_a_stop_through_chat_is_no_crash_but_the_same_exit_by_itself_is(
    start_bot: Callable[..., NotifyingBot],
) -> None:
    bot = start_bot()
    name = bot.sandbox.name("exits-1-on-stop")
    bot.api.create_container(
        TEST_IMAGE,
        name=name,
        labels=bot.sandbox.labels,
        command=["sh", "-c", SERVICE],
        stop_signal="SIGUSR1",
    )
    bot.api.start(name)
    answer = post_signed(
        f"{bot.base}/slack/events",
        slash_command_body(
            text=f"stop {name}", user_id="U0OPS", response_url=bot.fake.response_url("stop")
        ),
        secret=SIGNING_SECRET,
    )
    assert answer.status_code == 200
    stopped = bot.fake.wait_for("response", where=lambda c: c.path.endswith("/stop"))[0]
    assert "Stopped" in json.dumps(stopped.body), stopped.body
    _wait_exited(bot, name, code=1)  # the stop signal made it exit 1, as it would a crash
    # Notices are posted in the order their events came: once a crash after the stop is
    # told, a notice of the stop would have been told before it.
    after = bot.crash("after-the-stop", code=3)
    bot.wait_post(after)
    assert bot.posts(name) == []

    # The same container, started again, exits 1 by itself: that is a crash.
    bot.api.start(name)
    bot.api.exec_start(bot.api.exec_create(name, ["touch", "/tmp/crash"])["Id"])
    _wait_exited(bot, name, code=1)
    told = bot.wait_post(name)
    assert "exit code 1" in told.body["text"]
    assert "during" not in told.body["text"]
