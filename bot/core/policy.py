"""Authorization: a pure function of (who, where, what) -> allow or deny, with a reason."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.core.operations import ParsedCommand


@dataclass(frozen=True, kw_only=True, slots=True)
class Actor:
    """Who asked, by immutable IDs (Slack user and channel IDs; ``local`` in the console)."""

    user_id: str
    channel_id: str | None = None


class Verdict(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True, kw_only=True, slots=True)
class Decision:
    verdict: Verdict
    reason: str


class Policy(Protocol):
    def decide(self, *, actor: Actor, command: ParsedCommand, engine: str) -> Decision: ...


class AllowEverything:
    """The local console's policy: whoever runs it already holds the engine's socket."""

    def decide(self, *, actor: Actor, command: ParsedCommand, engine: str) -> Decision:
        return Decision(verdict=Verdict.ALLOW, reason="local console")
