"""``parse_command``: command text -> ``ParsedCommand`` (or a precise ``ParseError``)."""

from __future__ import annotations

import difflib

from bot.core.command import ParsedCommand
from bot.core.operations import Help
from bot.core.parsing.commands import COMMANDS, CommandSpec, command_index
from bot.core.parsing.display import shown_command
from bot.core.parsing.options import OptionTable, ParsedOptions
from bot.core.parsing.tokens import tokenize
from bot.errors import ParseError

USAGE = "/docker [-c ENGINE] COMMAND [OPTIONS] [ARGS]   (try `/docker help`)"
_GROUPS = ("container", "image", "system", "volume", "network", "service")
_READ_ONLY_GROUPS = ("system", "volume", "network", "service")
_INDEX = command_index()
# Docker commands people will try that cannot work through chat, with the reason.
_UNSUPPORTED = {
    "exec": "it needs an interactive terminal",
    "attach": "it needs an interactive terminal",
    "build": "it needs a build context on your machine",
    "login": "registry credentials belong in the bot's configuration, not in chat",
    "logout": "registry credentials belong in the bot's configuration, not in chat",
    "cp": "files cannot be copied through chat",
    "export": "files cannot be copied through chat",
    "save": "files cannot be copied through chat",
    "load": "files cannot be copied through chat",
    "import": "files cannot be copied through chat",
    "compose": "compose files live on your machine",
    "push": "it is not supported yet",
    "tag": "it is not supported yet",
    "kill": "it is not supported yet; use `stop`",
    "create": "it is not supported yet; use `run -d`",
}


def parse_command(text: str) -> ParsedCommand:
    """Parse one ``/docker`` command line into a typed operation."""
    words = tokenize(text)
    if words and words[0] in ("docker", "/docker"):
        words = words[1:]  # people paste whole Docker command lines
    return _parse_words(words)


def _parse_words(words: list[str], *, nested: bool = False) -> ParsedCommand:
    engine, words = _take_engine(words)
    if not words:
        return ParsedCommand(operation=Help(), engine=engine)
    if words[0] in ("help", "--help", "-h"):
        return ParsedCommand(operation=Help(topic=_help_topic(words[1:])), engine=engine)
    spelling, spec, rest = _find_command(words)
    table = spec.table(spelling)
    moved = False
    if spec.nests:
        parsed = table.parse(rest, interspersed=False)
    elif spec.interspersed:
        parsed = table.parse(rest)
    else:
        parsed, moved = _parse_run_like(table, rest)
    if parsed.flag("help"):
        return ParsedCommand(operation=Help(topic=spec.name), engine=engine)
    _check_arity(spec, table, parsed)
    warnings = list(parsed.warnings)
    if spec.nests:
        if nested:
            raise table.error(f"`{spelling}` cannot ask about another `{spelling}`.")
        inner = _parse_words(parsed.positionals[1:], nested=True)
        if isinstance(inner.operation, Help):
            raise table.error(f"`{spelling}` needs a command to ask about, not help.")
        if engine is not None and inner.engine is not None and engine != inner.engine:
            raise table.error(f"Two engines named: `-c {engine}` and `-c {inner.engine}`.")
        engine = engine or inner.engine
        parsed.nested = inner.operation
        warnings += inner.warnings
    operation = spec.build(parsed, table)
    if moved:
        # Docker's spelling is rendered from the operation: the words as typed may hold a
        # secret (`-e KEY=value` after the image) and must not be echoed.
        warnings.append(
            "Options came after the image, where Docker would pass them to the container's "
            "command. The bot read them as options of `run`; Docker's spelling is "
            f"`{shown_command(operation)}`."
        )
    return ParsedCommand(operation=operation, engine=engine, warnings=tuple(warnings))


def _take_engine(words: list[str]) -> tuple[str | None, list[str]]:
    engine: str | None = None
    index = 0
    while (
        index < len(words)
        and words[index].startswith("-")
        and words[index]
        not in (
            "--help",
            "-h",
        )
    ):
        word = words[index]
        index += 1
        if word in ("-c", "--context"):
            if index >= len(words):
                raise ParseError(f"`{word}` needs an engine name.", usage=USAGE)
            engine = words[index]
            index += 1
        elif word.startswith("--context="):
            engine = word.partition("=")[2]
        elif word.startswith("-c") and not word.startswith("--"):
            engine = word[2:].removeprefix("=")
        else:
            raise ParseError(
                f"Unknown option `{word.partition('=')[0]}` before the command: the only one is "
                "`-c ENGINE` / `--context ENGINE`.",
                usage=USAGE,
            )
        if not engine:
            raise ParseError("The engine name is empty.", usage=USAGE)
    return engine, words[index:]


