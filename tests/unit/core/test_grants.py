"""Scoped grants: coverage as pure functions, and the policy's decision with grants as a table
(who, what, which targets -> verdict and reason), with the engine's facts injected."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.command import ParsedCommand
from bot.core.freezes import Freeze
from bot.core.grants import (
    MAX_GRANT_TARGETS,
    ContainerFacts,
    Grant,
    Targets,
    coverage,
    glob_problems,
    targets_of,
)
from bot.core.parsing.parser import parse_command
from bot.core.policy import AccessRules, Actor, ConfiguredPolicy, Verdict
from bot.core.references import parse_image_reference
from bot.core.run_policy import RunPolicy

ALLOW, APPROVAL, DENY = Verdict.ALLOW, Verdict.NEEDS_APPROVAL, Verdict.DENY

RULES = AccessRules(
    roles={"viewer": ("*",), "operator": ("U0OPS",), "admin": ("U0ADMIN",)},
    channels=("C0OPS",),
    required_for=("rm",),
    approvers=("admin",),
)
GRANTS = (
    Grant(
        number=1,
        who=frozenset({"S0PAY"}),
        actions=frozenset({"restart", "logs"}),
        containers=("payments-web-*",),
        engines=frozenset({"prod"}),
    ),
    Grant(number=2, who=frozenset({"U0DEV"}), actions=frozenset({"stop", "rm"}), own=True),
    Grant(
        number=3,
        who=frozenset({"*"}),
        actions=frozenset({"run", "pull"}),
        images=("registry:5000/tools/*",),
    ),
    Grant(
        number=4,
        who=frozenset({"U0DEV"}),
        actions=frozenset({"restart"}),
        labels=(("team", "dev"),),
    ),
    Grant(number=5, who=frozenset({"U0STAGING"}), actions=frozenset({"prune", "stop"})),
)
CONTAINERS = {
    "payments-web-1": ContainerFacts(
        asked="", name="payments-web-1", container_id="a" * 64, image="nginx:1.27"
    ),
    "payments-db": ContainerFacts(
        asked="", name="payments-db", container_id="b" * 64, image="postgres:16"
    ),
    "mine": ContainerFacts(
        asked="", name="mine", container_id="c" * 64, labels={"chatops.owner": "U0DEV"}
    ),
    "yours": ContainerFacts(
        asked="", name="yours", container_id="d" * 64, labels={"chatops.owner": "U0OTHER"}
    ),
    "dev-api": ContainerFacts(
        asked="", name="dev-api", container_id="e" * 64, labels={"team": "dev"}
    ),
}
PAY = Actor(user_id="U0PAYER", channel_id="C0OPS", groups=frozenset({"S0PAY"}))
DEV = Actor(user_id="U0DEV", channel_id="C0OPS")
STAGING = Actor(user_id="U0STAGING", channel_id="C0OPS")
NOBODY = Actor(user_id="U0NOBODY", channel_id="C0OPS")


class Lookups:
    """The engine's answers, counting the calls (a grant must not cost a call it needs not)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, ...]] = []

    def __call__(self, names: tuple[str, ...]) -> tuple[ContainerFacts, ...]:
        self.asked.append(names)
        return tuple(
            dataclasses.replace(CONTAINERS[name], asked=name)
            if name in CONTAINERS
            else ContainerFacts(asked=name, name=None)
            for name in names
        )


def decide(actor: Actor, text: str, *, engine: str = "prod", **policy: Any) -> tuple[Any, ...]:
    lookups = Lookups()
    decision = ConfiguredPolicy(
        rules=RULES, run_policy=RunPolicy(), grants=GRANTS, **policy
    ).decide(actor=actor, command=parse_command(text), engine=engine, facts=lookups)
    return decision.verdict, decision.reason, lookups.asked


