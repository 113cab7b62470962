"""The read-only diagnostics commands: forms, refusals, round trips and arbitrary input."""

from __future__ import annotations

import shlex
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.help import build_help
from bot.core.operations import (
    DiskUsage,
    ListNetworks,
    ListVolumes,
    Operation,
    Permission,
    PortProtocol,
    ShowEvents,
    ShowPorts,
    ShowStats,
    ShowTop,
    changes_something,
)
from bot.core.parsing.commands import MAX_EVENTS_SPAN, MAX_STATS_CONTAINERS
from bot.core.parsing.display import duration_text, shown_command
from bot.core.parsing.parser import parse_command
from bot.core.parsing.units import parse_duration
from bot.errors import ParseError

DIAGNOSTICS = (ShowStats, ShowTop, ShowPorts, DiskUsage, ListVolumes, ListNetworks, ShowEvents)


def op(text: str) -> Operation:
    return parse_command(text).operation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stats", ShowStats()),
        ("stats --no-stream", ShowStats()),
        ("container stats --no-stream=true -a", ShowStats(all=True)),
        ("stats --no-trunc web db web", ShowStats(containers=("web", "db"), no_trunc=True)),
        ("top web", ShowTop(container="web")),
        ("container top web", ShowTop(container="web")),
        ("port web", ShowPorts(container="web")),
        ("port web 80", ShowPorts(container="web", private_port=80)),
        ("port web 80/tcp", ShowPorts(container="web", private_port=80)),
        (
            "container port web 53/udp",
            ShowPorts(container="web", private_port=53, protocol=PortProtocol.UDP),
        ),
        ("system df", DiskUsage()),
        ("volume ls", ListVolumes()),
        (
            "volume list -q --filter dangling=true",
            ListVolumes(quiet=True, filters=(("dangling", "true"),)),
        ),
        (
            "volume ls -f driver=local -f name=data",
            ListVolumes(filters=(("driver", "local"), ("name", "data"))),
        ),
        ("network ls", ListNetworks()),
        (
            "network ls -q --no-trunc --filter driver=bridge",
            ListNetworks(quiet=True, no_trunc=True, filters=(("driver", "bridge"),)),
        ),
        ("events", ShowEvents()),
        ("system events --since 30m", ShowEvents(since=timedelta(minutes=30))),
        (
            "events --since 1h --until 30m --filter event=die --filter type=container",
            ShowEvents(
                since=timedelta(hours=1),
                until=timedelta(minutes=30),
                filters=(("event", "die"), ("type", "container")),
            ),
        ),
        ("events --since 90s", ShowEvents(since=timedelta(seconds=90))),
        ("events --since 1.4s", ShowEvents(since=timedelta(seconds=1))),
    ],
)
def test_forms(text: str, expected: Operation) -> None:
    assert op(text) == expected


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("stats --format '{{.Name}}'", ["`--format` cannot be used"]),
        ("stats --stream", ["Unknown option `--stream`", "--no-stream"]),
        ("stats " + " ".join(f"c{n}" for n in range(MAX_STATS_CONTAINERS + 1)), ["at most 50"]),
        ("top", ["needs one argument (CONTAINER)"]),
        ("top web aux", ["ps options are not accepted"]),
        ("top web -ef", ["ps options are not accepted"]),
        ("port", ["needs one argument"]),
        ("port web 80 81", ["at most 2 arguments"]),
        ("port web 0", ["Invalid port '0'"]),
        ("port web 70000", ["Invalid port"]),
        ("port web 80/icmp", ["Invalid port", "tcp, udp or sctp"]),
        ("system df -v", ["`--verbose` cannot be used"]),
        ("system df extra", ["takes no arguments"]),
        ("system prune", ["`system prune` is not available", "df"]),
        ("system", ["needs a subcommand"]),
        ("volume prune", ["`volume prune` is not available", "ls", "rm"]),
        ("volume rm x", ["Invalid volume name 'x'", "at least two characters"]),
        ("volume rm", ["volume rm", "VOLUME"]),
        ("volume ls --filter mountpoint=/x", ["Invalid filter", "dangling, driver"]),
        ("volume ls --filter dangling=maybe", ["Invalid dangling filter"]),
        ("network rm backend", ["`network rm` is not available"]),
        ("network ls --filter scope=galaxy", ["Invalid scope filter"]),
        ("network ls --filter type=odd", ["Invalid type filter"]),
        ("events --since 2h", ["at most 1h"]),
        ("events --since 61m", ["at most 1h"]),
        ("events --since 5m --until 10m", ["`--until` must be more recent"]),
        ("events --since 0s", ["`--until` must be more recent"]),
        ("events --since 2026-11-29T10:00:00Z", ["takes a duration counted back from now"]),
        ("events --until 1700000000", ["takes a duration"]),
        ("events --filter daemon=x", ["Invalid filter"]),
        ("events -f", ["needs a value"]),
        ("events now", ["takes no arguments"]),
    ],
)
def test_errors_are_precise(text: str, fragments: list[str]) -> None:
    with pytest.raises(ParseError) as caught:
        parse_command(text)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message


