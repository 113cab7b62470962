"""The environment values of listed containers, for redacting their commands in ``ps``.

A container's environment is fixed when it is created, so each is read once (``GET
/containers/{id}/json``) and kept by ID: after the first listing, a listing is one engine call
again, however many containers it shows.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker
import docker.errors
import requests.exceptions

from bot.core.results import ContainerRow
from bot.engine import events, mapping

_KEPT = 4_096  # containers remembered (the least recently listed go first)
_WORKERS = 8  # environments read at once


class ListedEnvironments:
    """Container ID -> the environment values redacted from its command; thread-safe."""

    def __init__(self) -> None:
        self._known: OrderedDict[str, list[str]] = OrderedDict()
        self._lock = threading.Lock()

    def rows(self, api: docker.APIClient, docs: list[dict[str, Any]]) -> list[ContainerRow]:
        """Listing rows with commands redacted. A container whose environment cannot be read
        (removed meanwhile) shows no command: fail closed."""
        unknown = [doc for doc in docs if doc.get("Command") and self._get(doc["Id"]) is None]
        if unknown:
            with ThreadPoolExecutor(max_workers=min(_WORKERS, len(unknown))) as pool:
                found = list(pool.map(lambda doc: _read(api, doc), unknown))
            for doc, values in zip(unknown, found, strict=True):
                if values is not None:
                    self._put(str(doc["Id"]), values)
        rows = []
        for doc in docs:
            values = self._get(doc["Id"]) if doc.get("Command") else []
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


def _read(api: docker.APIClient, doc: dict[str, Any]) -> list[str] | None:
    try:
        return events.secret_values(api.inspect_container(str(doc["Id"])))
    except (docker.errors.APIError, requests.exceptions.RequestException):
        return None
