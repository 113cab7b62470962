"""Bounded cost before authorization: any workspace member can send any text, and the parser
reads it before the policy does. Whatever the text (up to Slack's 4,000 characters), one parse
stays within a few MB, and what it returns is no bigger than the text it came from.

Memory is asserted, not time: allocation is deterministic, timings on a shared runner are not
(``benchmarks/hostile_parse.py`` reports times).
"""

from __future__ import annotations

import dataclasses
import shlex
import tracemalloc
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.core.command import ParsedCommand
from bot.core.operations import RunContainer
from bot.core.parsing.parser import parse_command
from bot.core.parsing.ports import MAX_PUBLISHED_PORTS
from bot.core.parsing.tokens import MAX_COMMAND_LENGTH
from bot.errors import ParseError

# One parse may allocate at most this much at its peak (the hostile port ranges took 335 MB).
PEAK_LIMIT = 4 * 1024 * 1024


def filled(head: str, unit: str, tail: str = "") -> str:
    """``head``, then ``unit`` repeated as often as fits the length limit, then ``tail``."""
    return head + unit * ((MAX_COMMAND_LENGTH - len(head) - len(tail)) // len(unit)) + tail


# Known-hostile texts: all but the first are as long as a command may be.
HOSTILE = [
    "run " + "-p1-65535 " * 40 + "busybox",
    filled("run ", "-p1-65535 ", "busybox"),
    filled("run ", "-p 127.0.0.1:1-65535:1-65535/udp ", "busybox"),
    filled("run -p ", "9", " busybox"),
    filled("run -p [", ":", "]:80:80 busybox"),
    filled("logs --since 1", "0", " web"),
    filled("logs --since ", "1s", " web"),
    filled("logs --since 2026-01-01T00:00:00.", "1", " web"),
    filled("container prune --filter until=", "9"),
    filled("run -m ", "9", " busybox"),
    filled("run -m 1.", "9", "g busybox"),
    filled("run --restart on-failure:", "9", " busybox"),
    filled("cancel ", "9"),
    filled("ps -n ", "9"),
    filled("ps -", "a"),
    filled("ps ", "-a "),
    filled("ps ", "-all "),
    filled("ps --", "abcdefghij"),
    filled("ps -", "z"),
    filled("run busybox ", "-d "),
    filled("run ", "-eA=1 ", "busybox"),
    filled("run ", "a"),
    filled("run ", "a-"),
    filled("run ", "a.", "a:1/x"),
    filled("run a@sha256:", "a"),
    filled("run ", "é"),
    filled("run ", "😀"),
    filled("help ", "x"),
    filled("", "x"),
    filled("ps ", "'a'"),
    filled('ps "', '\\"', '"'),
    filled("-c ", "x", " ps"),
]


def parse_measured(text: str) -> tuple[ParsedCommand | ParseError, int]:
    """The parse result (or its error) and the peak bytes allocated while parsing."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        try:
            result: ParsedCommand | ParseError = parse_command(text)
        except ParseError as err:
            result = err
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if started:
            tracemalloc.stop()
    return result, peak - before


def sequences(value: object) -> Iterator[tuple[str, int]]:
    """(field, length) of every tuple or list inside an operation, recursively."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            inner = getattr(value, item.name)
            if isinstance(inner, tuple | list):
                yield item.name, len(inner)
                for element in inner:
                    yield from sequences(element)
            else:
                yield from sequences(inner)


def strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple | list):
        for element in value:
            yield from strings(element)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from strings(getattr(value, item.name))


def assert_bounded(text: str, *, publish_options: int | None = None) -> None:
    """The structural bound: refused, or an operation no bigger than the text."""
    result, peak = parse_measured(text)
    assert peak < PEAK_LIMIT, f"one parse allocated {peak:,} bytes"
    if isinstance(result, ParseError):
        assert str(result)
        return
    words = len(text.split())  # shell words never outnumber white-space separated chunks
    assert len(result.warnings) <= words
    for name, length in sequences(result.operation):
        assert length <= words, f"{name} has {length} items from {words} words"
    for value in strings(result.operation):
        assert len(value) <= len(text) + 64  # only short defaults (docker.io, library/) added
    operation = result.operation
    if isinstance(operation, RunContainer):
        assert sum(port.container_count for port in operation.ports) <= MAX_PUBLISHED_PORTS
        if publish_options is not None:
            assert len(operation.ports) <= publish_options


