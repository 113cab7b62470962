"""The chat platform's ID rules (Slack's): which strings are user, user group and channel IDs.

Configuration names people and places by these immutable IDs, never by display names (which
anyone can change). Plain rules beside the settings, not in the Slack adapter: the settings
check IDs with them and import nothing of Slack's; the composition root finds the user groups
worth looking up with ``referenced_groups``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import chain

from bot.core.policy import AccessRules

# Slack IDs are a type letter and upper-case letters and digits, with at least one digit: a
# word such as "SECOPS" or "GENERAL" is a name typed where an ID belongs.
_PRINCIPAL_ID = re.compile(r"[UWS](?=[A-Z]*[0-9])[A-Z0-9]{2,}\Z")  # users (U, W), groups (S)
_CHANNEL_ID = re.compile(r"[CGD](?=[A-Z]*[0-9])[A-Z0-9]{2,}\Z")  # channels, private, DMs


def principal_ids(values: list[str], *, allow_everyone: bool, what: str) -> list[str]:
    """User and user group IDs (U..., W..., S...); display names are refused."""
    for value in values:
        if value == "*" and allow_everyone:
            continue
        if not _PRINCIPAL_ID.match(value):
            hint = ' or "*"' if allow_everyone else ""
            raise ValueError(
                f"{value!r} is not a Slack {what} ID (U..., W..., S...{hint}); "
                "display names are not accepted: they can change"
            )
    return values


def channel_ids(values: list[str]) -> list[str]:
    """Channel IDs (C..., G..., D...); channel names (#ops) are refused: they can change."""
    for value in values:
        if not _CHANNEL_ID.match(value):
            raise ValueError(
                f"{value!r} is not a Slack channel ID (C..., G...; in Slack: channel details, "
                "at the bottom); channel names are not accepted: they can change"
            )
    return values


def channel_id(value: str | None) -> str | None:
    """One optional channel ID, checked as ``channel_ids`` does."""
    return None if value is None else channel_ids([value])[0]


def is_principal_id(value: str) -> bool:
    """A user or user group ID (``U...``, ``W...``, ``S...``)."""
    return _PRINCIPAL_ID.match(value) is not None


def is_channel_id(value: str) -> bool:
    """A channel ID (``C...``, ``G...``, ``D...``)."""
    return _CHANNEL_ID.match(value) is not None


def is_user_group(entry: str) -> bool:
    """A user group ID (``S...``), as opposed to a user ID, ``*`` or a role name."""
    return entry.startswith("S") and _PRINCIPAL_ID.match(entry) is not None


def referenced_groups(rules: AccessRules, *, also: Iterable[str] = ()) -> frozenset[str]:
    """The user groups the rules mention, in roles or as approvers (and ``also``: grants'
    ``who``): the only memberships worth looking up."""
    entries = [*chain.from_iterable(rules.roles.values()), *rules.approvers, *also]
    return frozenset(entry for entry in entries if is_user_group(entry))
