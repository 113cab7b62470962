"""Trace IDs: one per request a person makes, carried from the chat front to the work and into
every log line written while it is handled, and shown with its errors so a person can quote it.

Logs and people know it as the *request ID* (``request_id`` in JSON lines, "Request ID" in
chat); in code it is the trace ID, apart from approval requests' numbers (``approval_id``) and
the work process's order numbers (``order_id``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_CURRENT: ContextVar[str | None] = ContextVar("trace_id", default=None)


def new_trace_id() -> str:
    return uuid.uuid4().hex[:12]


def current_trace_id() -> str | None:
    """The trace ID of the request being handled on this thread, if any."""
    return _CURRENT.get()


@contextmanager
def handling(trace_id: str) -> Iterator[None]:
    """Everything within is done for the request ``trace_id`` names."""
    token = _CURRENT.set(trace_id)
    try:
        yield
    finally:
        _CURRENT.reset(token)
