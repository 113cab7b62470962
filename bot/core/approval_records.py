"""An approval request as stored and shown: its states, the moves between them, the record.

Kept apart from ``bot.core.approvals`` (the service) so that results can carry records
without importing the service, which itself returns results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.core.plans import Plan
from bot.errors import ChatOpsError


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    EXECUTING = "executing"
    DONE = "done"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    WITHDRAWN = "withdrawn"
    INTERRUPTED = "interrupted"
    # Its stored row failed verification (changed outside the bot, or stored before rows
    # carried a MAC): never run. Reached from any unfinished state (``mark_tampered``).
    TAMPERED = "tampered"


TRANSITIONS: dict[ApprovalState, frozenset[ApprovalState]] = {
    ApprovalState.PENDING: frozenset(
        {
            ApprovalState.APPROVED,
            ApprovalState.REJECTED,
            ApprovalState.EXPIRED,
            ApprovalState.CANCELLED,
            ApprovalState.WITHDRAWN,
        }
    ),
    ApprovalState.APPROVED: frozenset({ApprovalState.EXECUTING, ApprovalState.INTERRUPTED}),
    ApprovalState.EXECUTING: frozenset(
        {ApprovalState.DONE, ApprovalState.FAILED, ApprovalState.INTERRUPTED}
    ),
}


def can_move(current: ApprovalState, target: ApprovalState) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


FINAL = frozenset(set(ApprovalState) - set(TRANSITIONS))


class ApprovalTampered(ChatOpsError):
    """A request's stored row does not verify under its MAC: nothing may be done with it."""

    def __init__(self, approval_id: int) -> None:
        super().__init__(
            f"#{approval_id} failed its integrity check (its stored record was changed outside "
            "the bot) and will never run."
        )
        self.approval_id = approval_id


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalRecord:
    id: int
    state: ApprovalState
    requester: str
    channel_id: str | None
    engine: str
    command_text: str
    plan: Plan
    created_at: datetime
    expires_at: datetime
    approvers: tuple[str, ...] = ()
    message_channel: str | None = None
    message_ts: str | None = None
    outcome: str = ""
    auto_run: bool = False  # a veto window: runs at expiry unless cancelled
    # False: the stored row did not verify under its MAC; its fields are as found (maybe
    # edited by someone else) and must not be acted on. It is shown as such, never run.
    intact: bool = True

    @property
    def shown_command(self) -> str:
        """Stored as rendered from the parsed operation: environment values redacted."""
        return self.command_text


class ApprovalOutcomeKind(StrEnum):
    """What acting on a request (a vote, a rejection, a cancellation) did."""

    REFUSED = "refused"  # nothing changed; the message says why
    RECORDED = "recorded"  # an approval counted, more are needed
    EXECUTED = "executed"  # done or failed: see the record
    REJECTED = "rejected"
    CANCELLED = "cancelled"
