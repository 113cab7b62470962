"""``python -m bot config init``: a minimal, commented ``chatops.toml`` from a few answers.

The essentials are who the first admin is, who may operate, where the bot takes commands and
where it tells the team what happened; everything else keeps its default
(chatops.example.toml documents every key). Each answer is checked as the settings check it:
an ID, never a display name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bot.chat_ids import channel_ids, principal_ids

HOW_TO_FIND_IDS = """\
Slack names people and channels by IDs, which never change (names do):
  a person:   their profile -> the three dots -> Copy member ID    (U0123ABCD)
  a group:    People -> User groups -> the group -> its ID           (S0123ABCD)
  a channel:  the channel's name -> About -> at the bottom           (C0123ABCD)"""


@dataclass(frozen=True, kw_only=True, slots=True)
class Essentials:
    """The answers ``config init`` writes down."""

    admins: tuple[str, ...]
    operators: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()  # where commands are taken; empty: anywhere
    notify_channel: str | None = None


def render_config(essentials: Essentials, *, written: date) -> str:
    """The TOML text: the essentials, each with a comment saying what it is and how to change
    it."""
    notify = (
        f'channel = "{essentials.notify_channel}"'
        if essentials.notify_channel
        else '# channel = "C0123ABCD"   # unset: no notifications'
    )
    # A notice's buttons act from its channel, so the bot must take commands there too (the
    # settings refuse a notifications channel outside [access] channels).
    channels = list(essentials.channels)
    if channels and essentials.notify_channel and essentials.notify_channel not in channels:
        channels.append(essentials.notify_channel)
    return f"""\
# chatops.toml, written by `python -m bot config init` on {written.isoformat()}.
# Every other key keeps its default: chatops.example.toml documents them all.
# Check it (and ask Slack who each ID is): python -m bot config check

[roles]
# Slack user IDs (U...) or user group IDs (S...); "*" is everyone in the workspace.
# Roles nest: an admin may do what an operator may, an operator what a viewer may.
viewer = ["*"]
operator = {_toml_list(essentials.operators)}
# The first admin is whoever is named here: admins approve destructive requests (rm, rmi,
# prune, upgrade, ...) and may run anything.
admin = {_toml_list(essentials.admins)}

[access]
# Channel IDs (C...) where the bot takes commands; empty: any channel it is in. The
# notifications channel is among them: its notices' buttons are commands.
channels = {_toml_list(tuple(channels))}

[notifications]
# Where crashes, OOM kills and restart loops are posted (invite the bot there).
{notify}
"""


def ask_essentials(
    *,
    ask: Callable[[str], str],
    say: Callable[[str], None],
    given: Essentials | None = None,
) -> Essentials:
    """The essentials from ``given`` (flags), asking ``ask`` for each one that is missing until
    the answer is valid; ``say`` tells how to find the IDs and what was wrong."""
    if given is not None and given.admins:
        return given
    say(HOW_TO_FIND_IDS)
    admins = _ask_ids(
        ask, say, "First admin (user IDs, space-separated): ", kind="user", required=True
    )
    operators = _ask_ids(ask, say, "Operators (user or group IDs; empty: none): ", kind="user")
    channels = _ask_ids(ask, say, "Channels for commands (IDs; empty: any): ", kind="channel")
    notify = _ask_ids(
        ask, say, "Channel for notifications (an ID; empty: none): ", kind="channel", most=1
    )
    return Essentials(
        admins=admins,
        operators=operators,
        channels=channels,
        notify_channel=notify[0] if notify else None,
    )


def checked_essentials(
    *, admins: list[str], operators: list[str], channels: list[str], notify: str | None
) -> Essentials:
    """Essentials from flags, checked; ``ValueError`` naming a value that is not an ID."""
    principal_ids(admins, allow_everyone=False, what="user or user group")
    principal_ids(operators, allow_everyone=False, what="user or user group")
    channel_ids([*channels, *([notify] if notify else [])])
    return Essentials(
        admins=tuple(admins),
        operators=tuple(operators),
        channels=tuple(channels),
        notify_channel=notify,
    )


def _ask_ids(
    ask: Callable[[str], str],
    say: Callable[[str], None],
    prompt: str,
    *,
    kind: str,
    required: bool = False,
    most: int | None = None,
) -> tuple[str, ...]:
    while True:
        values = ask(prompt).replace(",", " ").split()
        try:
            if required and not values:
                raise ValueError("at least one is needed: the bot needs someone to approve")
            if most is not None and len(values) > most:
                raise ValueError(f"at most {most}")
            if kind == "user":
                principal_ids(values, allow_everyone=False, what="user or user group")
            else:
                channel_ids(values)
        except ValueError as err:
            say(f"  {err}")
            continue
        return tuple(values)


def _toml_list(values: tuple[str, ...]) -> str:
    # IDs are letters and digits only (checked), so quoting needs no escaping.
    return "[" + ", ".join(f'"{value}"' for value in values) + "]"
