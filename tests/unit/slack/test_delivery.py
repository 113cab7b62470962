"""Pull progress in Slack never holds the thread that reads the pull's stream."""

from __future__ import annotations

import threading
from typing import Any

from bot.core.results import PullProgress
from bot.render.slack_blocks import SlackMessage
from bot.slack.delivery import Conversation, SlackPullProgress


class SlowSlack:
    """chat.update waits until released (Slack answering 429s, retried for long)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.updates: list[str] = []

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        return {"ts": "1.0"}

    def chat_update(self, **kwargs: Any) -> dict[str, Any]:
        self.entered.set()
        self.release.wait(60)
        self.updates.append(str(kwargs["text"]))
        return {"ok": True}


def test_a_stalled_update_does_not_hold_the_stream_reader() -> None:
    slack = SlowSlack()
    progress = SlackPullProgress(
        client=slack,  # type: ignore[arg-type]
        conversation=Conversation(channel_id="C1", user_id="U1", respond=lambda **_: None),
        reference="nginx:1.27", credit="<@U1>", interval=0.0,
    )  # fmt: skip
    progress(PullProgress(layer="a", status="Downloading", current=1, total=10))
    assert slack.entered.wait(10)  # the first update is stuck in "Slack"
    # Meanwhile the reader goes on: were these calls to wait for Slack, this would hang.
    for current in range(2, 200):
        progress(PullProgress(layer="a", status="Downloading", current=current, total=200))
    slack.release.set()
    assert progress.finish(SlackMessage(text="Pulled nginx:1.27", blocks=[]))
    # Only the latest progress followed the stuck one, and the result came last.
    assert slack.updates[-1] == "Pulled nginx:1.27"
    assert len(slack.updates) <= 3
