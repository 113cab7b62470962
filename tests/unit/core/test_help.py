"""Help generated from the command table: a group's commands, one command's options."""

from __future__ import annotations

import pytest

from bot.core.help import build_help
from bot.core.operations import Help
from bot.core.parsing.commands import COMMANDS
from bot.core.parsing.parser import parse_command


@pytest.mark.parametrize("group", ["container", "image", "system", "volume", "network", "service"])
def test_help_for_a_group_lists_each_of_its_commands(group: str) -> None:
    """`help service` lists `service ls`, `service update`, ...: every command of the group."""
    reply = parse_command(f"help {group}")
    assert isinstance(reply.operation, Help) and reply.operation.topic == group
    result = build_help(group)
    listed = {entry.name for entry in result.entries}
    assert listed == {spec.name for spec in COMMANDS if spec.name.startswith(f"{group} ")}
    assert listed and result.entries_title == "Commands"
    # Control: one command of the group still gets its own options.
    first = sorted(listed)[0]
    assert build_help(first).title == first