def _find_command(words: list[str]) -> tuple[str, CommandSpec, list[str]]:
    first = words[0]
    if first in _GROUPS:
        if len(words) < 2 or words[1].startswith("-"):
            subcommands = sorted(s.split(" ", 1)[1] for s in _INDEX if s.startswith(first + " "))
            raise ParseError(
                f"`{first}` needs a subcommand: {', '.join(subcommands)}.", usage=USAGE
            )
        spelling = f"{first} {words[1]}"
        spec = _INDEX.get(spelling)
        if spec is None and first in _READ_ONLY_GROUPS:
            # `volume rm`, `system prune`...: only the read-only subcommands are offered.
            offered = sorted(s.split(" ", 1)[1] for s in _INDEX if s.startswith(first + " "))
            raise ParseError(
                f"`{first} {words[1][:30]}` is not available through the bot; "
                f"`{first}` offers: {', '.join(offered)}.",
                usage=USAGE,
            )
        if spec is None:
            raise ParseError(f"Unknown command `{spelling}`.{_suggest(spelling)}", usage=USAGE)
        return spelling, spec, words[2:]
    spec = _INDEX.get(first)
    if spec is not None:
        return first, spec, words[1:]
    reason = _UNSUPPORTED.get(first)
    if reason:
        raise ParseError(f"`{first}` is not available through the bot: {reason}.", usage=USAGE)
    raise ParseError(f"Unknown command `{first}`.{_suggest(first)}", usage=USAGE)


def _suggest(word: str) -> str:
    close = difflib.get_close_matches(word, list(_INDEX), n=1, cutoff=0.6)
    return f" Did you mean `{close[0]}`?" if close else ""


def _help_topic(words: list[str]) -> str | None:
    if not words:
        return None
    topic = " ".join(words[:2]) if words[0] in _GROUPS and len(words) > 1 else words[0]
    if topic in _GROUPS and topic not in _INDEX:
        return topic  # `help service`: the group's commands
    spec = _INDEX.get(topic)
    if spec is None:
        raise ParseError(f"No help for `{topic}`: unknown command.{_suggest(topic)}", usage=USAGE)
    return spec.name


def _check_arity(spec: CommandSpec, table: OptionTable, parsed: ParsedOptions) -> None:
    count = len(parsed.positionals)
    if count < spec.min_args:
        missing = next(word for word in spec.usage.split() if word != "[OPTIONS]")
        raise table.error(f"`{table.command}` needs {_plural(spec.min_args)} ({missing}).")
    if spec.max_args is not None and count > spec.max_args:
        extra = " ".join(parsed.positionals[spec.max_args :])
        limit = "no arguments" if spec.max_args == 0 else f"at most {_plural(spec.max_args)}"
        raise table.error(f"`{table.command}` takes {limit}; unexpected: {extra}")


def _plural(count: int) -> str:
    return "one argument" if count == 1 else f"{count} arguments"


def _parse_run_like(table: OptionTable, words: list[str]) -> tuple[ParsedOptions, bool]:
    """Parse ``run``'s words: options, the image, then the container's command.

    Docker hands everything after the image to the container, so the tutorial spelling
    ``run centos:latest --name mylinux /bin/bash`` would run ``--name`` as a program.
    People who write that mean the option; options directly after the image are read as
    options (True: some were), and the caller warns with Docker's spelling.
    """
    parsed = table.parse(words, interspersed=False)
    if not parsed.positionals or parsed.flag("help"):
        return parsed, False
    image, after = parsed.positionals[0], parsed.positionals[1:]
    moved: list[str] = []
    index = 0
    # Options typed after the image are read as options (see _is_misplaced_option). A `--`
    # right after the image (or the moved options) ends them.
    while index < len(after) and _is_misplaced_option(table, after, index):
        start = index
        index = table.parse_option(after[index], after, index + 1, parsed)
        moved.extend(after[start:index])
    if index < len(after) and after[index] == "--":
        index += 1
    parsed.positionals = [image, *after[index:]]
    return parsed, bool(moved)


def _is_misplaced_option(table: OptionTable, words: list[str], index: int) -> bool:
    """Is ``words[index]``, after the image, an option of ``run`` rather than the container's?

    Long options, single letters and bundles of plain flags (``-dit``) are. A bundle that ends
    in a letter taking a value is one when that value has the KEY=VALUE shape of ``-e`` and
    ``-l`` (``-deKEY=v``, ``-de KEY=v``): a secret must never become the container's program
    and be echoed as such. ``-la`` stays the container's.
    """
    word = words[index]
    if not table.is_option_word(word):
        return False
    if word.startswith("--") or len(word) == 2:
        return True
    if word.partition("=")[0][1:] in {opt.long for opt in table.options}:
        return True
    shorts = {opt.short: opt for opt in table.options if opt.short}
    for position in range(1, len(word)):
        if shorts[word[position]].takes_value:
            rest = word[position + 1 :].removeprefix("=")
            value = rest or (words[index + 1] if index + 1 < len(words) else "")
            return "=" in value
    return True


def command_names() -> list[str]:
    """Every command spelling, for help and suggestions."""
    return [spec.name for spec in COMMANDS]
