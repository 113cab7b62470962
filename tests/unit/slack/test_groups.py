"""User group members, read from Slack and kept for a while (cachetools' TTLCache)."""

from __future__ import annotations

from typing import Any, cast

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.groups import SlackGroups


class FakeUsergroups:
    """``usergroups.users.list`` answering from a dict; a group not in it is an API error."""

    def __init__(self, members: dict[str, list[str]]) -> None:
        self.members = members
        self.calls: list[str] = []

    def usergroups_users_list(self, *, usergroup: str) -> dict[str, Any]:
        self.calls.append(usergroup)
        if usergroup not in self.members:
            raise SlackApiError("no_such_subteam", cast(Any, {"ok": False}))
        return {"ok": True, "users": self.members[usergroup]}


def test_members_are_kept_for_the_ttl_then_read_again() -> None:
    now = [100.0]
    slack = FakeUsergroups({"S0SRE": ["U0DANA"]})
    groups = SlackGroups(client=cast(WebClient, slack), ttl=60, clock=lambda: now[0])
    assert groups.groups_of("U0DANA", frozenset({"S0SRE"})) == {"S0SRE"}
    slack.members["S0SRE"] = []  # Dana leaves the group
    now[0] += 59
    assert groups.groups_of("U0DANA", frozenset({"S0SRE"})) == {"S0SRE"}  # kept
    assert slack.calls == ["S0SRE"]
    now[0] += 2  # past the TTL: read again, and Dana is no longer in it
    assert groups.groups_of("U0DANA", frozenset({"S0SRE"})) == frozenset()
    assert slack.calls == ["S0SRE", "S0SRE"]


def test_a_group_that_cannot_be_read_grants_nothing() -> None:
    slack = FakeUsergroups({"S0SRE": ["U0DANA"]})
    groups = SlackGroups(client=cast(WebClient, slack), ttl=60, clock=lambda: 0.0)
    assert groups.groups_of("U0DANA", frozenset({"S0GONE", "S0SRE"})) == {"S0SRE"}
