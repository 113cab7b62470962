"""The command in a message: the bot's mention dropped, Slack's links and entities undone."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.slack.messages import MAX_MESSAGE_TEXT, command_text


def test_the_leading_mention_of_the_bot_is_dropped() -> None:
    assert command_text("<@U0BOT> ps -a", bot_user_id="U0BOT") == "ps -a"
    assert command_text("  <@U0BOT|docker>   ps", bot_user_id="U0BOT") == "ps"
    # Another person's mention is not ours to drop (the parser will refuse it).
    assert command_text("<@U0ALICE> ps", bot_user_id="U0BOT") == "<@U0ALICE> ps"


def test_automatic_links_read_as_typed() -> None:
    text = "<@U0BOT> pull <http://registry.example.com/app:1.0|registry.example.com/app:1.0>"
    assert command_text(text, bot_user_id="U0BOT") == "pull registry.example.com/app:1.0"
    assert command_text("run <http://example.com> &amp;&amp; x", bot_user_id=None) == (
        "run http://example.com && x"
    )
    assert command_text("logs <mailto:a@b.c|a@b.c>", bot_user_id=None) == "logs a@b.c"


@given(st.text(max_size=6000))
def test_any_text_costs_a_bounded_amount(text: str) -> None:
    out = command_text(text, bot_user_id="U0BOT")
    assert len(out) <= MAX_MESSAGE_TEXT
