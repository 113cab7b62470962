"""The audit trail as the core sees it: append-only entries, each chained to the one before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    event: str  # allowed, denied, executed, failed, approval_requested, approved, rejected, ...
    actor: str
    channel_id: str | None
    engine: str | None
    command: str  # with environment values redacted
    detail: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ChainCheck:
    ok: bool
    entries: int
    first_bad: int | None = None
    problem: str = ""


class AuditTrail(Protocol):
    def record(
        self, *, event: str, actor: str, channel_id: str | None = None, engine: str | None = None,
        command: str = "", detail: str = "",
    ) -> None: ...  # fmt: skip

    def recent(self, count: int) -> list[AuditEntry]: ...

    def verify(self) -> ChainCheck: ...
