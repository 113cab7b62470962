"""Where a request's answers go in Slack: the ``reply_to`` value a work order carries.

A slash command or a click has Slack's response URL. A command typed in a message has none:
its answers go in that conversation's thread. A click in the Home tab has neither: its answers
go by direct message. The service passes the value back untouched; only this adapter reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.service.orders import ReplyTarget


@dataclass(frozen=True, kw_only=True, slots=True)
class ResponseUrlTarget:
    """Slack's response URL for a slash command or a click (a credential: never logged)."""

    url: str

    def __repr__(self) -> str:  # the URL posts as the bot: keep it out of any repr
        return "ResponseUrlTarget(<response url>)"


@dataclass(frozen=True, kw_only=True, slots=True)
class ThreadTarget:
    """A conversation's thread (``thread_ts`` None: the conversation itself)."""

    channel: str
    thread_ts: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class DirectMessageTarget:
    """A direct message to the person who asked (a click in the Home tab)."""


SlackReplyTarget = ResponseUrlTarget | ThreadTarget | DirectMessageTarget


def slack_target(reply_to: ReplyTarget) -> SlackReplyTarget:
    """``reply_to`` as this adapter made it; anything else is a bug, not a place to post."""
    if isinstance(reply_to, ResponseUrlTarget | ThreadTarget | DirectMessageTarget):
        return reply_to
    raise TypeError(f"not a Slack reply target: {type(reply_to).__name__}")
