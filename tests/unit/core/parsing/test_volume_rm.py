"""`volume rm`: what it parses to, what it refuses, and that what is shown parses back."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.operations import RemoveVolumes
from bot.core.parsing.parser import parse_command
from bot.errors import ParseError

_NAMES = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{1,40}", fullmatch=True)


@given(st.lists(_NAMES, min_size=1, max_size=5), st.booleans(), st.booleans())
def test_names_parse_in_order_once_each_and_show_back(
    names: list[str], force: bool, long_form: bool
) -> None:
    flag = ["--force" if long_form else "-f"] if force else []
    command = parse_command(shlex.join(["volume", "rm", *flag, *names]))
    assert command.operation == RemoveVolumes(volumes=tuple(dict.fromkeys(names)), force=force)
    assert command.shown.startswith("volume rm")
    assert parse_command(command.shown).operation == command.operation
    assert parse_command(shlex.join(["volume", "remove", *flag, *names])) == command


@given(
    st.text(min_size=1, max_size=20).filter(
        lambda s: not s.startswith("-") and " " not in s.strip() and s.strip() != ""
    )
)
def test_anything_but_a_volume_name_is_refused(name: str) -> None:
    try:
        command = parse_command(shlex.join(["volume", "rm", name]))
    except ParseError as err:
        assert str(err)
        return
    # Accepted only if it is a name the engine could hold.
    assert isinstance(command.operation, RemoveVolumes)
    (volume,) = command.operation.volumes
    assert volume[0].isascii() and volume[0].isalnum() and len(volume) >= 2
    assert all(c.isascii() and (c.isalnum() or c in "_.-") for c in volume)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("volume rm", "VOLUME"),
        ("volume rm x", "Invalid volume name 'x'"),
        ("volume rm ../etc", "Invalid volume name"),
        ("volume rm --prune data", "--prune"),
    ],
)
def test_refusals_say_why(text: str, fragment: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_command(text)
    assert fragment in str(caught.value) + (caught.value.usage or "")
