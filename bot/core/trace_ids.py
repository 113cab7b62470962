"""Request IDs: one per request, carried from the chat front to the work and into every log
line written while it is handled, and shown with its errors so a person can quote it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_CURRENT: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex[:12]


def current_request_id() -> str | None:
    """The ID of the request being handled on this thread, if any."""
    return _CURRENT.get()


@contextmanager
def handling(request_id: str) -> Iterator[None]:
    """Everything within is done for ``request_id``."""
    token = _CURRENT.set(request_id)
    try:
        yield
    finally:
        _CURRENT.reset(token)
