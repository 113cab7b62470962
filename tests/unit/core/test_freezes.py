"""Freeze windows as tables, and the window arithmetic as properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.freezes import (
    HOUSEKEEPING_ACTION,
    UPDATE_CHECK_ACTION,
    Freeze,
    FreezeCalendar,
    NextFire,
    clash,
    in_force,
    next_window,
    outlook,
    refusal,
    skipped,
)
from bot.core.parsing.parser import parse_command
from bot.core.policy import AccessRules, Actor, ConfiguredPolicy, Verdict, frozen_decision
from bot.core.run_policy import RunPolicy

T0 = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # a Monday
ALLOW, APPROVAL, DENY = Verdict.ALLOW, Verdict.NEEDS_APPROVAL, Verdict.DENY


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def every(period: timedelta, *, first: datetime = T0) -> NextFire:
    """A schedule firing at ``first`` and every ``period`` after (a crontab's stand-in)."""

    def next_fire(moment: datetime) -> datetime | None:
        if moment < first:
            return first
        return first + ((moment - first) // period + 1) * period

    return next_fire


RELEASE = Freeze(reason="release", start=hours(10), end=hours(20))
NIGHTS = Freeze(
    reason="nights",
    next_fire=every(timedelta(days=1), first=hours(22)),
    duration=timedelta(hours=8),
    actions=frozenset({"stop", "rm"}),
    engines=frozenset({"prod"}),
)


@pytest.mark.parametrize(
    ("now", "engine", "action", "reason"),
    [
        (hours(9), "prod", "stop", None),  # before
        (hours(10), "prod", "stop", "release"),  # start is inside
        (hours(19.9), "local", "run", "release"),  # every engine, every change
        (hours(20), "prod", "run", None),  # end is outside
        (hours(23), "prod", "stop", "nights"),
        (hours(23), "local", "stop", None),  # another engine
        (hours(23), "prod", "restart", None),  # another action
        (hours(24 + 5), "prod", "rm", "nights"),  # the window that opened yesterday
        (hours(24 + 6), "prod", "rm", None),
        (hours(48 + 22), "prod", "rm", "nights"),  # it recurs
    ],
)
def test_in_force(now: datetime, engine: str, action: str, reason: str | None) -> None:
    window = in_force((RELEASE, NIGHTS), now=now, engine=engine, action=action)
    assert (window.reason if window else None) == reason


@pytest.mark.parametrize(
    ("now", "start", "reason"),
    [
        (hours(0), hours(10), "release"),
        (hours(12), hours(22), "nights"),  # the one in force is not the next
        (hours(23), hours(24 + 22), "nights"),
    ],
)
def test_next_window(now: datetime, start: datetime, reason: str) -> None:
    window = next_window((RELEASE, NIGHTS), now=now)
    assert window is not None
    assert (window.start, window.reason) == (start, reason)


def test_nothing_next_after_the_last_fixed_window() -> None:
    assert next_window((RELEASE,), now=hours(10)) is None
    assert next_window((RELEASE,), now=hours(9)) is not None  # positive control


def test_refusal_names_reason_and_end() -> None:
    assert refusal(in_force((RELEASE,), now=hours(11), engine="x", action="stop")) == (  # type: ignore[arg-type]
        "changes are frozen until 2026-12-07 20:00 UTC: release ([[freeze]])"
    )


# The bot's own scheduled work: housekeeping counts as `cleanup`, the update check as `upgrade`.
UPGRADES_ON_PROD = Freeze(
    reason="upgrade week",
    start=hours(28),
    end=hours(40),
    engines=frozenset({"prod"}),
    actions=frozenset({"upgrade"}),
)


@pytest.mark.parametrize(
    ("now", "engine", "action", "reason"),
    [
        (hours(11), "prod", HOUSEKEEPING_ACTION, "release"),  # every change: cleanup too
        (hours(11), "lab", UPDATE_CHECK_ACTION, "release"),  # every engine
        (hours(21), "prod", HOUSEKEEPING_ACTION, None),  # unfrozen: it runs (the control)
        (hours(23), "prod", HOUSEKEEPING_ACTION, None),  # nights hold stop and rm, not cleanup
        (hours(31), "prod", UPDATE_CHECK_ACTION, "upgrade week"),
        (hours(31), "prod", HOUSEKEEPING_ACTION, None),  # another action
        (hours(31), "lab", UPDATE_CHECK_ACTION, None),  # another engine
        (hours(40), "prod", UPDATE_CHECK_ACTION, None),  # it ended
    ],
)
def test_what_the_scheduled_work_skips(
    now: datetime, engine: str, action: str, reason: str | None
) -> None:
    calendar = FreezeCalendar(freezes=(RELEASE, NIGHTS, UPGRADES_ON_PROD), clock=lambda: now)
    window = calendar.holding(engine, action)
    assert (window.reason if window else None) == reason


def test_a_calendar_without_freezes_holds_nothing_and_reads_no_clock() -> None:
    def clock() -> datetime:
        raise AssertionError("no window: no need for the time")

    assert FreezeCalendar(freezes=(), clock=clock).holding("prod", HOUSEKEEPING_ACTION) is None


def test_skipped_names_engine_reason_and_end() -> None:
    window = in_force((RELEASE,), now=hours(11), engine="prod", action=HOUSEKEEPING_ACTION)
    assert window is not None
    assert skipped(window, engine="prod") == (
        "skipped on prod: frozen (release) until 2026-12-07 20:00 UTC"
    )


@pytest.mark.parametrize(
    ("now", "held", "upcoming"),
    [
        (hours(0), [], ("release", hours(10))),
        (hours(11), ["release"], ("nights", hours(22))),
        (hours(23), ["nights"], ("upgrade week", hours(28))),
        (hours(29), ["nights", "upgrade week"], ("nights", hours(24 + 22))),  # soonest end first
        (hours(31), ["upgrade week"], ("nights", hours(24 + 22))),
    ],
)
def test_outlook_in_force_on_any_engine_and_the_next(
    now: datetime, held: list[str], upcoming: tuple[str, datetime]
) -> None:
    seen = outlook((RELEASE, NIGHTS, UPGRADES_ON_PROD), now=now)
    assert [window.reason for window in seen.in_force] == held
    assert seen.upcoming is not None
    assert (seen.upcoming.reason, seen.upcoming.start) == upcoming


def test_outlook_after_the_last_window_is_empty() -> None:
    seen = outlook((RELEASE,), now=hours(20))
    assert seen.in_force == () and seen.upcoming is None
    assert outlook((RELEASE,), now=hours(19)).in_force  # positive control


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": hours(2), "end": hours(1)},
        {"start": hours(1), "end": hours(1)},
        {"next_fire": every(timedelta(days=1))},  # no duration
        {},
        {"start": hours(1), "end": hours(2), "next_fire": every(timedelta(days=1))},
    ],
)
def test_bad_freezes(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Freeze(reason="r", **kwargs)


def test_clash_of_different_reasons_only() -> None:
    other = Freeze(reason="other", start=hours(19), end=hours(21))
    same = Freeze(reason="release", start=hours(19), end=hours(21))
    apart = Freeze(reason="other", start=hours(20), end=hours(21))
    prod_nights = Freeze(reason="x", start=hours(23), end=hours(24), engines=frozenset({"lab"}))
    assert clash((RELEASE, other), since=T0, until=hours(100)) is not None
    assert clash((RELEASE, same), since=T0, until=hours(100)) is None
    assert clash((RELEASE, apart), since=T0, until=hours(100)) is None
    assert clash((NIGHTS, prod_nights), since=T0, until=hours(100)) is None  # other engines
    on_prod = Freeze(reason="x", start=hours(23), end=hours(24), engines=frozenset({"prod"}))
    assert clash((NIGHTS, on_prod), since=T0, until=hours(100)) is not None


periods = st.integers(min_value=60, max_value=7 * 86400).map(lambda s: timedelta(seconds=s))
offsets = st.integers(min_value=-30 * 86400, max_value=30 * 86400).map(
    lambda s: timedelta(seconds=s)
)


@given(period=periods, share=st.floats(min_value=0.01, max_value=1.0), offset=offsets)
def test_recurring_window_holds_exactly_the_moments_after_a_fire(
    period: timedelta, share: float, offset: timedelta
) -> None:
    duration = max(timedelta(seconds=1), period * share)
    freeze = Freeze(reason="r", next_fire=every(period), duration=duration)
    now = T0 + offset
    since_fire = (now - T0) % period if now >= T0 else None
    expected = since_fire is not None and since_fire < duration
    window = in_force((freeze,), now=now, engine="e", action="stop")
    assert (window is not None) == expected
    if window is not None:
        assert window.start <= now < window.end
        assert window.end - window.start == duration
    upcoming = next_window((freeze,), now=now)
    assert upcoming is not None and now < upcoming.start <= now + max(period, T0 - now)


# The policy inside a window: an admin may ask for a change that can be planned (a removal, a
# container's stop/restart/...), which another admin approves; `run`, `pull` and everyone else
# are refused; reads and other engines run.
POLICY_RULES = AccessRules(
    roles={"viewer": ("*",), "operator": ("U0OPS",), "admin": ("U0ADMIN",)},
    required_for=("rmi",),
    approvers=("admin",),
)
ON_PROD = Freeze(reason="release", start=hours(10), end=hours(20), engines=frozenset({"prod"}))
FROZEN = "changes are frozen until 2026-12-07 20:00 UTC: release ([[freeze]])"


@pytest.mark.parametrize(
    ("user", "text", "engine", "verdict", "reason"),
    [
        ("U0ADMIN", "rm web", "prod", APPROVAL, f"{FROZEN}; an admin's change needs another "),
        ("U0ADMIN", "rmi app:1", "prod", APPROVAL, "another admin's approval"),
        ("U0ADMIN", "container prune -f", "prod", APPROVAL, "another admin's approval"),
        ("U0ADMIN", "stop web", "prod", APPROVAL, f"{FROZEN}; an admin's change needs another "),
        ("U0ADMIN", "restart web", "prod", APPROVAL, "another admin's approval"),
        ("U0ADMIN", "run -d busybox", "prod", DENY, "`run` and `pull` cannot wait"),
        ("U0OPS", "stop web", "prod", DENY, FROZEN),
        ("U0OPS", "rmi app:1", "prod", DENY, FROZEN),  # an approval would not lift it
        ("U0VIEW", "stop web", "prod", DENY, "needs the operator role"),  # told as a role's
        ("U0ADMIN", "ps", "prod", ALLOW, ""),  # reads are never frozen
        ("U0ADMIN", "rm web", "lab", ALLOW, ""),  # the control: the window holds prod only
        ("U0OPS", "stop web", "lab", ALLOW, ""),
    ],
)
def test_the_policy_inside_a_window(
    user: str, text: str, engine: str, verdict: Verdict, reason: str
) -> None:
    policy = ConfiguredPolicy(
        rules=POLICY_RULES, run_policy=RunPolicy(), freezes=(ON_PROD,), clock=lambda: hours(11)
    )
    decision = policy.decide(
        actor=Actor(user_id=user, channel_id="C0OPS"), command=parse_command(text), engine=engine
    )
    assert decision.verdict is verdict and reason in decision.reason


@pytest.mark.parametrize(
    ("is_admin", "plannable", "verdict"),
    [(True, True, APPROVAL), (True, False, DENY), (False, True, DENY), (False, False, DENY)],
)
def test_frozen_decision(is_admin: bool, plannable: bool, verdict: Verdict) -> None:
    decision = frozen_decision("frozen", is_admin=is_admin, plannable=plannable)
    assert decision.verdict is verdict and decision.reason.startswith("frozen")
