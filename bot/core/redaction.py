"""One redaction for everything the engine echoes and the bot logs.

Two kinds of secrets become ``<redacted>``: known values (a container's environment, the bot's
own tokens) and recognisable shapes (Slack tokens and webhook/response URLs, GitHub and AWS
keys, private key blocks, a URL's password, bearer tokens, ``password=…``-style assignments).
Pure: no I/O. Every pattern is linear in its input (no nested quantifiers; an unbounded run
that may fail is anchored at the run's start), so hostile text costs time in proportion to
its length. Text is redacted whole before it is cut (``redacted_tail``), so no tail of a
secret survives a cut.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

REDACTED = "<redacted>"
# Environment values this short, or of these variables, are too common to redact: they would
# blank ordinary words and paths.
MIN_SECRET = 6
PLAIN_VARIABLES = frozenset({"PATH", "HOME", "HOSTNAME", "TERM", "LANG", "PWD", "SHLVL"})
# More than any secret's length: a cut text's first characters (where the rest of a secret
# cut in two lies) that are redacted with the rest but never shown.
TAIL_MARGIN = 8_192
# Rounds of the shape rules: one rule's replacement may complete another's match.
_ROUNDS = 4


def secret_values(env: Iterable[object]) -> tuple[str, ...]:
    """The values of ``KEY=VALUE`` items that could be secrets, longest first."""
    values = set()
    for item in env:
        key, eq, value = str(item).partition("=")
        if eq and key not in PLAIN_VARIABLES and len(value) >= MIN_SECRET:
            values.add(value)
    return tuple(sorted(values, key=lambda v: (-len(v), v)))


def redact(text: str, values: Sequence[str] = ()) -> str:
    """``text`` with each of ``values`` and every recognisable secret replaced by
    ``<redacted>``. Idempotent; it only ever replaces spans of ``text`` by the marker."""
    if values:
        text = _redact_values(text, values)
    for _ in range(_ROUNDS):
        done = text
        for pattern, replacement in _RULES:
            text = pattern.sub(replacement, text)
        if text == done:
            break
    return text


def redacted_tail(
    text: str | bytes, limit: int, values: Sequence[str] = (), *, cut: bool = False
) -> str:
    """The last ``limit`` characters of ``text`` once redacted, with nothing of a secret that
    a cut split. A long text is cut with a margin longer than any secret, redacted, and cut
    again to ``limit`` (without splitting a marker): what is left of a secret cut by the first
    cut lies in the margin, which the second cut drops. Should redaction shrink the window
    below ``limit`` plus the margin, a larger one is taken. ``cut``: ``text`` itself was cut
    at its start (a bounded buffer), so its first line, which may end a secret, is dropped
    (a line longer than the margin: up to the first space after the margin). Bytes are
    decoded as UTF-8."""
    margin = max([TAIL_MARGIN, *(len(v) for v in values)])
    if cut:
        text = text[_first_line_end(text, margin) :]
    size = limit + margin
    while True:
        whole = len(text) <= size
        window = text if whole else text[-size:]
        if isinstance(window, bytes):
            window = window.decode("utf-8", "replace")
        clean = redact(window, values)
        if whole or len(clean) >= limit + margin:
            break
        size *= 2
    if len(clean) <= limit:
        return clean
    start = len(clean) - limit
    marker = clean.find(REDACTED, max(0, start - len(REDACTED) + 1))
    if 0 <= marker < start:  # the cut would split a marker: the whole of it goes
        start = marker + len(REDACTED)
    return clean[start:]


def _first_line_end(text: str | bytes, margin: int) -> int:
    """Where the rest of a first line that may end a cut-off secret ends."""
    if isinstance(text, bytes):
        found = text.find(b"\n", 0, margin)
        space = _SPACE_BYTES.search(text, margin, 2 * margin) if found < 0 else None
        after = space.start() if space is not None else 2 * margin - 1
    else:
        found = text.find("\n", 0, margin)
        found_space = _SPACE.search(text, margin, 2 * margin) if found < 0 else None
        after = found_space.start() if found_space is not None else 2 * margin - 1
    return (found if found >= 0 else after) + 1


_SPACE = re.compile(r"\s")
_SPACE_BYTES = re.compile(rb"\s")


def _redact_values(text: str, values: Sequence[str]) -> str:
    """Known values out, one marker for each run of them. Markers already in the text are
    kept whole: values are looked for between them only, so a second pass changes nothing."""
    usable = [v for v in values if v]
    parts = text.split(REDACTED)
    return REDACTED.join(_without_values(part, usable) for part in parts)


def _without_values(text: str, values: Sequence[str]) -> str:
    spans: list[tuple[int, int]] = []
    for value in values:
        start = text.find(value)
        while start >= 0:
            spans.append((start, start + len(value)))
            start = text.find(value, start + len(value))
    if not spans:
        return text
    spans.sort()
    pieces: list[str] = []
    kept = 0  # text[:kept] is written out
    for start, end in spans:
        if start > kept or not pieces:
            pieces.append(text[kept:start])
            pieces.append(REDACTED)
        kept = max(kept, end)
    pieces.append(text[kept:])
    return "".join(pieces)


# -- shapes ----------------------------------------------------------------------------------

_NOT_MARKER = "(?!" + re.escape(REDACTED) + ")"
_SLASH = r"(?:\\?/)"  # a slash, or JSON's escaped one
_PEM_BEGIN = r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
_PEM_END = r"-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
_SECRET_NAME = (
    r"(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key"
    r"|private[_-]?key|credential)[A-Za-z0-9_.-]{0,40}"
)


def _keep(*groups: int) -> Callable[[re.Match[str]], str]:
    """A replacement that keeps ``groups`` of the match (what names the secret) and redacts
    the rest."""

    def replace(match: re.Match[str]) -> str:
        return "".join(match.group(g) or "" for g in groups) + REDACTED

    return replace


_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # A private key block, whole; cut at its end, all that follows its start.
    (re.compile(rf"{_PEM_BEGIN}.*?(?:{_PEM_END}|\Z)", re.DOTALL | re.IGNORECASE), REDACTED),
    # The end of a block whose start was cut off: everything up to the last one.
    (re.compile(rf"\A.*{_PEM_END}", re.DOTALL | re.IGNORECASE), REDACTED),
    # Slack webhook and response URLs (/services/, /commands/, /actions/, /workflows/…).
    (
        re.compile(
            rf"((?:https?:{_SLASH}{{2}})?hooks\.slack(?:-gov)?\.com(?::\d{{1,5}})?{_SLASH})"
            r"(?:[^\s\"'<>\\]|\\/)+",
            re.IGNORECASE,
        ),
        _keep(1),
    ),
    # A URL's password: the user stays.
    (
        re.compile(
            rf"\b([a-z][a-z0-9+.-]{{0,30}}:{_SLASH}{{2}}[^\s/?#@:\"'<>\\]{{0,256}}:)"
            r"(?!<redacted>@)[^\s/?#\"'\\]{1,256}@",
            re.IGNORECASE,
        ),
        lambda m: m.group(1) + REDACTED + "@",
    ),
    # Authorization headers, with or without their scheme.
    (
        re.compile(
            r"\b((?:proxy-)?authorization[\"']?\s{0,4}[:=]\s{0,4}[\"']?)"
            r"((?:bearer|basic|token|digest|negotiate|bot)\s{1,4})?"
            rf"{_NOT_MARKER}(?!(?:bearer|basic|token|digest|negotiate|bot)\b)"
            r"[^\s\"'<>,;]+",
            re.IGNORECASE,
        ),
        _keep(1, 2),
    ),
    (re.compile(r"\b(bearer\s{1,4})[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE), _keep(1)),
    # Slack bot, user, app, refresh and configuration tokens.
    (re.compile(r"xox(?:[abposre]|e\.xox[a-z])-[A-Za-z0-9-]{3,}", re.IGNORECASE), REDACTED),
    (re.compile(r"xapp-[A-Za-z0-9-]{3,}", re.IGNORECASE), REDACTED),
    # GitHub tokens.
    (re.compile(r"(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), REDACTED),
    # AWS access key IDs.
    (
        re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
        REDACTED,
    ),
    # JSON Web Tokens (registry and service-account tokens).
    (
        re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
        REDACTED,
    ),
    # Secret-named assignments: NAME=value, "name": "value", --name value.
    (
        re.compile(
            rf"({_SECRET_NAME}\s{{0,4}}=\s{{0,4}}[\"']?){_NOT_MARKER}[^\s\"',;&]+",
            re.IGNORECASE,
        ),
        _keep(1),
    ),
    (
        re.compile(
            rf"({_SECRET_NAME}[\"']\s{{0,4}}:\s{{0,4}}[\"']){_NOT_MARKER}(?:[^\"'\\]|\\.)+",
            re.IGNORECASE,
        ),
        _keep(1),
    ),
    (
        re.compile(
            rf"(--{_SECRET_NAME}\s{{1,4}}[\"']?){_NOT_MARKER}[^\s\"'-][^\s\"']*",
            re.IGNORECASE,
        ),
        _keep(1),
    ),
)
