"""Pull progress in Slack never holds the thread that reads the pull's stream."""

from __future__ import annotations

import threading
from typing import Any

from bot.core.results import PullProgress
from bot.slack.delivery import Conversation, SlackPullProgress
from bot.slack.render.replies import SlackMessage


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
        reference="nginx:1.27",
        credit="<@U1>",
        interval=0.0,
    )
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


def test_the_result_is_never_overwritten_by_a_late_update() -> None:
    """However long a progress update takes (Slack's retries), the result is sent after it:
    one writer, in order."""
    slack = SlowSlack()
    progress = SlackPullProgress(
        client=slack,  # type: ignore[arg-type]
        conversation=Conversation(channel_id="C1", user_id="U1", respond=lambda **_: None),
        reference="nginx:1.27",
        credit="<@U1>",
        interval=0.0,
    )
    progress(PullProgress(layer="a", status="Downloading", current=1, total=10))
    assert slack.entered.wait(10)
    finished: list[bool] = []
    finishing = threading.Thread(
        target=lambda: finished.append(progress.finish(SlackMessage(text="Pulled", blocks=[])))
    )
    finishing.start()
    progress(PullProgress(layer="a", status="Downloading", current=9, total=10))  # after: dropped
    slack.release.set()  # the slow update ends only now
    finishing.join(30)
    assert finished == [True]
    assert slack.updates[-1] == "Pulled" and slack.updates.count("Pulled") == 1


class BrokenSlack(SlowSlack):
    def chat_update(self, **kwargs: Any) -> dict[str, Any]:
        raise TimeoutError("Slack did not answer")  # what slack_sdk re-raises after retries


def test_a_network_error_past_the_retries_ends_in_an_answer_not_a_hang() -> None:
    progress = SlackPullProgress(
        client=BrokenSlack(),  # type: ignore[arg-type]
        conversation=Conversation(channel_id="C1", user_id="U1", respond=lambda **_: None),
        reference="nginx:1.27",
        credit="<@U1>",
        interval=0.0,
    )
    progress(PullProgress(layer="a", status="Downloading", current=1, total=10))
    # False: the service answers the usual way instead of in place of the progress.
    assert progress.finish(SlackMessage(text="Pulled", blocks=[])) is False
