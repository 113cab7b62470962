"""Authorization: pure functions of (who, where, what, rules) -> a decision and why.

Modelled on errbot's ``acls.py``: rules are keyed by immutable IDs (users, user groups,
channels), never by display names, and every decision carries the reason a person will read.
What each operation needs is declared on the operation (``bot.core.operations``); the rules
are plain values that ``bot.config`` builds from the settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, assert_never

from bot.core.command import ParsedCommand
from bot.core.freezes import Freeze, in_force, refusal
from bot.core.operations import (
    Access,
    Operation,
    Permission,
    Pull,
    RunContainer,
    UpgradeContainers,
    changes_something,
)
from bot.core.protection import reserved_label_problems
from bot.core.run_policy import RunPolicy, image_violation, run_violations, with_defaults

# Roles nest: each holds what the ones before it hold.
ROLE_NAMES = ("viewer", "operator", "admin")


@dataclass(frozen=True, kw_only=True, slots=True)
class Actor:
    """Who asked, by immutable IDs (chat user and channel IDs; ``local`` in the console),
    with the user groups the adapter found them in."""

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
    """Who may do what, and from where. Entries are immutable IDs (users, user groups) or
    ``*``; channels are channel IDs. Reasons quote the configuration's names ([roles] ...)."""

    roles: Mapping[str, tuple[str, ...]]  # role name -> the entries that hold it
    channels: tuple[str, ...] = ()  # where the bot answers at all; empty: anywhere
    required_for: tuple[str, ...] = ()  # destructive actions that wait for an approval
    approvers: tuple[str, ...] = ()  # role names, user IDs or user group IDs
    engine_channels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A misspelt role would silently grant nothing.
        unknown = sorted(set(self.roles) - set(ROLE_NAMES))
        if unknown:
            raise ValueError(f"unknown roles {', '.join(unknown)}; use {', '.join(ROLE_NAMES)}")


def roles_of(actor: Actor, rules: AccessRules) -> dict[str, str]:
    """role -> the rule entry that grants it (``*``, the user ID or a group ID)."""
    held: dict[str, str] = {}
    for role in ROLE_NAMES:
        for entry in rules.roles.get(role, ()):
            if entry == "*" or entry == actor.user_id or entry in actor.groups:
                held[role] = entry
                break
    return held


def channel_refusal(channel_id: str | None, rules: AccessRules) -> str | None:
    """Why the bot takes no commands at all in this channel, or None. Cheap and needs no
    parsing, so adapters can ask it before spending anything on untrusted text."""
    channel = channel_id or "(none)"
    if rules.channels and channel not in rules.channels:
        return f"the bot does not take commands in channel {channel} ([access] channels)"
    return None


def authorize(*, actor: Actor, access: Access, engine: str, rules: AccessRules) -> Decision:
    """May ``actor`` do what ``access`` declares on ``engine`` from where they are? Pure;
    tested as a table."""
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
    action = access.action
    match access.permission:
        case Permission.READ:
            return _needs("viewer", action, held, granted, top)
        case Permission.OPERATE:
            return _needs("operator", action, held, granted, top)
        case Permission.DESTRUCTIVE if action in rules.required_for:
            if "operator" in held or "admin" in held:
                approvers = ", ".join(rules.approvers)
                return Decision(
                    verdict=Verdict.NEEDS_APPROVAL,
                    reason=f"`{action}` needs approval by {approvers} ([approvals] required_for)",
                )
            return _deny(f"`{action}` needs the operator role to request it; {_standing(top)}")
        case Permission.DESTRUCTIVE | Permission.ADMIN:
            return _needs("admin", action, held, granted, top)
        case _:
            assert_never(access.permission)


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
    """The access rules, the freezes, then the run policy."""

    def __init__(
        self,
        *,
        rules: AccessRules,
        run_policy: RunPolicy,
        freezes: tuple[Freeze, ...] = (),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if freezes and clock is None:
            raise ValueError("freezes need a clock")
        self._rules = rules
        self._run_policy = run_policy
        self._freezes = freezes
        self._clock = clock

    @property
    def rules(self) -> AccessRules:
        return self._rules

    def decide(self, *, actor: Actor, command: ParsedCommand, engine: str) -> Decision:
        operation = command.operation
        decision = authorize(actor=actor, access=operation.access, engine=engine, rules=self._rules)
        if decision.verdict is not Verdict.DENY and changes_something(operation):
            decision = self._frozen(operation.access.action, engine) or decision
        if isinstance(operation, UpgradeContainers) and operation.image is not None:
            # Judged before any approval is asked: an approver cannot allow what policy refuses.
            refused = image_violation(operation.image, self._run_policy)
            if refused and decision.verdict is not Verdict.DENY:
                return _deny(refused)
        if decision.verdict is not Verdict.ALLOW:
            return decision
        # Only pull and run carry options the run policy judges; everything else is decided.
        if isinstance(operation, Pull):
            refused = image_violation(operation.image, self._run_policy)
            return _deny(refused) if refused else decision
        if isinstance(operation, RunContainer):
            is_admin = "admin" in roles_of(actor, self._rules)
            problems = reserved_label_problems(
                (key for key, _ in operation.labels),
                is_admin=is_admin,
                admin_labels=self._run_policy.admin_labels,
            )
            problems += run_violations(operation, self._run_policy)
            if problems:
                return _deny("; ".join(problems))
            adjusted = with_defaults(operation, self._run_policy, owner=actor.user_id)
            return Decision(verdict=Verdict.ALLOW, reason=decision.reason, operation=adjusted)
        return decision

    def _frozen(self, action: str, engine: str) -> Decision | None:
        """A refusal if a [[freeze]] window holds ``action`` on ``engine`` now."""
        if not self._freezes or self._clock is None:
            return None
        window = in_force(self._freezes, now=self._clock(), engine=engine, action=action)
        return None if window is None else _deny(refusal(window))
