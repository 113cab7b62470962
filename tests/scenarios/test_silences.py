"""Silences (issue 20, item 5) through Slack on the sandbox engine, with the real
``python -m bot serve`` and its work process: `silence` typed in chat is stored by the work
process and read by the front's event watcher, as another replica's would be. A silenced
crashing container is not told while an unsilenced one is; a notice's Silence button (operators
and up) silences with one click, the notice says so, and the container's repeats neither post
nor update."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from tests.conftest import SIGNING_SECRET
from tests.fakes.fake_slack import Call, block_actions_body, post_signed, slash_command_body
from tests.scenarios.test_notifications import CHANNEL, NotifyingBot, start_bot

__all__ = ["start_bot"]  # the fixture, shared with the notifications' scenarios

# The bot under test is told every container's events on the shared engine: alone.
pytestmark = pytest.mark.serial


def _typed(bot: NotifyingBot, text: str, *, user: str, tag: str) -> str:
    """Type ``text`` as ``user``; the answer's blocks as text."""
    answer = post_signed(
        f"{bot.base}/slack/events",
        slash_command_body(text=text, user_id=user, response_url=bot.fake.response_url(tag)),
        secret=SIGNING_SECRET,
    )
    assert answer.status_code == 200
    reply = bot.fake.wait_for("response", where=lambda c: c.path.endswith(f"/{tag}"))[0]
    return json.dumps(reply.body)


def _clicked(bot: NotifyingBot, notice: Call, action_id: str, *, user: str, tag: str) -> str:
    blocks = notice.body["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    [button] = [
        element
        for block in blocks
        for element in block.get("elements", [])
        if element.get("action_id") == action_id
    ]
    body = block_actions_body(
        action_id=action_id,
        value=button["value"],
        user_id=user,
        channel_id=CHANNEL,
        response_url=bot.fake.response_url(tag),
        message_ts=str(notice.body.get("ts", "1700000000.000001")),
    )
    answer = post_signed(f"{bot.base}/slack/events", body, secret=SIGNING_SECRET)
    assert answer.status_code == 200
    reply = bot.fake.wait_for("response", where=lambda c: c.path.endswith(f"/{tag}"))[0]
    return json.dumps(reply.body)


def _exited_since(bot: NotifyingBot, name: str, started: str) -> None:
    """Wait until ``name`` ran again (after ``started``) and exited."""
    deadline = time.monotonic() + 30
    while True:
        state = bot.api.inspect_container(name)["State"]
        if state["StartedAt"] != started and not state["Running"]:
            assert state["ExitCode"] == 3, state
            return
        assert time.monotonic() < deadline, state
        time.sleep(0.1)


def _updates(bot: NotifyingBot, name: str) -> list[Call]:
    return [c for c in bot.fake.of("chat.update") if str(c.body.get("text")).startswith(name + " ")]


def _thread_replies(bot: NotifyingBot, name: str) -> list[Call]:
    return [
        c
        for c in bot.fake.of("chat.postMessage")
        if c.body.get("thread_ts") and name in str(c.body.get("text"))
    ]


def test_a_silenced_container_is_not_told_while_another_is(
    start_bot: Callable[..., NotifyingBot],
) -> None:
    bot = start_bot()
    silenced = bot.sandbox.name("silences-silenced")
    refused = _typed(bot, f"silence {silenced} 8d", user="U0OPS", tag="too-long")
    assert "longer than [notifications] max_silence (7d)" in refused, refused
    viewer = _typed(bot, f"silence {silenced} 1h", user="U0VIEWER", tag="viewer")
    assert "not allowed" in viewer.lower(), viewer
    made = _typed(bot, f"silence {silenced} 1h", user="U0OPS", tag="silence")
    assert "Silenced" in made, made
    listed = _typed(bot, "silences", user="U0VIEWER", tag="silences")
    assert silenced in listed, listed
    bot.crash("silences-silenced", code=3)
    control = bot.crash(
        "silences-control", code=3
    )  # after it: once this is told, it would have been
    bot.wait_post(control)
    assert bot.posts(silenced) == []
    # Unsilenced: the same container crashing again is told.
    silence_id = listed.split("*#", 1)[1].split("*", 1)[0]
    ended = _typed(bot, f"unsilence {silence_id}", user="U0OPS", tag="unsilence")
    assert "ended" in ended, ended
    bot.api.start(silenced)
    told = bot.wait_post(silenced)
    assert "exit code 3" in told.body["text"]


def test_one_click_on_silence_silences_and_the_notice_says_so(
    start_bot: Callable[..., NotifyingBot],
) -> None:
    bot = start_bot()
    name = bot.crash("silences-clicked", code=3)
    notice = bot.wait_post(name)
    # Operators and up: a viewer's click is refused and silences nothing.
    refused = _clicked(bot, notice, "chatops_notice_silence_1h", user="U0VIEWER", tag="viewer")
    assert "not allowed" in refused.lower(), refused
    done = _clicked(bot, notice, "chatops_notice_silence_1h", user="U0OPS", tag="clicked")
    assert "Silenced" in done, done
    marked = bot.fake.wait_for(
        "chat.update",
        timeout=30,
        where=lambda c: (
            str(c.body.get("text")).startswith(name + " ")
            and "silenced by @U0OPS until" in str(c.body.get("text"))
        ),
    )[0]
    assert "Silenced by <@U0OPS> until <!date^" in json.dumps(marked.body.get("blocks"))
    updates, replies = len(_updates(bot, name)), len(_thread_replies(bot, name))
    # It crashes again (a repeat within the group window): nothing is posted or updated.
    started = bot.api.inspect_container(name)["State"]["StartedAt"]
    bot.api.start(name)
    _exited_since(bot, name, started)
    first = bot.crash("silences-after-click-1", code=3)
    bot.wait_post(first)
    # Every action due with that post has been performed once a later post is seen.
    second = bot.crash("silences-after-click-2", code=3)
    bot.wait_post(second)
    assert len(_updates(bot, name)) == updates
    assert len(_thread_replies(bot, name)) == replies
    assert len(bot.posts(name)) == 1