def test_diagnostics_only_read() -> None:
    for kind in DIAGNOSTICS:
        assert kind.access.permission is Permission.READ
    assert not changes_something(ShowStats())
    assert not changes_something(ShowEvents())


def test_help_documents_the_limits() -> None:
    assert parse_command("events --help").operation == op("help events")
    events = build_help("events")
    text = " ".join([events.summary, *(entry.summary for entry in events.entries)])
    assert "at most 1h" in text and "never a live stream" in text
    stats = build_help("stats")
    assert any("implied" in entry.summary for entry in stats.entries)


# -- round trips: what is shown parses back to the same operation ----------------------------

_NAMES = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,20}", fullmatch=True)
# Text the tokenizer keeps as typed: no NUL, no quotes or dashes it straightens.
_TYPED = st.characters(blacklist_characters="\x00\u201c\u201d\u2018\u2019\u2014\u2013")
# Any word the parser takes as a container: a name or an ID, with an optional leading /
# (anything else is refused: tests/unit/core/parsing/test_targets.py).
_WORDS = st.from_regex(r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]{0,20}", fullmatch=True)
_FILTER_VALUES = st.text(_TYPED, max_size=12)
_SECONDS = st.integers(min_value=1, max_value=int(MAX_EVENTS_SPAN.total_seconds()))


def _filters(keys: tuple[str, ...]) -> st.SearchStrategy[tuple[tuple[str, str], ...]]:
    return st.lists(st.tuples(st.sampled_from(keys), _FILTER_VALUES), max_size=3).map(tuple)


@st.composite
def _events(draw: st.DrawFn) -> ShowEvents:
    since = draw(_SECONDS)
    until = draw(st.integers(min_value=0, max_value=since - 1))
    keys = ("container", "event", "image", "label", "network", "type", "volume")
    return ShowEvents(
        since=timedelta(seconds=since), until=timedelta(seconds=until), filters=draw(_filters(keys))
    )


OPERATIONS = st.one_of(
    st.builds(
        ShowStats,
        containers=st.lists(_WORDS, max_size=4, unique=True).map(tuple),
        all=st.booleans(),
        no_trunc=st.booleans(),
    ),
    st.builds(ShowTop, container=_WORDS),
    st.builds(ShowPorts, container=_WORDS),
    st.builds(
        ShowPorts,
        container=_WORDS,
        private_port=st.integers(min_value=1, max_value=65535),
        protocol=st.sampled_from(PortProtocol),
    ),
    st.just(DiskUsage()),
    st.builds(
        ListVolumes,
        quiet=st.booleans(),
        filters=_filters(("driver", "label", "name")),
    ),
    st.builds(
        ListNetworks,
        quiet=st.booleans(),
        no_trunc=st.booleans(),
        filters=_filters(("driver", "id", "label", "name")),
    ),
    _events(),
)


@given(operation=OPERATIONS, engine=st.none() | st.sampled_from(["prod", "staging"]))
def test_shown_parses_back_to_the_same_operation(operation: Operation, engine: str | None) -> None:
    shown = shown_command(operation, engine=engine)
    again = parse_command(shown)
    assert again.operation == operation
    assert again.engine == engine


@given(st.integers(min_value=0, max_value=10 * 86400))
def test_durations_are_shown_in_gos_spelling(seconds: int) -> None:
    text = duration_text(timedelta(seconds=seconds))
    assert parse_duration(text, option="--since") == timedelta(seconds=seconds)


# -- fuzz: arbitrary words after a diagnostics command parse or are refused ------------------

_SPELLINGS = [
    "stats",
    "container stats",
    "top",
    "container top",
    "port",
    "container port",
    "system df",
    "volume ls",
    "volume list",
    "network ls",
    "network list",
    "events",
    "system events",
    "system",
    "volume",
    "network",
]
_OPTION_WORDS = [
    "--no-stream",
    "-a",
    "--all",
    "--no-trunc",
    "-q",
    "--quiet",
    "-f",
    "--filter",
    "--since",
    "--until",
    "-v",
    "--format",
    "--",
    "--help",
    "10m",
    "1h",
    "61m",
    "0s",
    "80/tcp",
    "80",
    "web",
    "dangling=true",
    "event=die",
    "scope=local",
    "a=b",
    "=",
    "-",
]


def _parses_or_refuses(text: str) -> None:
    try:
        command = parse_command(text)
    except ParseError as err:
        assert str(err)
        return
    # Whatever parsed is shown in a spelling that parses back to it.
    assert parse_command(command.shown).operation == command.operation


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_SPELLINGS),
    st.lists(st.sampled_from(_OPTION_WORDS) | st.text(max_size=10), max_size=8),
)
def test_command_shaped_text(command: str, words: list[str]) -> None:
    _parses_or_refuses(" ".join([command, *(shlex.quote(word) for word in words)]))


@settings(max_examples=300)
@given(st.sampled_from(_SPELLINGS), st.text(max_size=80))
def test_arbitrary_tails(command: str, tail: str) -> None:
    try:
        parse_command(f"{command} {tail}")
    except ParseError as err:
        assert str(err)
