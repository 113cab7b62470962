"""Authorization: pure functions of (who, where, what, rules) -> a decision and why.

Modelled on errbot's ``acls.py``: rules are keyed by immutable IDs (users, user groups,
channels), never by display names, and every decision carries the reason a person will read.
What each operation needs is declared on the operation (``bot.core.operations``); the rules
are plain values that ``bot.config`` builds from the settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol, assert_never

from bot.core.command import ParsedCommand
from bot.core.freezes import Freeze, in_force, refusal
from bot.core.grants import (
    MAX_GRANT_TARGETS,
    ContainerFacts,
    Grant,
    best,
    candidates,
    coverage,
    pinned,
    targets_of,
)
from bot.core.operations import (
    CHANGE_ACTIONS,
    Access,
    MountKind,
    Operation,
    Permission,
    Pull,
    RunContainer,
    UpgradeContainers,
)
from bot.core.plans import STATE_CHANGES
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


# The containers a command names -> what a grant looks at in each (the engine's answer).
FactsLookup = Callable[[tuple[str, ...]], tuple[ContainerFacts, ...]]


class Policy(Protocol):
    def decide(
        self,
        *,
        actor: Actor,
        command: ParsedCommand,
        engine: str,
        facts: FactsLookup | None = None,
    ) -> Decision:
        """``facts`` is asked only when a scoped grant could allow what the role refuses."""
        ...


class AllowEverything:
    """The local console's policy: whoever runs it already holds the engine's socket."""

    def decide(
        self,
        *,
        actor: Actor,
        command: ParsedCommand,
        engine: str,
        facts: FactsLookup | None = None,
    ) -> Decision:
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
    return place_refusal(actor=actor, engine=engine, rules=rules) or role_decision(
        actor=actor, access=access, rules=rules
    )


def place_refusal(*, actor: Actor, engine: str, rules: AccessRules) -> Decision | None:
    """A refusal if ``actor`` may not use ``engine`` from where they are (no grant lifts it)."""
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
    return None


def role_decision(*, actor: Actor, access: Access, rules: AccessRules) -> Decision:
    """What ``actor``'s roles alone allow for ``access``."""
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
                return _needs_approval(action, rules)
            return _deny(f"`{action}` needs the operator role to request it; {_standing(top)}")
        case Permission.DESTRUCTIVE | Permission.ADMIN:
            return _needs("admin", action, held, granted, top)
        case _:
            assert_never(access.permission)


def _needs_approval(action: str, rules: AccessRules, *, via: str = "") -> Decision:
    approvers = ", ".join(rules.approvers)
    return Decision(
        verdict=Verdict.NEEDS_APPROVAL,
        reason=f"`{action}` needs approval by {approvers} ([approvals] required_for){via}",
    )


def held_roles(actor: Actor, rules: AccessRules) -> frozenset[str]:
    """Every role ``actor`` holds, nested ones included (an admin holds operator too)."""
    held = roles_of(actor, rules)
    ranks = [ROLE_NAMES.index(role) for role in held]
    return frozenset(ROLE_NAMES[: max(ranks) + 1]) if ranks else frozenset()


def _needs(role: str, action: str, held: dict[str, str], granted: str, top: str | None) -> Decision:
    # Roles nest: an admin may do what an operator may, an operator what a viewer may.
    if top is not None and ROLE_NAMES.index(top) >= ROLE_NAMES.index(role):
        return Decision(verdict=Verdict.ALLOW, reason=granted)
    return _deny(f"`{action}` needs the {role} role ([roles] {role}); {_standing(top)}")


def _standing(top: str | None) -> str:
    return f"you are {top}" if top else "you hold no role"


def _deny(reason: str) -> Decision:
    return Decision(verdict=Verdict.DENY, reason=reason)


def granted_run_problems(operation: RunContainer) -> list[str]:
    """What a ``run`` that only a grant allows may not do: reach what the grant does not name
    (an existing volume or a host path, which may be another team's; another container's
    namespaces)."""
    found = [
        f"`-v {mount.source}:{mount.target}`"
        for mount in operation.volumes
        if mount.kind is not MountKind.ANONYMOUS
    ]
    modes = {
        "--pid": operation.pid_mode,
        "--ipc": operation.ipc_mode,
        "--uts": operation.uts_mode,
        "--userns": operation.userns_mode,
    }
    found += [f"`{option} {mode}`" for option, mode in modes.items() if mode is not None]
    # The default network only: a named one may be another team's.
    if operation.network not in (None, "bridge", "default", "none"):
        found.append(f"`--network {operation.network}`")
    if not found:
        return []
    return [
        f"a `run` that a grant allows mounts no named volume or host path and shares no other "
        f"container's or the host's namespaces ({', '.join(found)}); ask an operator"
    ]


def has_role(role: str, user_id: str, groups: frozenset[str], rules: AccessRules) -> bool:
    """Does the user hold ``role`` (or a higher one)? False for names that are not roles."""
    return role in held_roles(Actor(user_id=user_id, groups=groups), rules)


