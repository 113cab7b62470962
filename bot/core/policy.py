"""Authorization: pure functions of (who, where, what, configuration) -> a decision and why.

Modelled on errbot's ``acls.py``: rules are keyed by immutable Slack IDs (users ``U``/``W``,
user groups ``S``, channels ``C``), never by display names, and every decision carries the
reason a person will read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from bot.core.operations import Operation, ParsedCommand, Pull, RunContainer, action_name
from bot.core.run_policy import image_violation, run_violations, with_defaults
from bot.settings import (
    ROLE_NAMES,
    AccessSettings,
    ApprovalSettings,
    RolesSettings,
    RunPolicySettings,
    Settings,
)

READ_ACTIONS = frozenset(
    {"ps", "images", "logs", "inspect", "help", "approvals", "cancel", "cleanup-preview"}
)
OPERATE_ACTIONS = frozenset({"pull", "run", "start", "stop", "restart", "pause", "unpause"})
DESTRUCTIVE_ACTIONS = frozenset({"rm", "rmi", "prune", "cleanup"})


@dataclass(frozen=True, kw_only=True, slots=True)
class Actor:
    """Who asked, by immutable IDs (Slack user and channel IDs; ``local`` in the console),
    with the user groups (``S...``) the adapter found them in."""

    user_id: str
    channel_id: str | None = None
    groups: frozenset[str] = field(default=frozenset())


class Verdict(StrEnum):
    ALLOW = "allow"
    NEEDS_APPROVAL = "needs_approval"
    DENY = "deny"


@dataclass(frozen=True, kw_only=True, slots=True)
class Decision:
    verdict: Verdict
    reason: str
    # The operation to execute when it differs from the one asked (run-policy defaults).
    operation: Operation | None = None


class Policy(Protocol):
    def decide(self, *, actor: Actor, command: ParsedCommand, engine: str) -> Decision: ...


class AllowEverything:
    """The local console's policy: whoever runs it already holds the engine's socket."""

    def decide(self, *, actor: Actor, command: ParsedCommand, engine: str) -> Decision:
        return Decision(verdict=Verdict.ALLOW, reason="local console")


@dataclass(frozen=True, kw_only=True, slots=True)
class AccessRules:
    roles: RolesSettings
    access: AccessSettings
    approvals: ApprovalSettings
    engine_channels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessRules:
        return cls(
            roles=settings.roles,
            access=settings.access,
            approvals=settings.approvals,
            engine_channels={
                name: tuple(engine.channels) for name, engine in settings.engines.items()
            },
        )

    def referenced_groups(self) -> frozenset[str]:
        """The user group IDs the rules mention (the only memberships worth looking up)."""
        ids = [*self.roles.viewer, *self.roles.operator, *self.roles.admin]
        return frozenset(i for i in ids if i.startswith("S"))


def roles_of(actor: Actor, rules: AccessRules) -> dict[str, str]:
    """role -> the rule entry that grants it (``*``, the user ID or a group ID)."""
    held: dict[str, str] = {}
    for role in ROLE_NAMES:
        for entry in getattr(rules.roles, role):
            if entry == "*" or entry == actor.user_id or entry in actor.groups:
                held[role] = entry
                break
    return held


def channel_refusal(channel_id: str | None, rules: AccessRules) -> str | None:
    """Why the bot takes no commands at all in this channel, or None. Cheap and needs no
    parsing, so adapters can ask it before spending anything on untrusted text."""
    channel = channel_id or "(none)"
    if rules.access.channels and channel not in rules.access.channels:
        return f"the bot does not take commands in channel {channel} ([access] channels)"
    return None


def authorize(*, actor: Actor, action: str, engine: str, rules: AccessRules) -> Decision:
    """May ``actor`` do ``action`` on ``engine`` from where they are? Pure; tested as a table."""
    channel = actor.channel_id or "(none)"
    refused = channel_refusal(actor.channel_id, rules)
    if refused is not None:
        return _deny(refused)
    bound = rules.engine_channels.get(engine, ())
    if bound and channel not in bound:
        return _deny(
            f"engine `{engine}` may only be used from {', '.join(bound)} "
            f"([engines.{engine}] channels)"
        )
    held = roles_of(actor, rules)
    top = next((role for role in reversed(ROLE_NAMES) if role in held), None)
    granted = f"{top} via {held[top]}" if top else ""
    if action in READ_ACTIONS:
        return _needs("viewer", action, held, granted, top)
    if action in OPERATE_ACTIONS:
        return _needs("operator", action, held, granted, top)
    if action in rules.approvals.required_for:
        if "operator" in held or "admin" in held:
            approvers = ", ".join(rules.approvals.approvers)
            return Decision(
                verdict=Verdict.NEEDS_APPROVAL,
                reason=f"`{action}` needs approval by {approvers} ([approvals] required_for)",
            )
        return _deny(f"`{action}` needs the operator role to request it; {_standing(top)}")
    return _needs("admin", action, held, granted, top)


def _needs(role: str, action: str, held: dict[str, str], granted: str, top: str | None) -> Decision:
    # Roles nest: an admin may do what an operator may, an operator what a viewer may.
    if top is not None and ROLE_NAMES.index(top) >= ROLE_NAMES.index(role):
        return Decision(verdict=Verdict.ALLOW, reason=granted)
    return _deny(f"`{action}` needs the {role} role ([roles] {role}); {_standing(top)}")


def _standing(top: str | None) -> str:
    return f"you are {top}" if top else "you hold no role"


def _deny(reason: str) -> Decision:
    return Decision(verdict=Verdict.DENY, reason=reason)


def has_role(role: str, user_id: str, groups: frozenset[str], rules: AccessRules) -> bool:
    """Does the user hold ``role`` (or a higher one)? False for names that are not roles."""
    if role not in ROLE_NAMES:
        return False
    held = roles_of(Actor(user_id=user_id, groups=groups), rules)
    return any(ROLE_NAMES.index(mine) >= ROLE_NAMES.index(role) for mine in held)


class ConfiguredPolicy:
    """Access rules, then the run policy, from the configuration."""

    def __init__(self, *, rules: AccessRules, run_policy: RunPolicySettings) -> None:
        self._rules = rules
        self._run_policy = run_policy

    @classmethod
    def from_settings(cls, settings: Settings) -> ConfiguredPolicy:
        return cls(rules=AccessRules.from_settings(settings), run_policy=settings.run_policy)

    @property
    def rules(self) -> AccessRules:
        return self._rules

    def decide(self, *, actor: Actor, command: ParsedCommand, engine: str) -> Decision:
        operation = command.operation
        decision = authorize(
            actor=actor, action=action_name(operation), engine=engine, rules=self._rules
        )
        if decision.verdict is not Verdict.ALLOW:
            return decision
        match operation:
            case Pull():
                refused = image_violation(operation.image, self._run_policy)
                return _deny(refused) if refused else decision
            case RunContainer():
                problems = run_violations(operation, self._run_policy)
                if problems:
                    return _deny("; ".join(problems))
                adjusted = with_defaults(operation, self._run_policy)
                return Decision(verdict=Verdict.ALLOW, reason=decision.reason, operation=adjusted)
        return decision
