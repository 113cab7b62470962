"""Where a setting is written in a TOML file: the line of a key path such as
``("notifications", "group_window")`` or ``("grants", 1, "actions")``.

``tomllib`` gives values, not positions; a configuration problem is best told with its line.
The file is read line by line for table headers (``[a.b]``, ``[[a]]``) and ``key =`` lines,
which is how the bot's configuration is written (chatops.example.toml); a key written some
other way (an inline table, a dotted key) is found at its table's header, or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")


def line_of(text: str, path: Sequence[str | int]) -> int | None:
    """The 1-based line that sets ``path`` (or, failing that, the header of the deepest table
    on it); None when the file does not mention it."""
    best: tuple[int, int] | None = None  # (how much of the path matched, line)
    table: list[str | int] = []
    arrays: dict[tuple[str | int, ...], int] = {}  # [[a]] path -> index of the current item
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            names = [_unquoted(part) for part in _split_dotted(header.group(2))]
            if header.group(1) == "[[":
                key = tuple(names)
                arrays[key] = arrays.get(key, -1) + 1
                table = [*names, arrays[key]]
            else:
                table = _with_array_indexes(names, arrays)
            matched = _common(table, path)
            if matched == len(table) and (best is None or matched > best[0]):
                best = (matched, number)
            continue
        found = _KEY.match(line)
        if found:
            here = [*table, _unquoted(found.group(1))]
            matched = _common(here, path)
            if matched == len(here) and (best is None or matched > best[0]):
                best = (matched, number)
    return best[1] if best is not None and best[0] > 0 else None


def _with_array_indexes(
    names: list[str], arrays: dict[tuple[str | int, ...], int]
) -> list[str | int]:
    # [grants.scope] after [[grants]] belongs to the last grant.
    out: list[str | int] = []
    for name in names:
        out.append(name)
        if tuple(out) in arrays:
            out.append(arrays[tuple(out)])
    return out


def _common(have: Sequence[str | int], want: Sequence[str | int]) -> int:
    count = 0
    for mine, theirs in zip(have, want, strict=False):
        if mine != theirs:
            break
        count += 1
    return count


def _split_dotted(text: str) -> list[str]:
    return [part.strip() for part in re.findall(r"""("[^"]*"|'[^']*'|[^.]+)""", text)]


def _unquoted(name: str) -> str:
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        return name[1:-1]
    return name
