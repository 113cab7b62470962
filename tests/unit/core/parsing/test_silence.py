"""`silence CONTAINER|GLOB DURATION`, `silences`, `unsilence N`: parsed into their operations,
shown so that they parse back the same, and bad input refused with a line that names it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.operations import ListSilences, SilenceContainers, Unsilence
from bot.core.parsing.parser import parse_command
from bot.errors import ParseError


@pytest.mark.parametrize(
    ("text", "operation"),
    [
        ("silence web 1h", SilenceContainers(pattern="web", duration=timedelta(hours=1))),
        ("silence ci-* 24h", SilenceContainers(pattern="ci-*", duration=timedelta(hours=24))),
        ("silence api 2d", SilenceContainers(pattern="api", duration=timedelta(days=2))),
        ("silence api 1h30m", SilenceContainers(pattern="api", duration=timedelta(minutes=90))),
        ("silences", ListSilences()),
        ("unsilence 3", Unsilence(silence_id=3)),
        ("unsilence #3", Unsilence(silence_id=3)),
    ],
)
def test_the_commands_parse(text: str, operation: object) -> None:
    assert parse_command(text).operation == operation


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("silence web", "silence"),  # no duration
        ("silence web 1h more", "silence"),
        ("silence web soon", "not 'soon'"),
        ("silence web 0s", "positive"),
        ("silence web 0.4s", "positive"),  # rounds to nothing
        ("silence 'web; rm' 1h", "no container name"),
        ("silence '<!channel>' 1h", "no container name"),
        ("unsilence", "unsilence"),
        ("unsilence 0", "silence number"),
        ("unsilence x", "silence number"),
        ("silences 3", "silences"),
    ],
)
def test_bad_input_is_refused_naming_it(text: str, named: str) -> None:
    with pytest.raises(ParseError) as refused:
        parse_command(text)
    assert named in str(refused.value) + str(refused.value.usage)


_PATTERNS = st.from_regex(r"[a-zA-Z0-9_.*?\[][a-zA-Z0-9_.*?\[\]!-]{0,30}", fullmatch=True)


@given(pattern=_PATTERNS, seconds=st.integers(min_value=1, max_value=400 * 86400))
def test_what_is_shown_parses_back_to_the_same_silence(pattern: str, seconds: int) -> None:
    operation = SilenceContainers(pattern=pattern, duration=timedelta(seconds=seconds))
    command = parse_command(f"silence '{pattern}' {seconds}s")
    assert command.operation == operation
    assert parse_command(command.shown).operation == operation
