"""Silences as pure decisions (issue 20, item 5): which container a silence names, when it
holds, which of several counts, what is refused; and the store kept in memory."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.notices.silences import (
    DEFAULT_MAX_SILENCE,
    SKEW,
    MemorySilenceStore,
    Silence,
    duration_problem,
    pattern_problem,
    silencing,
)

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
WEB_ID = "ab12cd34ef56" + "0" * 52
HOUR = timedelta(hours=1)


def silence(pattern: str = "web", **changes: object) -> Silence:
    values: dict[str, object] = dict(
        id=1,
        engine="prod",
        pattern=pattern,
        created_by="U0OPS",
        created_at=T0,
        until=T0 + HOUR,
    )
    return Silence(**(values | changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("web", "web", True),
        ("web", "/web", True),  # the engine's spelling of a name
        ("web", "web-2", False),
        ("web", "webby", False),
        ("web*", "web-2", True),
        ("ci-*", "ci-build-7", True),
        ("ci-*", "prod-ci-1", False),
        ("api-?", "api-1", True),
        ("api-?", "api-12", False),
        ("api-[12]", "api-2", True),
        ("api-[!12]", "api-2", False),
        ("Web", "web", False),  # names are case-sensitive
        ("*", "anything", True),
        # A container an upgrade renamed while it runs is still itself.
        ("web", "web-chatops-new-ab12cd34ef56", True),
        # An ID (a prefix of 12 or more digits) names that container whatever its name.
        ("ab12cd34ef56", "renamed", True),
        (WEB_ID, "renamed", True),
        ("ab12cd34ef57", "renamed", False),
        ("ab12cd", "renamed", False),  # too short to be an ID: a name
    ],
)
def test_which_containers_a_silence_names(pattern: str, name: str, matches: bool) -> None:
    assert silence(pattern).matches(name=name, container_id=WEB_ID) is matches


@pytest.mark.parametrize(
    ("at", "ended_at", "holds"),
    [
        (T0 - SKEW - timedelta(seconds=1), None, False),  # before it was made
        (T0 - SKEW, None, True),  # the engine's clock a little behind the bot's
        (T0, None, True),
        (T0 + HOUR - timedelta(microseconds=1), None, True),
        (T0 + HOUR, None, False),  # expired on time
        (T0 + timedelta(minutes=20), T0 + timedelta(minutes=30), True),
        (T0 + timedelta(minutes=30), T0 + timedelta(minutes=30), False),  # unsilenced
        (T0 + timedelta(minutes=40), T0 + timedelta(minutes=30), False),
        (T0 + timedelta(minutes=50), T0 + 2 * HOUR, True),  # ended after it had expired
        (T0 + HOUR, T0 + 2 * HOUR, False),
    ],
)
def test_when_a_silence_holds(at: datetime, ended_at: datetime | None, holds: bool) -> None:
    assert silence(ended_at=ended_at).active(at) is holds


def test_a_silence_holds_on_its_own_engine_only() -> None:
    web = silence()
    assert web.covers(engine="prod", name="web", container_id=WEB_ID, at=T0)
    assert not web.covers(engine="staging", name="web", container_id=WEB_ID, at=T0)


def test_of_several_the_one_that_lasts_longest_counts() -> None:
    short = silence("web", id=1, until=T0 + HOUR)
    long = silence("web*", id=2, until=T0 + 5 * HOUR)
    other = silence("api", id=3, until=T0 + 9 * HOUR)
    ended = silence("web", id=4, until=T0 + 9 * HOUR, ended_at=T0)
    found = [short, long, other, ended]
    at = T0 + timedelta(minutes=5)
    assert silencing(found, engine="prod", name="web", container_id=WEB_ID, at=at) == long
    later = T0 + 6 * HOUR
    assert silencing(found, engine="prod", name="web", container_id=WEB_ID, at=later) is None
    assert silencing([], engine="prod", name="web", container_id=WEB_ID, at=at) is None


@pytest.mark.parametrize(
    ("pattern", "refused"),
    [
        ("web", False),
        ("web-1.blue_green", False),
        ("ci-*", False),
        ("api-[12]", False),
        (WEB_ID, False),
        ("-web", True),  # would read as an option
        ("web;rm", True),
        ("web name", True),
        ("<!channel>", True),
        ("", True),
        ("a" * 257, True),
    ],
)
def test_what_can_be_silenced(pattern: str, refused: bool) -> None:
    assert (pattern_problem(pattern) is not None) is refused


@pytest.mark.parametrize(
    ("duration", "max_silence", "refusal"),
    [
        (HOUR, DEFAULT_MAX_SILENCE, None),
        (timedelta(days=7), DEFAULT_MAX_SILENCE, None),
        (
            timedelta(days=7, seconds=1),
            DEFAULT_MAX_SILENCE,
            "a silence of 7d1s is longer than [notifications] max_silence (7d)",
        ),
        (
            timedelta(hours=24),
            timedelta(hours=12),
            "a silence of 1d is longer than [notifications] max_silence (12h)",
        ),
        (timedelta(0), DEFAULT_MAX_SILENCE, "a silence lasts a positive time, such as 1h"),
    ],
)
def test_a_silence_longer_than_max_silence_is_refused_naming_it(
    duration: timedelta, max_silence: timedelta, refusal: str | None
) -> None:
    assert duration_problem(duration, max_silence=max_silence) == refusal


_TIMES = st.integers(min_value=-10 * 86400, max_value=10 * 86400).map(
    lambda s: T0 + timedelta(seconds=s)
)


@given(
    lasts=st.integers(min_value=1, max_value=8 * 86400),
    ended_after=st.none() | st.integers(min_value=0, max_value=9 * 86400),
    first=_TIMES,
    second=_TIMES,
)
def test_a_silence_holds_over_one_unbroken_span_that_ends_on_time(
    lasts: int, ended_after: int | None, first: datetime, second: datetime
) -> None:
    ended = None if ended_after is None else T0 + timedelta(seconds=ended_after)
    made = silence(until=T0 + timedelta(seconds=lasts), ended_at=ended)
    end = made.until if ended is None else min(made.until, ended)
    # Never after its end (or its unsilencing), never before it was made.
    for at in (first, second):
        if made.active(at):
            assert T0 - SKEW <= at < end
    # One span: holding at two times, it holds at every time between them.
    if made.active(first) and made.active(second):
        low, high = sorted((first, second))
        assert made.active(low + (high - low) / 2)
    # Silencing picks only what holds: nothing at all once every silence has ended.
    assert silencing([made], engine="prod", name="web", container_id=WEB_ID, at=end) is None


def test_the_memory_store_adds_lists_ends_and_expires() -> None:
    now = [T0]
    store = MemorySilenceStore(clock=lambda: now[0])
    web = store.add(engine="prod", pattern="web", user="U0OPS", duration=HOUR)
    api = store.add(engine="staging", pattern="api", user="U0OPS", duration=2 * HOUR)
    assert web.until == T0 + HOUR
    assert store.active() == [web, api]
    assert store.active(engine="staging") == [api]
    now[0] = T0 + timedelta(minutes=10)
    ended = store.end(web.id, user="U0ADMIN")
    assert ended == replace(web, ended_at=now[0], ended_by="U0ADMIN")
    assert store.end(web.id, user="U0ADMIN") is None  # already ended
    assert store.active() == [api]
    now[0] = T0 + 2 * HOUR
    assert store.active() == []  # expired on time
    assert store.end(api.id, user="U0OPS") is None
    assert store.active(at=T0 + timedelta(minutes=5)) == [ended, api]  # as it was then
