"""What an engine reports, as the notification core sees it (no Docker types)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

# The container events the core needs; the stream asks the engine for these only.
WATCHED_ACTIONS = ("start", "die", "kill", "oom", "health_status", "destroy")


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerEvent:
    """One container event. ``health`` only for ``health_status`` (``"unhealthy"``...)."""

    action: str
    container_id: str
    name: str
    image: str
    time_ns: int  # the engine's clock
    exit_code: int | None = None
    health: str | None = None
    signal: str | None = None  # for ``kill``: the signal sent, as the engine reports it
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, str, str, str]:
        """What tells two deliveries of the same event apart from two events."""
        return (self.time_ns, self.container_id, self.action, self.health or "")


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerBrief:
    """A container as listed: enough to say what became of it."""

    container_id: str
    name: str
    image: str
    running: bool
    status: str  # the engine's words, e.g. "Exited (137) 2 minutes ago"
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class NoticeDetails:
    """What a notice shows beside the event: the log tail and the health check's last output,
    both with the container's environment values redacted."""

    log_tail: str = ""
    health_output: str = ""
    missing: bool = False  # the container was gone before its details could be read


class EventStream(Protocol):
    """A stream of events, ended by the engine (``until``, a restart) or by ``close()``."""

    def __iter__(self) -> Iterator[ContainerEvent]: ...

    def close(self) -> None:
        """End the stream from another thread."""
        ...


@runtime_checkable
class EventSource(Protocol):
    """One engine's events and what a notice needs to read. Raises only ``EngineError``s."""

    @property
    def name(self) -> str: ...

    def engine_time_ns(self) -> int:
        """The engine's own clock (its events are stamped with it)."""
        ...

    def events(self, *, since_ns: int, until_ns: int | None = None) -> EventStream:
        """Container events from ``since_ns`` (inclusive), live unless ``until_ns`` is set."""
        ...

    def containers(self) -> list[ContainerBrief]:
        """Every container, running or not."""
        ...

    def notice_details(self, container_id: str, *, lines: int) -> NoticeDetails:
        """The last ``lines`` of the container's log and its last health check output."""
        ...
