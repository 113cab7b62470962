"""Splitting command text into words the way a POSIX shell would, without running one."""

from __future__ import annotations

import shlex

from bot.errors import ParseError

# Chat clients "smarten" what people type: curly quotes and dashes would otherwise become part
# of a word ("“FOO=bar”", "—all"). Straighten them before splitting.
_SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
_DASHES = ("\u2014", "\u2013")  # em dash, en dash typed for "--"

MAX_COMMAND_LENGTH = 4000


def tokenize(text: str) -> list[str]:
    """Split ``text`` into words with shell quoting rules; raise ParseError on bad quoting."""
    if len(text) > MAX_COMMAND_LENGTH:
        raise ParseError(f"The command is too long (more than {MAX_COMMAND_LENGTH} characters).")
    if "\x00" in text:
        raise ParseError("The command contains a NUL character.")
    text = text.translate(_SMART_QUOTES)
    try:
        words = shlex.split(text, comments=False, posix=True)
    except ValueError as err:
        # shlex says "No closing quotation" / "No escaped character".
        detail = str(err).lower()
        raise ParseError(f"Could not split the command into words: {detail}.") from None
    return [_undash(word) for word in words]


def _undash(word: str) -> str:
    for dash in _DASHES:
        if word.startswith(dash):
            return "--" + word[len(dash) :]
    return word
