"""Quiet hours as a table (which moments are quiet, across midnight and time zones), the
digest, and a property: a moment is quiet exactly when it falls in the span."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.notices.classify import Occurrence
from bot.core.notices.quiet_hours import (
    DIGEST_NAMES,
    InMemoryHeldNotices,
    QuietHours,
    digest_text,
    parse_quiet_hours,
    until_end,
)
from bot.core.notices.rules import NoticeKind
from bot.errors import ParseError

BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = QuietHours(start=time(22), end=time(7), zone=BERLIN)
LUNCH = QuietHours(start=time(12), end=time(13, 30), zone=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("hours", "moment", "quiet"),
    [
        (NIGHT, "2026-12-06T21:59:59+01:00", False),
        (NIGHT, "2026-12-06T22:00:00+01:00", True),
        (NIGHT, "2026-12-07T03:00:00+01:00", True),
        (NIGHT, "2026-12-07T06:59:59+01:00", True),
        (NIGHT, "2026-12-07T07:00:00+01:00", False),
        (NIGHT, "2026-12-06T21:30:00+00:00", True),  # 22:30 in Berlin
        (NIGHT, "2026-07-06T20:30:00+00:00", True),  # 22:30 in Berlin, summer time
        (NIGHT, "2026-07-06T05:30:00+00:00", False),  # 07:30 in Berlin, summer time
        (LUNCH, "2026-12-06T12:00:00+00:00", True),
        (LUNCH, "2026-12-06T13:30:00+00:00", False),
        (LUNCH, "2026-12-06T11:59:00+00:00", False),
    ],
)
def test_holds(hours: QuietHours, moment: str, quiet: bool) -> None:
    assert hours.holds(at(moment)) is quiet


def test_only_the_listed_kinds_wait_and_never_the_engine() -> None:
    now = at("2026-12-07T03:00:00+01:00")
    assert NIGHT.holds_back(NoticeKind.CRASH, now)
    assert not NIGHT.holds_back(NoticeKind.OOM, now)  # not listed by default
    assert not NIGHT.holds_back(NoticeKind.ENGINE, now)
    with pytest.raises(ValueError, match="always told at once"):
        QuietHours(start=time(22), end=time(7), zone=UTC, kinds=frozenset(NoticeKind))


@pytest.mark.parametrize(
    ("text", "span"),
    [("22:00-07:00", (time(22), time(7))), (" 9:05 - 17:30 ", (time(9, 5), time(17, 30)))],
)
def test_parse(text: str, span: tuple[time, time]) -> None:
    assert parse_quiet_hours(text) == span


@pytest.mark.parametrize("text", ["22-07", "22:00", "24:00-07:00", "22:00-22:00", "x" * 500])
def test_parse_refuses(text: str) -> None:
    with pytest.raises(ParseError, match="quiet_hours"):
        parse_quiet_hours(text)


def crash(name: str, kind: NoticeKind = NoticeKind.CRASH) -> Occurrence:
    return Occurrence(
        kind=kind, engine="prod", container_id=f"id-{name}", name=name, image="app", at_ns=0
    )


def test_the_digest_counts_per_container_and_kind() -> None:
    held = InMemoryHeldNotices()
    night = at("2026-12-07T03:00:00+01:00")
    assert held.channels() == []
    for name in ("web", "web", "web", "api"):
        held.hold(channel="C0OPS", occurrence=crash(name), at=night)
    held.hold(channel="C0OPS", occurrence=crash("db", NoticeKind.UNHEALTHY), at=night)
    held.hold(channel="C0OTHER", occurrence=crash("x"), at=night)
    assert held.channels() == ["C0OPS", "C0OTHER"]
    text = digest_text(NIGHT, held.take("C0OPS"))
    assert text.splitlines() == [
        "While it was quiet (22:00-07:00): 4 crashes, 1 unhealthy check.",
        "• web on prod crashed (3 times)",
        "• api on prod crashed",
        "• db on prod turned unhealthy",
    ]
    assert held.take("C0OPS") == {} and held.channels() == ["C0OTHER"]  # taken once


def test_a_long_digest_names_the_first_and_counts_the_rest() -> None:
    held = InMemoryHeldNotices()
    for n in range(DIGEST_NAMES + 5):
        held.hold(channel="C", occurrence=crash(f"c{n:03d}"), at=at("2026-12-07T03:00:00+01:00"))
    lines = digest_text(NIGHT, held.take("C")).splitlines()
    assert len(lines) == 1 + DIGEST_NAMES + 1 and lines[-1] == "… and 5 more"


def test_until_end() -> None:
    assert until_end(NIGHT, at("2026-12-07T06:00:00+01:00")) == timedelta(hours=1)
    assert until_end(NIGHT, at("2026-12-06T23:00:00+01:00")) == timedelta(hours=8)
    assert until_end(NIGHT, at("2026-12-06T12:00:00+01:00")) == timedelta(0)


@given(
    start=st.integers(0, 24 * 60 - 1),
    length=st.integers(1, 24 * 60 - 1),
    minute=st.integers(0, 24 * 60 - 1),
)
def test_quiet_exactly_inside_the_span(start: int, length: int, minute: int) -> None:
    end = (start + length) % (24 * 60)
    hours = QuietHours(start=time(start // 60, start % 60), end=time(end // 60, end % 60), zone=UTC)
    moment = datetime(2026, 12, 6, minute // 60, minute % 60, tzinfo=UTC)
    inside = (minute - start) % (24 * 60) < length
    assert hours.holds(moment) is inside
