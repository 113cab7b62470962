"""The authorization function as a table: (who, where, what) -> verdict and reason."""

from __future__ import annotations

import pytest

from bot.core.policy import AccessRules, Actor, Verdict, authorize
from bot.settings import AccessSettings, ApprovalSettings, RolesSettings

RULES = AccessRules(
    roles=RolesSettings(viewer=["*"], operator=["U0OPS", "S0PLATFORM"], admin=["U0ADMIN"]),
    access=AccessSettings(channels=["C0OPS", "C0PROD"]),
    approvals=ApprovalSettings(required_for=["rm", "rmi", "prune"], approvers=["admin"]),
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
        (VIEWER, "run", "local", DENY, "`run` needs the operator role ([roles] operator); you are viewer"),
        (VIEWER, "rm", "local", DENY, "`rm` needs the operator role to request it; you are viewer"),
        (OPERATOR, "run", "local", ALLOW, "operator via U0OPS"),
        (OPERATOR, "pull", "local", ALLOW, "operator via U0OPS"),
        (GROUP_OPERATOR, "stop", "local", ALLOW, "operator via S0PLATFORM"),
        (OPERATOR, "rm", "local", APPROVAL, "`rm` needs approval by admin ([approvals] required_for)"),
        (ADMIN, "rmi", "local", APPROVAL, "`rmi` needs approval by admin ([approvals] required_for)"),
        (ADMIN, "cleanup", "local", ALLOW, "admin via U0ADMIN"),
        (OPERATOR, "cleanup", "local", DENY, "`cleanup` needs the admin role ([roles] admin); you are operator"),
        (ADMIN, "run", "local", ALLOW, "admin via U0ADMIN"),
        (Actor(user_id="U0ANYONE", channel_id="C0RANDOM"), "ps", "local", DENY,
         "the bot does not take commands in channel C0RANDOM ([access] channels)"),
        (OPERATOR, "ps", "prod", DENY, "engine `prod` may only be used from C0PROD ([engines.prod] channels)"),
        (Actor(user_id="U0OPS", channel_id="C0PROD"), "run", "prod", ALLOW, "operator via U0OPS"),
    ],
)  # fmt: skip
def test_authorize(actor: Actor, action: str, engine: str, verdict: Verdict, reason: str) -> None:
    decision = authorize(actor=actor, action=action, engine=engine, rules=RULES)
    assert (decision.verdict, decision.reason) == (verdict, reason)


def test_nobody_without_a_role() -> None:
    rules = AccessRules(
        roles=RolesSettings(viewer=["U0ONLY"]), access=AccessSettings(),
        approvals=ApprovalSettings(),
    )  # fmt: skip
    decision = authorize(actor=Actor(user_id="U0OTHER"), action="ps", engine="x", rules=rules)
    assert decision.verdict is DENY
    assert decision.reason == "`ps` needs the viewer role ([roles] viewer); you hold no role"


def test_display_names_are_not_ids() -> None:
    with pytest.raises(ValueError, match="display names are not accepted"):
        RolesSettings(admin=["alice"])
    with pytest.raises(ValueError, match="not a Slack channel ID"):
        AccessSettings(channels=["#ops"])


def test_referenced_groups() -> None:
    assert RULES.referenced_groups() == frozenset({"S0PLATFORM"})
