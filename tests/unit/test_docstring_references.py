"""What the prose names exists: every dotted ``bot.…`` name and every ``bot/``, ``tests/``,
``benchmarks/`` or ``scripts/`` path in a docstring or comment of ``bot`` or in README.md
resolves to a module, an attribute of one, or a file. Modules move; the prose that points at
them has to move along."""

from __future__ import annotations

import ast
import importlib
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

import bot

PACKAGE = Path(bot.__file__).parent
ROOT = PACKAGE.parent
README = ROOT / "README.md"

# Not preceded by a word character, a dot, a slash or a hyphen: ``self.bot.x``, ``chatops-bot.x``
# and ``foo/bot/x`` are not references.
DOTTED = re.compile(r"(?<![\w./-])bot(?:\.[A-Za-z_]\w*)+")
PATH = re.compile(r"(?<![\w./-])(?:bot|tests|benchmarks|scripts)(?:/[\w.-]+)+/?")


def references(text: str) -> list[str]:
    """The dotted ``bot.…`` names and the repository paths ``text`` names."""
    found = [match.group() for match in DOTTED.finditer(text)]
    # A sentence's full stop is not part of the path.
    found += [match.group().rstrip(".") for match in PATH.finditer(text)]
    return found


def prose(path: Path) -> Iterator[tuple[int, str]]:
    """The docstrings and comments of one module, each with its first line."""
    source = path.read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            docstring = ast.get_docstring(node, clean=False)
            if docstring is not None:
                yield node.body[0].lineno, docstring
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string


def is_module(parts: list[str]) -> bool:
    base = ROOT.joinpath(*parts)
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def has_member(owner: object, name: str) -> bool:
    """An attribute, or a field that only a class's annotations hold (a dataclass field or a
    pydantic setting without a default)."""
    if hasattr(owner, name):
        return True
    classes = owner.__mro__ if isinstance(owner, type) else ()
    return any(name in getattr(cls, "__annotations__", {}) for cls in classes)


def resolves(reference: str) -> bool:
    if "/" in reference:
        return (ROOT / reference.rstrip("/")).exists()
    parts = reference.split(".")
    # The longest prefix that is a module; what follows are attributes, looked up on it (the
    # module is imported only then: naming a module alone needs no import).
    for end in range(len(parts), 0, -1):
        if not is_module(parts[:end]):
            continue
        owner: object = importlib.import_module(".".join(parts[:end]))
        for name in parts[end:]:
            if not has_member(owner, name):
                return False
            owner = getattr(owner, name, None)
        return True
    return False


def named_in_prose() -> list[tuple[str, str]]:
    """(where, reference) for every reference in bot's docstrings and comments and README."""
    named = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, text in prose(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            named += [(where, reference) for reference in references(text)]
    named += [("README.md", reference) for reference in references(README.read_text("utf-8"))]
    return named


def test_every_reference_in_docstrings_comments_and_readme_resolves() -> None:
    named = named_in_prose()
    # Enough is found for the check to mean something (the README's Design section alone
    # names dozens of modules).
    assert len(named) > 150
    broken = [f"{where}: {reference}" for where, reference in named if not resolves(reference)]
    assert broken == []


@pytest.mark.parametrize(
    "reference",
    [
        "bot.core",
        "bot.core.results",
        "bot.core.results.ContainerList",
        "bot.config.engine_directory",
        "bot.service.chat.Chat.tell",
        "bot.core.operations.Access.permission",  # a dataclass field without a default
        "bot/slack/render/",
        "bot/slack/render/replies.py",
        "tests/unit/test_import_boundaries.py",
        "scripts/sandbox-engine",
    ],
)
def test_what_exists_resolves(reference: str) -> None:
    assert resolves(reference)


@pytest.mark.parametrize(
    "reference",
    [
        "bot.render.slack_blocks",  # moved to bot/slack/render/replies.py
        "bot.console.Console",  # bot/console.py became a package; no such name in it
        "bot.core.results.NoSuchResult",
        "bot.config.engine_directory.nothing_here",
        "bot.nothing",
        "bot/render/slack_blocks.py",
        "bot/console.py",
        "tests/unit/test_console.py",
    ],
)
def test_what_does_not_exist_is_caught(reference: str) -> None:
    assert not resolves(reference)


def test_references_are_found_in_prose() -> None:
    text = (
        "Rendered by ``bot.slack.render.replies.render`` (bot/slack/render/replies.py).\n"
        "# see bot/core/ and tests/unit/render/test_another_platform.py.\n"
        "Not references: self.bot.x, chatops-bot.example, robot.arm, other/bot/x.py."
    )
    assert references(text) == [
        "bot.slack.render.replies.render",
        "bot/slack/render/replies.py",
        "bot/core/",
        "tests/unit/render/test_another_platform.py",
    ]


def test_a_broken_reference_in_a_docstring_is_reported(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text(
        '"""Built by ``bot.server.build_nothing`` (bot/nowhere.py)."""\n'
        "# Rendered by bot.core.results.ContainerList's renderer.\n",
        encoding="utf-8",
    )
    named = [reference for _, text in prose(module) for reference in references(text)]
    assert named == ["bot.server.build_nothing", "bot/nowhere.py", "bot.core.results.ContainerList"]
    assert [reference for reference in named if not resolves(reference)] == [
        "bot.server.build_nothing",
        "bot/nowhere.py",
    ]