@pytest.fixture(autouse=True, scope="module")
def _warm() -> None:
    """Imports and regular expression caches are filled once, not charged to the first parse."""
    for text in [
        "run -p 1-2:3-4 -m 1g --restart on-failure:1 busybox",
        "logs --since 1m x",
        "ps -a",
        "cancel 1",
        "x",
        "run a@sha256:" + "0" * 64,
    ]:
        parse_measured(text)


@pytest.mark.parametrize("text", HOSTILE, ids=lambda text: text[:24])
def test_hostile_examples_are_bounded(text: str) -> None:
    assert len(text) <= MAX_COMMAND_LENGTH
    assert_bounded(text)


def test_forty_full_ranges_are_refused_without_expansion() -> None:
    text = "run " + "-p1-65535 " * 40 + "busybox"
    result, peak = parse_measured(text)
    assert isinstance(result, ParseError)
    assert f"at most {MAX_PUBLISHED_PORTS} published ports" in str(result)
    assert peak < 256 * 1024  # 2.6 million ports were once built here: 335 MB


def test_ranges_under_the_cap_stay_ranges() -> None:
    result, _ = parse_measured("run " + "-p 20000-20024:1-25 " * 40 + "busybox")
    assert isinstance(result, ParsedCommand) and isinstance(result.operation, RunContainer)
    assert len(result.operation.ports) == 40
    assert sum(port.container_count for port in result.operation.ports) == 1000


@settings(
    max_examples=150,
    deadline=None,  # tracemalloc slows each parse; memory is what is asserted
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.text(max_size=MAX_COMMAND_LENGTH))
@example("run " + "-p1-65535 " * 40 + "busybox")
@example("\x00" * MAX_COMMAND_LENGTH)
@example("'" * MAX_COMMAND_LENGTH)
@example("\\" * MAX_COMMAND_LENGTH)
def test_any_text_is_bounded(text: str) -> None:
    assert_bounded(text)


_NUMBERS = st.integers(min_value=0, max_value=70000).map(str) | st.text("0123456789", min_size=6)
_PORT_RANGES = st.builds(lambda a, b: f"{a}-{b}", _NUMBERS, _NUMBERS)
_PUBLISH = st.one_of(
    st.builds(lambda r: f"-p{r}", _PORT_RANGES),
    st.builds(lambda h, c: f"-p {h}:{c}", _PORT_RANGES, _PORT_RANGES),
    st.builds(
        lambda h, c, proto: f"--publish=127.0.0.1:{h}:{c}/{proto}",
        _PORT_RANGES,
        _PORT_RANGES,
        st.sampled_from(["tcp", "udp", "sctp", "xyz"]),
    ),
    st.builds(lambda c: f"-p [::1]::{c}", _PORT_RANGES),
)
_OTHER = st.one_of(
    st.sampled_from(
        [
            "-d",
            "--rm",
            "-e A=1",
            "-eB=2",
            "-l a=b",
            "-v /a:/b",
            "-dddd",
            "-all",
            "--cap-add NET_ADMIN",
            "--privileged",
            "-w /tmp",
            "--",
            "-",
            "-p",
        ]
    ),
    st.builds(lambda n: f"-m {n}", _NUMBERS),
    st.builds(lambda n: f"--cpus {n}", _NUMBERS),
    st.builds(lambda n: f"--restart on-failure:{n}", _NUMBERS),
    st.builds(lambda w: shlex.quote(w), st.text(min_size=1, max_size=2000)),
    st.builds(lambda w: f"--{w}", st.text("abcdefghijklmnopqrstuvwxyz-", max_size=500)),
)


@st.composite
def hostile_runs(draw: st.DrawFn) -> tuple[str, int]:
    """A ``run`` command of many options, filled up to the length limit; and its -p count."""
    image = draw(st.sampled_from(["busybox", "a" * 600, "registry.example:5000/x/y:1"]))
    pieces = draw(st.lists(st.one_of(_PUBLISH, _PUBLISH, _OTHER), max_size=600))
    budget = MAX_COMMAND_LENGTH - len("run ") - len(image) - 1
    kept: list[str] = []
    for piece in pieces:
        if len(piece) + 1 > budget:
            break
        kept.append(piece)
        budget -= len(piece) + 1
    publish = sum(piece.startswith(("-p", "--publish")) for piece in kept)
    return " ".join(["run", *kept, image]), publish


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(hostile_runs())
def test_hostile_run_commands_are_bounded(case: tuple[str, int]) -> None:
    text, publish_options = case
    assert_bounded(text, publish_options=publish_options)
