"""Single-flight: identical calls in flight at the same time share one execution.

Fifty people typing `/docker ps -a` in the same second need one engine call, not fifty: the
first caller runs it, the others wait for its result (or its exception). Only for read-only
operations, whose answer does not depend on who asks; authorization and audit stay per
request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """``do(key, call)``: run ``call`` unless an identical one (same ``key``) is running."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[Hashable, Future[T]] = {}

    def do(self, key: Hashable, call: Callable[[], T]) -> T:
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = Future()
        if not leader:
            return flight.result()
        try:
            flight.set_result(call())
        except BaseException as err:
            flight.set_exception(err)
        finally:
            with self._lock:
                del self._flights[key]
        return flight.result()
