"""The authorization function as a table: (who, where, what) -> verdict and reason."""

from __future__ import annotations

import pytest

from bot.core.operations import ACTIONS
from bot.core.policy import AccessRules, Actor, Verdict, authorize, has_role

RULES = AccessRules(
    roles={"viewer": ("*",), "operator": ("U0OPS", "S0PLATFORM"), "admin": ("U0ADMIN",)},
    channels=("C0OPS", "C0PROD"),
    required_for=("rm", "rmi", "prune"),
    approvers=("admin",),
    engine_channels={"prod": ("C0PROD",)},
)

VIEWER = Actor(user_id="U0ANYONE", channel_id="C0OPS")
OPERATOR = Actor(user_id="U0OPS", channel_id="C0OPS")
GROUP_OPERATOR = Actor(user_id="U0NEW", channel_id="C0OPS", groups=frozenset({"S0PLATFORM"}))
ADMIN = Actor(user_id="U0ADMIN", channel_id="C0OPS")

ALLOW, APPROVAL, DENY = Verdict.ALLOW, Verdict.NEEDS_APPROVAL, Verdict.DENY


@pytest.mark.parametrize(
    ("actor", "action", "engine", "verdict", "reason"),
    [
        (VIEWER, "ps", "local", ALLOW, "viewer via *"),
        (VIEWER, "logs", "local", ALLOW, "viewer via *"),
        (
            VIEWER,
            "run",
            "local",
            DENY,
            "`run` needs the operator role ([roles] operator); you are viewer",
        ),
        (VIEWER, "rm", "local", DENY, "`rm` needs the operator role to request it; you are viewer"),
        (OPERATOR, "run", "local", ALLOW, "operator via U0OPS"),
        (OPERATOR, "pull", "local", ALLOW, "operator via U0OPS"),
        (GROUP_OPERATOR, "stop", "local", ALLOW, "operator via S0PLATFORM"),
        (
            OPERATOR,
            "rm",
            "local",
            APPROVAL,
            "`rm` needs approval by admin ([approvals] required_for)",
        ),
        (
            ADMIN,
            "rmi",
            "local",
            APPROVAL,
            "`rmi` needs approval by admin ([approvals] required_for)",
        ),
        (ADMIN, "cleanup", "local", ALLOW, "admin via U0ADMIN"),
        (
            OPERATOR,
            "cleanup",
            "local",
            DENY,
            "`cleanup` needs the admin role ([roles] admin); you are operator",
        ),
        (ADMIN, "run", "local", ALLOW, "admin via U0ADMIN"),
        (
            Actor(user_id="U0ANYONE", channel_id="C0RANDOM"),
            "ps",
            "local",
            DENY,
            "the bot does not take commands in channel C0RANDOM ([access] channels)",
        ),
        (
            OPERATOR,
            "ps",
            "prod",
            DENY,
            "engine `prod` may only be used from C0PROD ([engines.prod] channels)",
        ),
        (Actor(user_id="U0OPS", channel_id="C0PROD"), "run", "prod", ALLOW, "operator via U0OPS"),
    ],
)
def test_authorize(actor: Actor, action: str, engine: str, verdict: Verdict, reason: str) -> None:
    decision = authorize(actor=actor, access=ACTIONS[action], engine=engine, rules=RULES)
    assert (decision.verdict, decision.reason) == (verdict, reason)


def test_nobody_without_a_role() -> None:
    rules = AccessRules(roles={"viewer": ("U0ONLY",)})
    decision = authorize(
        actor=Actor(user_id="U0OTHER"), access=ACTIONS["ps"], engine="x", rules=rules
    )
    assert decision.verdict is DENY
    assert decision.reason == "`ps` needs the viewer role ([roles] viewer); you hold no role"


def test_roles_nest() -> None:
    assert has_role("operator", "U0ADMIN", frozenset(), RULES)
    assert has_role("viewer", "U0NEW", frozenset({"S0PLATFORM"}), RULES)
    assert not has_role("admin", "U0OPS", frozenset(), RULES)
    assert not has_role("approver", "U0ADMIN", frozenset(), RULES)


def test_a_misspelt_role_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown roles admins"):
        AccessRules(roles={"admins": ("U0ADMIN",)})
