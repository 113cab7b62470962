"""The audit trail as the core sees it: append-only entries, each chained to the one before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.core.approval_records import ApprovalRecord


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
    problem: str = ""  # a clause: "entry N <problem>" when first_bad is set, else on its own
    # Entries chained with plain SHA-256 (written before CHATOPS_AUDIT_KEY): anyone who can
    # write the database could have rewritten them, so the count is shown, not hidden.
    unkeyed: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditHead:
    """The newest entry (0 and the genesis hash for an empty log): what is published."""

    entry: int
    hash: str


class AuditTrail(Protocol):
    def record(
        self,
        *,
        event: str,
        actor: str,
        channel_id: str | None = None,
        engine: str | None = None,
        command: str = "",
        detail: str = "",
    ) -> None: ...

    def recent(self, count: int) -> list[AuditEntry]: ...

    def verify(self, *, published: str | None = None) -> ChainCheck: ...


def record_request_event(
    audit: AuditTrail | None,
    *,
    event: str,
    actor: str,
    approval_id: int,
    record: ApprovalRecord | None,
    detail: str = "",
) -> None:
    """One audit entry about approval request ``approval_id``: where it was asked, on which
    engine, for which command (as stored: values redacted)."""
    if audit is None:
        return
    audit.record(
        event=event,
        actor=actor,
        channel_id=record.channel_id if record else None,
        engine=record.engine if record else None,
        command=record.command_text if record else "",
        detail=f"#{approval_id} {detail}".strip(),
    )
