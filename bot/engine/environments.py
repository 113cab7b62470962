"""The environment values of listed containers, for redacting their commands in ``ps``.

A container's environment is fixed when it is created, so each is read once (``GET
/containers/{id}/json``) and kept by ID: after the first listing, a listing is one engine call
again, however many containers it shows. A command shorter than any value redaction looks for
(``MIN_SECRET``) cannot hold one: its container's environment is not read at all, so a fresh
process (``python -m bot exec ps -a``) lists such containers with one call too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.core import redaction
from bot.core.results import ContainerRow
from bot.engine import mapping

# A container's inspect document, or None when it cannot be read (removed meanwhile).
InspectReader = Callable[[str], dict[str, Any] | None]

_KEPT = 4_096  # containers remembered (the least recently listed go first)
_WORKERS = 8  # environments read at once


class ListedEnvironments:
    """Container ID -> the environment values redacted from its command; thread-safe."""

    def __init__(self) -> None:
        self._known: OrderedDict[str, list[str]] = OrderedDict()
        self._lock = threading.Lock()

    def rows(self, inspect: InspectReader, docs: list[dict[str, Any]]) -> list[ContainerRow]:
        """Listing rows with commands redacted; ``inspect`` reads a container's environment.
        A container whose environment cannot be read (removed meanwhile) shows no command:
        fail closed."""
        unknown = [doc for doc in docs if _may_hold_values(doc) and self._get(doc["Id"]) is None]
        if unknown:
            with ThreadPoolExecutor(max_workers=min(_WORKERS, len(unknown))) as pool:
                found = list(pool.map(lambda doc: _read(inspect, doc), unknown))
            for doc, values in zip(unknown, found, strict=True):
                if values is not None:
                    self._put(str(doc["Id"]), values)
        rows = []
        for doc in docs:
            values = self._get(doc["Id"]) if _may_hold_values(doc) else []
            if values is None:
                rows.append(mapping.container_row({**doc, "Command": mapping.REDACTED}))
            else:
                rows.append(mapping.container_row(doc, values))
        return rows

    def _get(self, container_id: object) -> list[str] | None:
        with self._lock:
            values = self._known.get(str(container_id))
            if values is not None:
                self._known.move_to_end(str(container_id))
            return values

    def _put(self, container_id: str, values: list[str]) -> None:
        with self._lock:
            self._known[container_id] = values
            while len(self._known) > _KEPT:
                self._known.popitem(last=False)


def _may_hold_values(doc: dict[str, Any]) -> bool:
    """Could the listed command hold an environment value that redaction would replace?"""
    return len(str(doc.get("Command") or "")) >= redaction.MIN_SECRET


def _read(inspect: InspectReader, doc: dict[str, Any]) -> list[str] | None:
    found = inspect(str(doc["Id"]))
    return None if found is None else mapping.secret_values(found)
