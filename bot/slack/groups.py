"""User group membership from Slack (``usergroups.users.list``), cached briefly."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from cachetools import TTLCache
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

log = logging.getLogger(__name__)

MAX_GROUPS = 1_024  # groups remembered at once: a configuration names a handful


class SlackGroups:
    """Which of the given user groups a user belongs to; each group's members are kept for
    ``ttl`` seconds. A group that cannot be read counts as empty (and is logged): access is
    never granted on a failed lookup."""

    def __init__(
        self, *, client: WebClient, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._members_of: TTLCache[str, frozenset[str]] = TTLCache(
            maxsize=MAX_GROUPS, ttl=ttl, timer=clock
        )
        self._lock = threading.Lock()  # TTLCache is not thread-safe

    def groups_of(self, user_id: str, candidates: frozenset[str]) -> frozenset[str]:
        return frozenset(group for group in candidates if user_id in self._members(group))

    def _members(self, group: str) -> frozenset[str]:
        with self._lock:
            cached = self._members_of.get(group)
        if cached is not None:
            return cached
        try:
            answer = self._client.usergroups_users_list(usergroup=group)
            members = frozenset(str(user) for user in answer.get("users") or ())
        except SlackClientError as err:
            log.warning("cannot read the members of user group %s: %s", group, err)
            members = frozenset()
        with self._lock:
            self._members_of[group] = members
        return members
