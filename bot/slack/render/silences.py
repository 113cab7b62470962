"""Silences in Slack's words: a time each reader sees in their own zone, and one line per
silence (the ``silences`` listing, the Home tab, a silenced notice)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.notices.silences import Silence
from bot.slack.render.block_kit import code, mention


def until_text(moment: datetime) -> str:
    """``today 14:05`` in the reader's zone (with a UTC fallback)."""
    seconds = int(moment.timestamp())
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{seconds}^{{date_short_pretty}} {{time}}|{fallback}>"


def silence_line(silence: Silence) -> str:
    """``#3 `api*` on `prod` by @dana until today 14:05``."""
    return (
        f"*#{silence.id}* {code(silence.pattern)} on {code(silence.engine)} by "
        f"{mention(silence.created_by)} until {until_text(silence.ends_at)}"
    )


def silenced_note(silence: Silence) -> str:
    """What a silenced notice says: ``Silenced by @dana until today 14:05``."""
    return (
        f":no_bell: Silenced by {mention(silence.created_by)} until "
        f"{until_text(silence.ends_at)} (silence *#{silence.id}*, {code(silence.pattern)})"
    )