@pytest.mark.parametrize(
    ("actor", "text", "engine", "verdict", "reason"),
    [
        (
            PAY,
            "restart payments-web-1",
            "prod",
            ALLOW,
            "grant #1 (containers `payments-web-*` on prod)",
        ),
        (
            PAY,
            "restart payments-db",
            "prod",
            DENY,
            "your grant #1 covers containers `payments-web-*` on prod, not payments-db; "
            "`restart` needs the operator role ([roles] operator); you are viewer",
        ),
        # Every target must be covered, or nothing runs.
        (PAY, "restart payments-web-1 payments-db", "prod", DENY, "not payments-db;"),
        # The grant's engines bound it.
        (PAY, "restart payments-web-1", "staging", DENY, "`restart` needs the operator role"),
        (PAY, "stop payments-web-1", "prod", DENY, "`stop` needs the operator role"),
        (PAY, "restart nosuch", "prod", DENY, "not nosuch (no such container);"),
        (DEV, "stop mine", "prod", ALLOW, "grant #2 (containers you ran)"),
        (DEV, "stop yours", "prod", DENY, "your grant #2 covers containers you ran, not yours"),
        # Approvals still apply to what a grant covers.
        (
            DEV,
            "rm mine",
            "prod",
            APPROVAL,
            "needs approval by admin ([approvals] required_for); "
            "requested under grant #2 (containers you ran)",
        ),
        (DEV, "restart dev-api", "prod", ALLOW, "grant #4 (label `team=dev`)"),
        (DEV, "restart mine", "prod", DENY, "your grant #4 covers label `team=dev`, not mine"),
        (NOBODY, "run registry:5000/tools/debug:1 sh", "prod", ALLOW, "grant #3"),
        (
            NOBODY,
            "run nginx",
            "prod",
            DENY,
            "your grant #3 covers images `registry:5000/tools/*`, not nginx:latest",
        ),
        (NOBODY, "pull registry:5000/tools/debug:2", "prod", ALLOW, "grant #3"),
        # A grant without an object scope covers everything on its engines, listings included.
        (STAGING, "container prune -f", "prod", ALLOW, "grant #5 (everything)"),
        (STAGING, "stop payments-db", "prod", ALLOW, "grant #5 (everything)"),
        # A scoped grant never covers an engine-wide action.
        (PAY, "logs payments-web-1", "prod", ALLOW, "viewer via *"),
    ],
)
def test_grants_table(actor: Actor, text: str, engine: str, verdict: Verdict, reason: str) -> None:
    got_verdict, got_reason, _ = decide(actor, text, engine=engine)
    assert (got_verdict, reason in got_reason) == (verdict, True), got_reason


def test_the_engine_is_asked_only_when_a_grant_could_apply() -> None:
    # The role allows: no lookup. No grant for the action: no lookup.
    assert decide(Actor(user_id="U0OPS", channel_id="C0OPS"), "restart payments-db")[2] == []
    assert decide(PAY, "stop payments-db")[2] == []
    # Positive control: the role refuses and grant #1 could apply: one lookup, of the targets.
    assert decide(PAY, "restart payments-db payments-web-1")[2] == [
        ("payments-db", "payments-web-1")
    ]


def test_a_grant_lifts_no_channel_refusal_nor_a_freeze() -> None:
    elsewhere = Actor(user_id="U0PAYER", channel_id="C0RANDOM", groups=frozenset({"S0PAY"}))
    verdict, reason, asked = decide(elsewhere, "restart payments-web-1")
    assert verdict is DENY and "does not take commands in channel C0RANDOM" in reason
    assert asked == []
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    freeze = Freeze(reason="release", start=now - timedelta(hours=1), end=now + timedelta(hours=1))
    verdict, reason, _ = decide(PAY, "restart payments-web-1", freezes=(freeze,), clock=lambda: now)
    assert verdict is DENY and "frozen" in reason and "release" in reason


def test_too_many_targets_are_refused_before_any_lookup() -> None:
    names = " ".join(f"payments-web-{i}" for i in range(MAX_GRANT_TARGETS + 1))
    verdict, reason, asked = decide(PAY, f"restart {names}")
    assert verdict is DENY and f"at most {MAX_GRANT_TARGETS} containers" in reason and asked == []


