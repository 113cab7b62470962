"""The Home tab's [[freeze]] section: the windows in force and the next one, from the core's
outlook, escaped; no section when no freeze is configured."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.freezes import Freeze, Outlook, outlook
from bot.core.views import HomeState
from bot.slack.render.home import MAX_HOME_BLOCKS, home_view

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
RELEASE = Freeze(
    reason="release <!channel> & co",
    start=NOW - timedelta(hours=1),
    end=NOW + timedelta(hours=2),
    engines=frozenset({"prod"}),
    actions=frozenset({"stop", "rm"}),
)
YEAR_END = Freeze(reason="year-end", start=NOW + timedelta(days=13), end=NOW + timedelta(days=28))


def state(freezes: Outlook | None) -> HomeState:
    return HomeState(
        user_id="U0OPS",
        roles=("viewer", "operator"),
        allowed=("ps",),
        with_approval=(),
        engines=(),
        pending=(),
        may_approve=False,
        approvers="admin",
        housekeeping=None,
        freezes=freezes,
    )


def rendered(freezes: Outlook | None) -> str:
    view: dict[str, Any] = home_view(state(freezes), now=NOW)
    assert len(view["blocks"]) <= MAX_HOME_BLOCKS
    return json.dumps(view, ensure_ascii=False)


def test_the_window_in_force_and_the_next_are_shown_escaped() -> None:
    text = rendered(outlook((RELEASE, YEAR_END), now=NOW))
    assert "Change freeze" in text
    assert (
        "Frozen until 2026-12-07 14:00 UTC: release &lt;!channel&gt; &amp; co · `prod` · "
        "`rm`, `stop`"
    ) in text
    assert (
        "Next: 2026-12-20 12:00 UTC to 2027-01-04 12:00 UTC: year-end · every engine · every change"
    ) in text
    assert "<!channel>" not in text


@pytest.mark.parametrize(
    ("now", "shown", "hidden"),
    [
        (NOW - timedelta(hours=2), "Next: 2026-12-07 11:00 UTC", "Frozen until"),
        (NOW + timedelta(days=30), "No window is in force or coming.", "Next:"),
    ],
)
def test_before_and_after_the_windows(now: datetime, shown: str, hidden: str) -> None:
    text = rendered(outlook((RELEASE, YEAR_END), now=now))
    assert shown in text and hidden not in text


def test_no_section_without_freezes_nor_for_someone_without_a_role() -> None:
    assert "Change freeze" not in rendered(None)
    assert "Change freeze" in rendered(Outlook(in_force=(), upcoming=None))  # the control
