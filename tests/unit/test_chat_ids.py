"""Slack's ID rules: IDs, never display names, and which entries are user groups."""

from __future__ import annotations

import pytest

from bot.chat_ids import channel_ids, is_user_group, principal_ids, referenced_groups
from bot.core.policy import AccessRules
from bot.settings import AccessSettings, RolesSettings


def test_display_names_are_not_ids() -> None:
    with pytest.raises(ValueError, match="display names are not accepted"):
        RolesSettings(admin=["alice"])
    with pytest.raises(ValueError, match="not a Slack channel ID"):
        AccessSettings(channels=["#ops"])


@pytest.mark.parametrize("value", ["alice", "SECOPS", "C0CHANNEL", "U0", "u0ops", "*"])
def test_not_user_or_group_ids(value: str) -> None:
    with pytest.raises(ValueError, match="is not a Slack user or user group ID"):
        principal_ids([value], allow_everyone=False, what="user or user group")


def test_ids_and_everyone() -> None:
    ids = ["U0OPS", "W0GUEST", "S0PLATFORM", "*"]
    assert principal_ids(ids, allow_everyone=True, what="user") == ids
    assert channel_ids(["C0OPS", "G0PRIVATE", "D0DIRECT"]) == ["C0OPS", "G0PRIVATE", "D0DIRECT"]
    with pytest.raises(ValueError, match="'GENERAL' is not a Slack channel ID"):
        channel_ids(["GENERAL"])


@pytest.mark.parametrize(
    ("entry", "group"),
    [("S0PLATFORM", True), ("U0OPS", False), ("*", False), ("admin", False), ("SECOPS", False)],
)
def test_is_user_group(entry: str, group: bool) -> None:
    assert is_user_group(entry) is group


def test_referenced_groups() -> None:
    rules = AccessRules(
        roles={"viewer": ("*",), "operator": ("U0OPS", "S0PLATFORM"), "admin": ("U0ADMIN",)},
        approvers=("admin",),
    )
    assert referenced_groups(rules) == frozenset({"S0PLATFORM"})
    # Approvers may be user groups too: their members are looked up as well.
    with_group = AccessRules(roles=rules.roles, approvers=("admin", "S0SRE", "U0LEAD"))
    assert referenced_groups(with_group) == frozenset({"S0PLATFORM", "S0SRE"})
