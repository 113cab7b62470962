"""Work orders: what the front hands over once Slack has been acknowledged.

Plain, picklable values, so that the work can run in another process.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.operations import ParsedCommand
from bot.core.policy import Actor


@dataclass(frozen=True, kw_only=True, slots=True)
class CommandOrder:
    """A parsed, acknowledged slash command to run for ``actor``."""

    command: ParsedCommand
    actor: Actor
    response_url: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ClickOrder:
    """An Approve (``approve=True``) or Reject click on request ``request_id``."""

    request_id: int
    user_id: str
    channel_id: str
    approve: bool
    response_url: str


WorkOrder = CommandOrder | ClickOrder
