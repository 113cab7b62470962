"""Help as data, generated from the command table (the one source of usage and options)."""

from __future__ import annotations

from bot.core.parsing.commands import COMMANDS, command_index
from bot.core.parsing.parser import USAGE
from bot.core.results import HelpEntry, HelpResult

_GLOBAL_EXAMPLES = (
    "ps -a",
    "pull nginx:1.27",
    "run -d --name web -p 127.0.0.1:8080:80 nginx",
    "logs --tail 20 web",
    "-c prod ps",
    "help run",
)


def build_help(topic: str | None) -> HelpResult:
    """The overview (``topic=None``) or one command's usage, options and examples."""
    if topic is None:
        return HelpResult(
            title="Docker from chat",
            usage=USAGE,
            summary="Docker CLI syntax; `-c ENGINE` picks a configured engine.",
            entries_title="Commands",
            entries=tuple(HelpEntry(name=spec.name, summary=spec.summary) for spec in COMMANDS),
            examples=tuple(f"/docker {example}" for example in _GLOBAL_EXAMPLES),
        )
    index = command_index()
    if topic not in index:  # a group: `help service` lists `service ls`, `service ps`, ...
        group = tuple(spec for spec in COMMANDS if spec.name.startswith(f"{topic} "))
        return HelpResult(
            title=topic,
            usage=f"/docker {topic} COMMAND [OPTIONS] [ARGS]",
            summary=f"`help {topic} COMMAND` for one of them.",
            entries_title="Commands",
            entries=tuple(HelpEntry(name=spec.name, summary=spec.summary) for spec in group),
            examples=tuple(
                f"/docker {example}" for spec in group[:3] for example in spec.examples[:1]
            ),
        )
    spec = index[topic]
    entries = tuple(
        HelpEntry(name=option.spelling(), summary=option.help)
        for option in spec.options
        if not option.rejected
    )
    return HelpResult(
        title=spec.name,
        usage=spec.usage_line(),
        summary=spec.summary + (f" (also: {', '.join(spec.aliases)})" if spec.aliases else ""),
        entries=entries,
        examples=tuple(f"/docker {example}" for example in spec.examples),
    )
