"""Finding a setting's line in a TOML file."""

from __future__ import annotations

import tomllib

from hypothesis import given
from hypothesis import strategies as st

from bot.toml_lines import line_of

CONFIG = """\
# a comment
log_level = "INFO"

[roles]
admin = ["U0ADMIN"]   # the first admin
operator = []

[notifications]
channel = "C0OPS"
group_window = "ten minutes"

[engines.prod]
url = "tcp://prod:2376"

[engines."blue-green"]
url = "ssh://deploy@bg"

[[grants]]
who = ["U0A"]
actions = ["restart"]

[[grants]]
who = ["U0B"]
actions = ["rm"]
"""


def test_keys_tables_and_array_items_are_found() -> None:
    tomllib.loads(CONFIG)  # the example is TOML
    assert line_of(CONFIG, ("log_level",)) == 2
    assert line_of(CONFIG, ("roles", "admin")) == 5
    assert line_of(CONFIG, ("roles", "viewer")) == 4  # not written: its table's header
    assert line_of(CONFIG, ("notifications", "group_window")) == 10
    assert line_of(CONFIG, ("engines", "prod", "url")) == 13
    assert line_of(CONFIG, ("engines", "blue-green", "url")) == 16
    assert line_of(CONFIG, ("grants", 0, "actions")) == 20
    assert line_of(CONFIG, ("grants", 1, "actions")) == 24
    assert line_of(CONFIG, ("grants", 1)) == 22


def test_what_the_file_does_not_mention_has_no_line() -> None:
    assert line_of(CONFIG, ("cleanup", "schedule")) is None
    assert line_of(CONFIG, ("port",)) is None
    assert line_of("", ("roles", "admin")) is None


@given(
    st.text(max_size=300), st.lists(st.one_of(st.text(max_size=8), st.integers(0, 3)), max_size=4)
)
def test_any_text_and_path_give_a_line_in_the_file_or_none(
    text: str, path: list[str | int]
) -> None:
    found = line_of(text, path)
    assert found is None or 1 <= found <= max(1, len(text.splitlines()))
