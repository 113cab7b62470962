"""Every operation is whole, and nothing exists without its operation (issue 18, item 1).

Each operation class of the unions in ``bot.core.operations`` has a parser entry (a
``CommandSpec`` whose builder returns it), a help entry, a policy action (its declared access),
a README row in the commands table, and is final (so ``case Planned()`` narrows exactly: see
``bot.core.operations.Planned``). The reverse: every spec builds an operation of the unions,
and every README row names a command the parser has. Rendering is mypy's to check (every
``match`` over results ends in ``assert_never``); here each result type is matched by both
renderers. The checks are helpers over plain lists, so the controls can run them on doctored
lists and see them fail.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable
from pathlib import Path

from bot.core import operations, results
from bot.core.help import build_help
from bot.core.operations import Help, Permission, declared_accesses
from bot.core.parsing.commands import COMMANDS, CommandSpec
from bot.core.parsing.parser import parse_command

REPO = Path(__file__).resolve().parents[3]
README = (REPO / "README.md").read_text(encoding="utf-8")
RENDERERS = (REPO / "bot/console/text.py", REPO / "bot/slack/render/replies.py")
# The parser answers `help` itself: it is the one operation without a spec.
PARSER_BUILT_IN = {Help: "help"}


def built_types(spec: CommandSpec) -> set[type]:
    """The operation classes ``spec``'s builder returns, from its annotation."""
    returned = typing.get_type_hints(spec.build)["return"]
    return set(typing.get_args(returned)) or {returned}


def readme_spellings(readme: str) -> list[str]:
    """The command spellings the first column of README's commands table names, in order."""
    section = readme.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    found = []
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = re.split(r"(?<!\\)\|", line)[1]
        for span in re.findall(r"`([^`]+)`", first_cell):
            words = span.split()
            if not words[0][0].islower():
                continue  # an argument (`CONTAINER...`), not a command
            grouped = words[0] in _GROUPS and len(words) > 1  # `volume rm`, `container ls`
            found.append(" ".join(words[:2]) if grouped else words[0])
    return found


# The first words of two-word spellings: `volume` in `volume rm`.
_GROUPS = {s.split()[0] for spec in COMMANDS for s in (spec.name, *spec.aliases) if " " in s}


def problems(
    *,
    operation_types: Iterable[type],
    specs: Iterable[CommandSpec],
    readme: str,
    help_names: Iterable[str],
) -> list[str]:
    """What is missing on either side; empty when every operation is whole."""
    operation_types, specs = list(operation_types), list(specs)
    spellings = {s: spec for spec in specs for s in (spec.name, *spec.aliases)}
    named = readme_spellings(readme)
    in_readme = {spellings[s].name if s in spellings else s for s in named}
    help_names = set(help_names)
    found: list[str] = []
    for kind in operation_types:
        name = kind.__name__
        builders = [spec for spec in specs if kind in built_types(spec)]
        if kind in PARSER_BUILT_IN:
            commands = [PARSER_BUILT_IN[kind]]
        else:
            commands = [spec.name for spec in builders]
            if not builders:
                found.append(f"{name}: no CommandSpec builds it (bot/core/parsing/commands.py)")
            found += [f"{name}: `{c}` has no help entry" for c in commands if c not in help_names]
        found += [
            f"{name}: `{c}` has no row in README's commands table"
            for c in commands
            if c not in in_readme
        ]
        try:
            accesses = declared_accesses(kind)
        except TypeError as err:
            found.append(f"{name}: {err}")
            accesses = ()
        for access in accesses:
            if operations.ACTIONS.get(access.action) != access:
                found.append(f"{name}: action {access.action!r} is not among the policy's actions")
            if access.permission is Permission.DESTRUCTIVE and (
                access.action not in operations.DESTRUCTIVE_ACTIONS
            ):
                found.append(f"{name}: destructive {access.action!r} is not approval-gated")
        if not getattr(kind, "__final__", False):
            found.append(f"{name}: not @final (case Planned() would not narrow exactly)")
    # The reverse: nothing without its operation.
    for spec in specs:
        orphans = built_types(spec) - set(operation_types)
        found += [f"`{spec.name}` builds {o.__name__}, in no operations union" for o in orphans]
    built_in = set(PARSER_BUILT_IN.values())
    for spelling in named:
        if spelling not in spellings and spelling not in built_in:
            found.append(f"README's commands table names `{spelling}`, which nothing parses")
    for entry in help_names - {spec.name for spec in specs}:
        found.append(f"help lists `{entry}`, which has no CommandSpec")
    return found


def real_problems(**doctored: typing.Any) -> list[str]:
    inputs: dict[str, typing.Any] = {
        "operation_types": operations.OPERATION_TYPES,
        "specs": COMMANDS,
        "readme": README,
        "help_names": [entry.name for entry in build_help(None).entries],
    }
    return problems(**(inputs | doctored))


def test_every_operation_is_whole_and_nothing_is_without_one() -> None:
    assert real_problems() == []


def test_the_readme_names_what_the_parser_has() -> None:
    named = readme_spellings(README)
    assert {"ps", "volume rm", "volume ls", "network ls", "container prune", "help"} <= set(named)
    for spelling in named:
        if spelling != "help":
            assert parse_command(f"help {spelling}").operation == Help(
                topic=next(s.name for s in COMMANDS if spelling in (s.name, *s.aliases))
            )


def test_every_result_type_is_matched_by_both_renderers() -> None:
    for path in RENDERERS:
        source = path.read_text(encoding="utf-8")
        missing = [
            kind.__name__
            for kind in typing.get_args(results.Result)
            if f"case results.{kind.__name__}(" not in source
        ]
        assert missing == [], f"{path.name} renders no {missing}"


def test_controls_a_missing_row_spec_help_or_operation_is_named() -> None:
    """Positive controls: each check fails on a list doctored to miss one piece."""
    row = next(line for line in README.splitlines() if line.startswith("| `volume rm "))
    assert real_problems(readme=README.replace(row + "\n", "")) == [
        "RemoveVolumes: `volume rm` has no row in README's commands table"
    ]
    specs = [spec for spec in COMMANDS if spec.name != "volume rm"]
    assert "RemoveVolumes: no CommandSpec builds it (bot/core/parsing/commands.py)" in (
        real_problems(specs=specs)
    )
    help_names = [e.name for e in build_help(None).entries if e.name != "volume rm"]
    assert real_problems(help_names=help_names) == ["RemoveVolumes: `volume rm` has no help entry"]
    kinds = [k for k in operations.OPERATION_TYPES if k is not operations.RemoveVolumes]
    assert real_problems(operation_types=kinds) == [
        "`volume rm` builds RemoveVolumes, in no operations union"
    ]
    extra = README.replace(row, row + "\n| `volume prune` | | |")
    assert real_problems(readme=extra) == [
        "README's commands table names `volume prune`, which nothing parses"
    ]
    assert real_problems(help_names=[*help_names, "volume rm", "volume prune"]) == [
        "help lists `volume prune`, which has no CommandSpec"
    ]


def test_control_an_operation_without_spec_access_or_final_is_named() -> None:
    class Unfinished:  # what a new operation looks like before it is whole
        pass

    found = real_problems(operation_types=[*operations.OPERATION_TYPES, Unfinished])
    assert [line.split(":")[0] for line in found] == ["Unfinished"] * 3
    assert "no CommandSpec builds it" in found[0]
    assert "declares no access" in found[1] and "not @final" in found[2]
