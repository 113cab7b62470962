"""Rendering shared by requests that share a result (single-flight reads).

Rendering a 500-row listing costs tens of milliseconds of interpreter time; fifty requests
answered from one shared engine call need it once. Entries are keyed by the result object's
identity and hold the object itself, so an identity can never be mistaken for another.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from bot.core.pipeline import Reply

Rendered = TypeVar("Rendered")


class SharedRenders(Generic[Rendered]):
    """``render(reply, key, draw)``: ``draw()`` once per (result, key) among recent results."""

    def __init__(self, *, size: int = 32) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[int, Hashable], tuple[object, Rendered]] = OrderedDict()

    def render(self, reply: Reply, key: Hashable, draw: Callable[[], Rendered]) -> Rendered:
        if reply.result is None:
            return draw()
        slot = (id(reply.result), (key, reply.text, reply.warnings, reply.engine))
        with self._lock:
            found = self._entries.get(slot)
            if found is not None and found[0] is reply.result:
                self._entries.move_to_end(slot)
                return found[1]
        message = draw()  # outside the lock: two first renders at once are merely wasteful
        with self._lock:
            self._entries[slot] = (reply.result, message)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return message
