"""Sizes and IDs written the way the Docker CLI writes them; plans and renderers share these."""

from __future__ import annotations

_SIZE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def human_size(size: float) -> str:
    """``7770000`` -> ``7.77MB`` (decimal units, three significant digits, like Docker)."""
    unit = 0
    while size >= 1000 and unit < len(_SIZE_UNITS) - 1:
        size /= 1000
        unit += 1
    return f"{size:.3g}{_SIZE_UNITS[unit]}"


def short_id(identifier: str) -> str:
    """``sha256:3cecd7b94222...`` -> ``3cecd7b94222``."""
    return identifier.removeprefix("sha256:")[:12]