def test_without_facts_a_scoped_grant_covers_nothing() -> None:
    policy = ConfiguredPolicy(rules=RULES, run_policy=RunPolicy(), grants=GRANTS)
    decision = policy.decide(
        actor=PAY, command=parse_command("restart payments-web-1"), engine="prod"
    )
    assert decision.verdict is DENY


def test_a_run_under_a_container_scope_must_be_named_inside_it() -> None:
    grant = Grant(
        number=1,
        who=frozenset({"*"}),
        actions=frozenset({"run"}),
        containers=("debug-*",),
        images=("busybox:*",),
    )
    inside = parse_command("run --name debug-1 busybox sh").operation
    outside = parse_command("run --name web busybox sh").operation
    unnamed = parse_command("run busybox sh").operation
    for operation, whole in ((inside, True), (outside, False), (unnamed, False)):
        found = coverage(grant, targets=targets_of(operation), facts=(), user_id="U0X")
        assert found.whole is whole, operation


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"containers": ("payments web",)}, "can match no container name"),
        ({"containers": ("",)}, "can match no container name"),
        ({"images": ("nginx latest",)}, "can match no image reference"),
        ({"labels": (("", "x"),)}, "a label needs a key"),
    ],
)
def test_globs_that_can_match_nothing(kwargs: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Grant(number=1, who=frozenset({"*"}), actions=frozenset({"logs"}), **kwargs)


def test_globs_with_sets_and_wildcards_are_accepted() -> None:
    grant = Grant(
        number=1,
        who=frozenset({"*"}),
        actions=frozenset({"logs"}),
        containers=("web-[0-9]*", "api?"),
        images=("registry:5000/team/*@sha256:*",),
    )
    assert glob_problems(grant) == []


_NAMES = st.from_regex(r"[a-z][a-z0-9_.-]{0,12}", fullmatch=True)


@given(
    targets=st.lists(_NAMES, min_size=1, max_size=5),
    extra=_NAMES,
    globs=st.lists(st.from_regex(r"[a-z*?]{1,6}", fullmatch=True), min_size=1, max_size=3),
)
def test_adding_a_target_never_makes_a_command_covered(
    targets: list[str], extra: str, globs: list[str]
) -> None:
    """Coverage is all-or-nothing over targets: a command with one more target is covered
    only if the shorter one was (the grant can only fail closed)."""
    grant = Grant(
        number=1, who=frozenset({"*"}), actions=frozenset({"stop"}), containers=tuple(globs)
    )

    def covered(names: list[str]) -> bool:
        facts = tuple(ContainerFacts(asked=n, name=n) for n in names)
        found = coverage(grant, targets=Targets(containers=tuple(names)), facts=facts, user_id="U")
        return found.whole

    if covered([*targets, extra]):
        assert covered(targets)


@given(name=_NAMES)
def test_a_missing_container_is_never_covered(name: str) -> None:
    grant = Grant(number=1, who=frozenset({"*"}), actions=frozenset({"stop"}), containers=("*",))
    missing = (ContainerFacts(asked=name, name=None),)
    found = coverage(grant, targets=Targets(containers=(name,)), facts=missing, user_id="U")
    assert not found.whole


def test_targets_of_images() -> None:
    upgrade = parse_command("upgrade --image nginx:1.27 web").operation
    assert targets_of(upgrade) == Targets(
        containers=("web",), images=(parse_image_reference("nginx:1.27"),)
    )
    assert targets_of(parse_command("ps -a").operation) == Targets()
    assert not ParsedCommand(operation=parse_command("ps").operation).warnings


def test_what_a_grant_allows_runs_on_the_ids_it_was_judged_on() -> None:
    """The name (or an ID prefix another container could take meanwhile) is not looked up
    again: the operation and an approval's plan act on the checked containers' full IDs."""
    policy = ConfiguredPolicy(rules=RULES, run_policy=RunPolicy(), grants=GRANTS)
    allowed = policy.decide(
        actor=DEV, command=parse_command("stop -t 0 mine"), engine="prod", facts=Lookups()
    )
    assert allowed.verdict is ALLOW
    assert allowed.operation == parse_command(f"stop -t 0 {'c' * 64}").operation
    waiting = policy.decide(
        actor=DEV, command=parse_command("rm mine"), engine="prod", facts=Lookups()
    )
    assert waiting.verdict is APPROVAL
    assert waiting.operation == parse_command(f"rm {'c' * 64}").operation
    logs = policy.decide(
        actor=PAY, command=parse_command("inspect payments-web-1"), engine="prod", facts=Lookups()
    )
    assert logs.verdict is ALLOW and logs.operation is None  # a viewer's read: the role allows
    # A container the engine gave no ID for is never acted on by a grant.
    no_id = ContainerFacts(asked="mine", name="mine", labels={"chatops.owner": "U0DEV"})
    refused = policy.decide(
        actor=DEV,
        command=parse_command("stop mine"),
        engine="prod",
        facts=lambda names: (no_id,),
    )
    assert refused.verdict is DENY and "could not be pinned" in refused.reason


@pytest.mark.parametrize(
    ("text", "allowed"),
    [
        ("run registry:5000/tools/debug:1 sh", True),
        ("run -v /data registry:5000/tools/debug:1 sh", True),  # an anonymous volume: its own
        ("run -v team-vol:/d registry:5000/tools/debug:1 cat /d/secret", False),
        ("run -v /etc:/host registry:5000/tools/debug:1 sh", False),
        ("run --network container:db registry:5000/tools/debug:1 sh", False),
        ("run --pid container:db registry:5000/tools/debug:1 sh", False),
        ("run --network team-payments-internal registry:5000/tools/debug:1 sh", False),
        ("run --userns host registry:5000/tools/debug:1 sh", False),
        ("run --network bridge registry:5000/tools/debug:1 sh", True),
    ],
)
def test_a_run_a_grant_allows_reaches_nothing_the_grant_does_not_name(
    text: str, allowed: bool
) -> None:
    permissive = RunPolicy(
        allow_host_namespaces=True,
        network_allowlist=("container:*", "team-*"),
        host_path_allowlist=("/etc",),
    )
    policy = ConfiguredPolicy(rules=RULES, run_policy=permissive, grants=GRANTS)
    decision = policy.decide(actor=NOBODY, command=parse_command(text), engine="prod")
    assert (decision.verdict is ALLOW) is allowed, decision.reason
    if not allowed:
        assert "a `run` that a grant allows mounts no named volume" in decision.reason
    # Positive control: an operator's same run is judged by the run policy alone, which
    # allows the host path and the namespaces here.
    if text.startswith(("run -v /etc", "run --pid")):
        operator = Actor(user_id="U0OPS", channel_id="C0OPS")
        judged = policy.decide(actor=operator, command=parse_command(text), engine="prod")
        assert judged.verdict is ALLOW, judged.reason


@pytest.mark.parametrize(
    ("reference", "covered"),
    [
        ("registry:5000/tools/debug:1", True),
        ("registry:5000/tools/x/y:1", False),  # * stays within one path component
        ("registry:5000/tools/debug@sha256:" + "a" * 64, True),
    ],
)
def test_an_image_glob_stays_within_its_path_components(reference: str, covered: bool) -> None:
    targets = Targets(images=(parse_image_reference(reference),))
    found = coverage(GRANTS[2], targets=targets, facts=(), user_id="U0X")
    assert found.whole is covered


def test_a_tag_glob_does_not_cover_a_host_of_that_name() -> None:
    grant = Grant(number=1, who=frozenset({"*"}), actions=frozenset({"pull"}), images=("nginx:*",))
    hosted = Targets(images=(parse_image_reference("nginx:5000/evil"),))
    assert not coverage(grant, targets=hosted, facts=(), user_id="U").whole
    tagged = Targets(images=(parse_image_reference("nginx:1.27"),))
    assert coverage(grant, targets=tagged, facts=(), user_id="U").whole
