"""Every operation declares its action name and permission; nothing falls back to admin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from bot.core.operations import (
    ACTIONS,
    DESTRUCTIVE_ACTIONS,
    OPERATION_TYPES,
    Access,
    ChangeContainers,
    Cleanup,
    CleanupStatusQuery,
    ContainerAction,
    Permission,
    action_name,
    actions_by_name,
    declared_accesses,
)
from bot.core.parsing.parser import parse_command


@pytest.mark.parametrize("kind", OPERATION_TYPES, ids=lambda kind: kind.__name__)
def test_every_operation_declares_its_access(kind: type) -> None:
    declared = declared_accesses(kind)
    assert declared and all(ACTIONS[access.action] == access for access in declared)


def test_an_operation_without_a_declaration_is_refused() -> None:
    @dataclass(frozen=True, kw_only=True, slots=True)
    class Undeclared:
        name: str

    with pytest.raises(TypeError, match="Undeclared declares no access"):
        declared_accesses(Undeclared)
    with pytest.raises(TypeError, match="Undeclared declares no access"):
        actions_by_name((*OPERATION_TYPES, Undeclared))


def test_an_action_has_one_permission() -> None:
    @dataclass(frozen=True, kw_only=True, slots=True)
    class Sneaky:
        access: ClassVar[Access] = Access(action="rm", permission=Permission.READ)

    with pytest.raises(TypeError, match="'rm' is declared with two permissions"):
        actions_by_name((*OPERATION_TYPES, Sneaky))


@pytest.mark.parametrize("action", list(ContainerAction))
def test_container_actions_are_declared(action: ContainerAction) -> None:
    operation = ChangeContainers(action=action, containers=("web",))
    assert operation.access in declared_accesses(ChangeContainers)
    assert action_name(operation) == action.value


@pytest.mark.parametrize(
    ("text", "action", "permission"),
    [
        ("ps", "ps", Permission.READ),
        ("pull nginx", "pull", Permission.OPERATE),
        ("stop web", "stop", Permission.OPERATE),
        ("rm web", "rm", Permission.DESTRUCTIVE),
        ("image prune", "prune", Permission.DESTRUCTIVE),
        ("cleanup", "cleanup", Permission.DESTRUCTIVE),
        ("cleanup --dry-run", "cleanup-preview", Permission.READ),
        ("cleanup status", "cleanup-preview", Permission.READ),
        ("audit", "audit", Permission.ADMIN),
        ("cancel 3", "cancel", Permission.READ),
    ],
)
def test_parsed_operations_carry_their_access(
    text: str, action: str, permission: Permission
) -> None:
    operation = parse_command(text).operation
    assert operation.access == Access(action=action, permission=permission)
    assert action_name(operation) == action


def test_destructive_actions() -> None:
    # What [approvals] required_for may name, in the order configuration errors list them.
    assert DESTRUCTIVE_ACTIONS == (
        "rm",
        "rmi",
        "volume rm",
        "upgrade",
        "rollback",
        "service update",
        "service scale",
        "service rollback",
        "prune",
        "cleanup",
    )
    assert Cleanup(dry_run=True).access is CleanupStatusQuery.access
