"""Slack's reply targets: typed values the service hands back untouched, and never a leak."""

from __future__ import annotations

import pickle

import pytest

from bot.slack.reply_targets import (
    DirectMessageTarget,
    ResponseUrlTarget,
    ThreadTarget,
    slack_target,
)

URL = "https://hooks.slack.com/commands/T0/123/secretpart"


def test_targets_survive_the_trip_to_the_work_process() -> None:
    for target in (
        ResponseUrlTarget(url=URL),
        ThreadTarget(channel="C0", thread_ts="1.2"),
        ThreadTarget(channel="D0"),
        DirectMessageTarget(),
    ):
        again = pickle.loads(pickle.dumps(target))
        assert again == target and slack_target(again) == target


def test_a_response_url_is_never_in_a_repr() -> None:
    """Work orders are logged and shown in tracebacks: the URL posts as the bot."""
    assert "secretpart" not in repr(ResponseUrlTarget(url=URL))
    assert "hooks.slack.com" not in repr(ResponseUrlTarget(url=URL))


@pytest.mark.parametrize("value", ["slack-dm:", URL, "console", 3])
def test_anything_else_is_refused(value: object) -> None:
    with pytest.raises(TypeError):
        slack_target(value)  # an int is Hashable too
