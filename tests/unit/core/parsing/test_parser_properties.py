"""Property tests: whatever text arrives from chat, the parser answers or raises ParseError."""

from __future__ import annotations

import shlex

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.core.command import ParsedCommand
from bot.core.operations import RunContainer
from bot.core.parsing.commands import COMMANDS
from bot.core.parsing.parser import parse_command
from bot.core.parsing.ports import parse_publish
from bot.core.references import parse_image_reference
from bot.errors import ParseError

_SPELLINGS = [spelling for spec in COMMANDS for spelling in (spec.name, *spec.aliases)]
_OPTION_WORDS = sorted(
    {f"--{opt.long}" for spec in COMMANDS for opt in spec.options}
    | {f"-{opt.short}" for spec in COMMANDS for opt in spec.options if opt.short}
)
_WORDS = st.one_of(
    st.sampled_from(_OPTION_WORDS),
    st.sampled_from(["nginx", "web", "8080:80", "/a:/b", "-c", "prod", "--", "=", "-all", "a=b"]),
    st.text(max_size=12),
)


def _parses_or_refuses(text: str) -> None:
    try:
        result = parse_command(text)
    except ParseError as err:
        assert str(err), "a parse error must say something"
        return
    assert isinstance(result, ParsedCommand)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
@example("\x00")
@example("run " + "a" * 5000)
@example("'")
def test_arbitrary_text(text: str) -> None:
    _parses_or_refuses(text)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_SPELLINGS), st.lists(_WORDS, max_size=8))
def test_command_shaped_text(command: str, words: list[str]) -> None:
    _parses_or_refuses(" ".join([command, *(shlex.quote(word) for word in words)]))


@given(st.text(max_size=60))
def test_image_references(text: str) -> None:
    try:
        reference = parse_image_reference(text)
    except ParseError:
        return
    # A parsed reference round-trips through its canonical form.
    assert parse_image_reference(reference.canonical()) == reference


@given(st.text(alphabet="0123456789:-/.[]abcdefptu", max_size=30))
def test_port_specs(text: str) -> None:
    try:
        mapping = parse_publish(text)
    except ParseError:
        return
    assert 1 <= mapping.container_port <= (mapping.container_port_end or 65535) <= 65535


_RUN_OPTIONS = ["-d", "--rm", "-e A=1", "--env=B=2", "--name web", "-p 80", "-v /a:/b", "-dit"]


@given(st.lists(st.sampled_from(_RUN_OPTIONS), max_size=5))
def test_run_options_after_image_match_options_before(options: list[str]) -> None:
    """Options moved after the image mean what they mean before it (when they parse)."""
    tail = " ".join(options)
    try:
        before = parse_command(f"run {tail} busybox")
    except ParseError:
        return
    after = parse_command(f"run busybox {tail}")
    assert isinstance(before.operation, RunContainer)
    assert after.operation == before.operation
