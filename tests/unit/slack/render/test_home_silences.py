"""The Home tab shows the silences in force (issue 20, item 5), escaped, within its blocks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.core.notices.silences import Silence
from bot.core.views import HomeState
from bot.slack.render.home import MAX_SILENCES_SHOWN, home_view

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def state(*silences: Silence) -> HomeState:
    return HomeState(
        user_id="U0OPS",
        roles=("viewer", "operator"),
        allowed=("ps", "silence"),
        with_approval=(),
        engines=(),
        pending=(),
        may_approve=False,
        approvers="admin",
        housekeeping=None,
        silences=silences,
    )


def silence(n: int, pattern: str = "web") -> Silence:
    return Silence(
        id=n,
        engine="prod",
        pattern=pattern,
        created_by="U0DANA",
        created_at=T0,
        until=T0 + timedelta(hours=n),
    )


def test_the_home_tab_lists_the_silences_in_force() -> None:
    flat = json.dumps(home_view(state(silence(1), silence(2, "ci-*")), now=T0))
    assert "*Silenced* (2)" in flat
    assert "*#1* `web` on `prod` by <@U0DANA> until <!date^" in flat
    assert "`ci-*`" in flat
    assert "No container is silenced." in json.dumps(home_view(state(), now=T0))


def test_many_silences_are_counted_and_nothing_mentions_anyone() -> None:
    many = [silence(n, "<!channel>") for n in range(1, MAX_SILENCES_SHOWN + 6)]
    view = home_view(state(*many), now=T0)
    flat = json.dumps(view)
    assert "and 5 more" in flat and "<!channel>" not in flat
    assert len(view["blocks"]) <= 100