class ConfiguredPolicy:
    """The access rules and grants, the freezes, then the run policy."""

    def __init__(
        self,
        *,
        rules: AccessRules,
        run_policy: RunPolicy,
        freezes: tuple[Freeze, ...] = (),
        grants: tuple[Grant, ...] = (),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if freezes and clock is None:
            raise ValueError("freezes need a clock")
        self._rules = rules
        self._run_policy = run_policy
        self._freezes = freezes
        self._grants = grants
        self._clock = clock

    @property
    def rules(self) -> AccessRules:
        return self._rules

    @property
    def grants(self) -> tuple[Grant, ...]:
        return self._grants

    def decide(
        self,
        *,
        actor: Actor,
        command: ParsedCommand,
        engine: str,
        facts: FactsLookup | None = None,
    ) -> Decision:
        operation = command.operation
        place = place_refusal(actor=actor, engine=engine, rules=self._rules)
        if place is not None:
            return place
        decision = role_decision(actor=actor, access=operation.access, rules=self._rules)
        by_grant = False
        if decision.verdict is Verdict.DENY and self._grants:
            decision = self._granted(actor, operation, engine, facts, refused=decision)
            by_grant = decision.verdict is not Verdict.DENY
        # What a freeze may hold: changes to an engine (a preview or a silence is none).
        if decision.verdict is not Verdict.DENY and operation.access.action in CHANGE_ACTIONS:
            decision = self._frozen(actor, operation.access, engine) or decision
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
            if by_grant:
                problems += granted_run_problems(operation)
            if problems:
                return _deny("; ".join(problems))
            adjusted = with_defaults(operation, self._run_policy, owner=actor.user_id)
            return Decision(verdict=Verdict.ALLOW, reason=decision.reason, operation=adjusted)
        return decision

    def _granted(
        self,
        actor: Actor,
        operation: Operation,
        engine: str,
        facts: FactsLookup | None,
        *,
        refused: Decision,
    ) -> Decision:
        """What the person's grants allow where their role refused ``refused``; the refusal,
        naming the grant that came closest, when none covers every target."""
        action = operation.access.action
        found = candidates(
            self._grants,
            user_id=actor.user_id,
            groups=actor.groups,
            roles=held_roles(actor, self._rules),
            action=action,
            engine=engine,
        )
        if not found:
            return refused
        targets = targets_of(operation)
        looked: tuple[ContainerFacts, ...] = ()
        if targets.containers and any(grant.scoped for grant in found):
            if len(targets.containers) > MAX_GRANT_TARGETS:
                return _deny(
                    f"a grant is checked for at most {MAX_GRANT_TARGETS} containers at once; "
                    f"{refused.reason}"
                )
            if facts is None:
                return refused
            looked = facts(targets.containers)
        chosen = best(
            [
                coverage(grant, targets=targets, facts=looked, user_id=actor.user_id)
                for grant in found
            ]
        )
        assert chosen is not None  # found is not empty
        grant = chosen.grant
        if not chosen.whole:
            return _deny(
                f"your grant #{grant.number} covers {grant.scope_text()}, not "
                f"{', '.join(chosen.uncovered)}; {refused.reason}"
            )
        via = f"grant #{grant.number} ({grant.scope_text()})"
        # What was checked is what runs: the containers by the IDs the grant was judged on.
        exact = pinned(operation, looked)
        if targets.containers and grant.scoped and exact is None:
            return _deny(f"the containers could not be pinned to their IDs; {refused.reason}")
        access = operation.access
        if access.permission is Permission.DESTRUCTIVE and action in self._rules.required_for:
            decision = _needs_approval(action, self._rules, via=f"; requested under {via}")
            return replace(decision, operation=exact)
        return Decision(verdict=Verdict.ALLOW, reason=via, operation=exact)

    def _frozen(self, actor: Actor, access: Access, engine: str) -> Decision | None:
        """A refusal if a [[freeze]] window holds ``access`` on ``engine`` now; an admin's
        change that can be planned exactly (as approvals need) waits for another admin."""
        if not self._freezes or self._clock is None:
            return None
        window = in_force(self._freezes, now=self._clock(), engine=engine, action=access.action)
        if window is None:
            return None
        return frozen_decision(
            refusal(window),
            is_admin="admin" in roles_of(actor, self._rules),
            plannable=access.permission is Permission.DESTRUCTIVE or access.action in STATE_CHANGES,
        )


def frozen_decision(refused: str, *, is_admin: bool, plannable: bool) -> Decision:
    """Inside a [[freeze]] window: refused, but an admin may ask for a change that can be
    planned exactly (a removal, an upgrade, a container's start/stop/restart/pause/unpause),
    which then needs another admin's approval (``ApprovalService.approve`` holds to that).
    ``run`` and ``pull`` make something new: nothing plans them, so they cannot wait."""
    if not is_admin:
        return _deny(refused)
    if plannable:
        return Decision(
            verdict=Verdict.NEEDS_APPROVAL,
            reason=f"{refused}; an admin's change needs another admin's approval",
        )
    return _deny(f"{refused}; `run` and `pull` cannot wait for another admin's approval")
