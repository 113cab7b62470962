"""Block Kit's building blocks and limits, shared by every Slack renderer: escaping (a
container label or log line must never ping ``@channel``), bounding to Slack's limits, inline
code and code blocks, sections and context lines."""

from __future__ import annotations

import re

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER_TEXT = 150
# Slack's table block: at most 100 rows (the header included) of at most 20 cells, and one
# table per message. Slack's data table documents 10,000 characters across its cells; the
# same budget is kept here, so a table is never refused for its size.
MAX_TABLE_ROWS = 100
MAX_TABLE_COLUMNS = 20
MAX_TABLE_CHARACTERS = 10_000
MAX_CELL_TEXT = 500
MAX_FALLBACK_TEXT = 3000
_CODE_BUDGET = MAX_SECTION_TEXT - 10  # room for the fences
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}\Z")
_BACKTICK_PAIR = re.compile(r"`(?=`)")


def escape(text: str) -> str:
    """Escape Slack's control characters; nothing else needs it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escaped_within(text: str, limit: int) -> str:
    """``escape(text)`` cut to at most ``limit`` characters, never inside an entity."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    size, cut = 1, 0  # 1: the ellipsis
    for cut, char in enumerate(text):  # noqa: B007 - the position is the answer
        size += len(escape(char))
        if size > limit:
            break
    return escape(text[:cut]) + "…"


def bounded(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def code(text: str, *, limit: int = 300) -> str:
    """Inline code for one value, escaped and bounded, on one line: a backtick or a line
    break inside would end it early and let the rest render as formatting."""
    flat = " ".join(text.splitlines()) if "\n" in text or "\r" in text else text
    return f"`{escape(bounded(flat, limit)).replace('`', 'ˋ')}`"


def _fence_safe(text: str) -> str:
    """``text`` escaped for inside a code block: no run of backticks can open or end a fence.

    A zero-width space goes between every two adjacent backticks, so no two are adjacent at
    all: replacing only "```" would leave "```" behind from "````".
    """
    return _BACKTICK_PAIR.sub("`\u200b", escape(text))


def code_block(text: str, *, budget: int = _CODE_BUDGET) -> tuple[str, bool]:
    """A fenced block of the *last* lines of ``text`` that fit; True if some were left out."""
    safe = _fence_safe(text.rstrip("\n"))
    if len(safe) + 8 <= budget:
        return f"```\n{safe}\n```", False
    kept: list[str] = []
    size = 0
    for line in reversed(safe.splitlines()):
        # Cut to what fits with the fences and a newline: a longer cut never fit, and a long
        # last line left the block empty.
        line = _cut_escaped(line, budget - 9)
        if size + len(line) + 1 + 8 > budget:
            break
        kept.append(line)
        size += len(line) + 1
    return "```\n" + "\n".join(reversed(kept)) + "\n```", True


def _cut_escaped(text: str, limit: int) -> str:
    """``bounded`` for escaped text: never ends inside an entity such as ``&amp;``."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&", max(0, len(cut) - 4))  # entities are at most five characters long
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def mrkdwn(text: str) -> MarkdownTextObject:
    """Markdown as written: verbatim, so Slack does not turn a plain "@channel" or a channel
    name in user or engine text into a mention or link on its own."""
    return MarkdownTextObject(text=text, verbatim=True)


def section(text: str) -> SectionBlock:
    return SectionBlock(text=mrkdwn(bounded(text, MAX_SECTION_TEXT)))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[mrkdwn(bounded(text, MAX_SECTION_TEXT))])


def mention(user_id: str) -> str:
    """A user mention for a well-formed user ID; anything else, escaped as text."""
    return f"<@{user_id}>" if _USER_ID.match(user_id) else escape(user_id)
