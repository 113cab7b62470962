"""`can USER COMMAND...`: the person as an ID or a mention, the command parsed whole, and what
cannot be asked."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.operations import ChangeContainers, CheckAccess, ContainerAction, RunContainer
from bot.core.parsing.parser import parse_command
from bot.errors import ParseError


@pytest.mark.parametrize(
    ("text", "user", "engine"),
    [
        ("can U0123ABC restart web", "U0123ABC", None),
        ("can <@U0123ABC> restart web", "U0123ABC", None),
        ("can <@U0123ABC|dana> restart web", "U0123ABC", None),
        ("-c prod can U0123ABC restart web", "U0123ABC", "prod"),
        ("can U0123ABC -c prod restart web", "U0123ABC", "prod"),
        ("-c prod can U0123ABC -c prod restart web", "U0123ABC", "prod"),
    ],
)
def test_forms(text: str, user: str, engine: str | None) -> None:
    parsed = parse_command(text)
    assert parsed.operation == CheckAccess(
        user_id=user,
        asked=ChangeContainers(action=ContainerAction.RESTART, containers=("web",)),
    )
    assert parsed.engine == engine


def test_the_command_asked_about_keeps_its_options_and_shows_redacted() -> None:
    parsed = parse_command("can U0DEV run -d -e PASSWORD=hunter2 --name xy busybox")
    assert isinstance(parsed.operation, CheckAccess)
    assert isinstance(parsed.operation.asked, RunContainer)
    assert parsed.operation.asked.detach and parsed.operation.asked.name == "xy"
    assert parsed.shown == "can U0DEV run -d --name xy -e 'PASSWORD=<redacted>' busybox:latest"
    assert "hunter2" not in parsed.shown
    # What is shown parses back to the same operation.
    assert parse_command(parsed.shown).operation.asked.name == "xy"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("can dana restart web", "'dana' is not a user ID"),
        ("can <@dana> restart web", "is not a user ID"),
        ("can U0DEV", "`can` needs 2 arguments"),
        ("can U0DEV can U0OPS ps", "`can` cannot ask about another `can`"),
        ("can U0DEV help", "needs a command to ask about"),
        ("can U0DEV frobnicate", "Unknown command `frobnicate`"),
        ("-c a can U0DEV -c b ps", "Two engines named"),
    ],
)
def test_refusals(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_command(text)


def test_help() -> None:
    assert parse_command("can --help").operation == parse_command("help can").operation


@given(rest=st.text(max_size=200))
def test_any_text_after_can_parses_or_is_refused(rest: str) -> None:
    try:
        parsed = parse_command(f"can U0DEV {rest}")
    except ParseError:
        return
    assert isinstance(parsed.operation, CheckAccess)
