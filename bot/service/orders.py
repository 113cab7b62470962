"""Work orders: what a chat front hands over once the request has been acknowledged.

Plain, picklable values, so that the work can run in another process. ``reply_to`` is the
adapter's own value for where this request's answers go (Slack: a response URL, a thread, a
direct message); the service hands it back to the adapter untouched.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from bot.core.command import ParsedCommand
from bot.core.policy import Actor
from bot.core.trace_ids import new_trace_id

# The chat adapter's own value (picklable, compared by equality): where answers go.
ReplyTarget = Hashable


@dataclass(frozen=True, kw_only=True, slots=True)
class CommandOrder:
    """A parsed, acknowledged command to run for ``actor``."""

    command: ParsedCommand
    actor: Actor
    reply_to: ReplyTarget
    # A slash command's change is acknowledged with a private "working on" note that its
    # answer replaces; a button click has no such note (and its message must stay).
    acknowledged: bool = True
    # Typed in a message everyone sees (a mention, a direct message): the answer is a message
    # in that thread for everyone too (errors and approval notes stay private).
    public: bool = False
    # The trace ID (the "request ID" of the logs and of errors shown): made at the front,
    # kept to the end.
    trace_id: str = field(default_factory=new_trace_id)


@dataclass(frozen=True, kw_only=True, slots=True)
class ClickOrder:
    """An Approve (``approve=True``) or Reject click on approval request ``approval_id``."""

    approval_id: int
    user_id: str
    channel_id: str
    approve: bool
    reply_to: ReplyTarget
    trace_id: str = field(default_factory=new_trace_id)


WorkOrder = CommandOrder | ClickOrder
