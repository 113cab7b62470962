"""Plain-text pieces every platform shares: Docker-style padded tables, and the notes that say
what a stats snapshot or an event window left out."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.results import EventList, StatsResult


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, three spaces apart, like the Docker CLI."""
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = []
    for row in (headers, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("   ".join(cells).rstrip())
    return "\n".join(lines)


def stats_note(result: StatsResult, *, prefix: str = "") -> str:
    """What a stats snapshot left out, or ""."""
    notes = []
    if result.left_out:
        notes.append(
            f"{result.left_out} more container(s) left out: only the first "
            f"{len(result.rows)} are sampled; name the ones you want"
        )
    if any(not row.sampled for row in result.rows):
        notes.append("-- : the engine sent no sample in time")
    return prefix + "; ".join(notes) if notes else ""


def events_note(result: EventList) -> str:
    """What an event window left out, or ""."""
    if result.stopped_early:
        return (
            f"stopped reading after {result.left_out + len(result.events)} events (a cap "
            "on events or on time); only the last ones are shown: narrow --since/--until "
            "or add --filter"
        )
    if result.left_out:
        return f"{result.left_out} older event(s) left out; narrow --since/--until"
    return ""
