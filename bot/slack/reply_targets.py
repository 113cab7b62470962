"""Where a request's answers go, as the ``reply_to`` string a work order carries.

A slash command or a click has Slack's response URL. A command typed in a message has none:
its answers go in that conversation's thread. A click in the Home tab has neither: its answers
go by direct message.
"""

from __future__ import annotations

THREAD_REPLY = "slack-thread:"  # + channel ":" thread_ts (empty: not in a thread)
DIRECT_REPLY = "slack-dm:"


def thread_reply_to(channel: str, thread_ts: str | None) -> str:
    """The ``reply_to`` of a command that came in a message (a mention or a DM)."""
    return f"{THREAD_REPLY}{channel}:{thread_ts or ''}"


def thread_of(reply_to: str) -> tuple[str, str | None] | None:
    """(channel, thread_ts) of a ``thread_reply_to`` value, or None for other targets."""
    if not reply_to.startswith(THREAD_REPLY):
        return None
    channel, _, thread_ts = reply_to[len(THREAD_REPLY) :].partition(":")
    return channel, thread_ts or None
