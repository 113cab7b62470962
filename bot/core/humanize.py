"""Sizes and IDs written the way the Docker CLI writes them; plans and renderers share these."""

from __future__ import annotations

_SIZE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def human_size(size: float, *, precision: int = 3) -> str:
    """``7770000`` -> ``7.77MB`` (decimal units, three significant digits, like Docker's
    listings; ``system df`` writes four, go-units' HumanSize)."""
    unit = 0
    while size >= 1000 and unit < len(_SIZE_UNITS) - 1:
        size /= 1000
        unit += 1
    return f"{size:.{precision}g}{_SIZE_UNITS[unit]}"


def binary_size(size: float) -> str:
    """``1413120`` -> ``1.348MiB`` (binary units, four significant digits: go-units'
    BytesSize, which ``docker stats`` uses for memory)."""
    unit = 0
    while size >= 1024 and unit < len(_BINARY_UNITS) - 1:
        size /= 1024
        unit += 1
    return f"{size:.4g}{_BINARY_UNITS[unit]}"


def short_id(identifier: str) -> str:
    """``sha256:3cecd7b94222...`` -> ``3cecd7b94222``."""
    return identifier.removeprefix("sha256:")[:12]
