"""Command text fit to repeat: environment values replaced, so that echoing a command in a
channel, an acknowledgement or a log never shows a secret typed with ``-e``."""

from __future__ import annotations

import shlex

from bot.core.parsing.tokens import tokenize
from bot.errors import ParseError

REDACTED = "<redacted>"
_ENV_OPTIONS = ("-e", "--env")


def redact_command_text(text: str) -> str:
    """``run -e TOKEN=abc img`` -> ``run -e TOKEN=<redacted> img`` (every spelling of -e)."""
    try:
        words = tokenize(text)
    except ParseError:
        # Unsplittable text never ran; show no more of it than its first word.
        first = text.split(maxsplit=1)[0] if text.split() else ""
        return f"{first} …" if first else ""
    out: list[str] = []
    value_next = False
    for word in words:
        if value_next:
            out.append(_redact_pair(word))
            value_next = False
        elif word in _ENV_OPTIONS:
            out.append(word)
            value_next = True
        elif word.startswith("--env="):
            out.append("--env=" + _redact_pair(word[len("--env=") :]))
        elif word.startswith("-e") and not word.startswith("--") and len(word) > 2:
            out.append("-e" + _redact_pair(word[2:].removeprefix("=")))
        else:
            out.append(word)
    return shlex.join(out)


def _redact_pair(item: str) -> str:
    key, eq, _ = item.partition("=")
    return f"{key}={REDACTED}" if eq else key
