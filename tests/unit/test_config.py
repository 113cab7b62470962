"""The settings as the core's plain values: what bot.config hands the policy."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.config import (
    access_rules,
    configured_policy,
    notification_rules,
    quiet_hours,
    run_policy,
)
from bot.core.command import ParsedCommand
from bot.core.notices.rules import NoticeKind
from bot.core.operations import RunContainer
from bot.core.parsing.parser import parse_command
from bot.core.policy import AccessRules, Actor, Verdict
from bot.core.run_policy import RunPolicy
from bot.errors import ConfigError
from bot.settings import Settings, load_settings


def settings(**values: Any) -> Settings:
    return load_settings(_env_file=None, **values)


def test_access_rules() -> None:
    configured = settings(
        roles={"operator": ["U0OPS", "S0PLATFORM"], "admin": ["U0ADMIN"]},
        access={"channels": ["C0OPS", "C0PROD"]},
        approvals={"required_for": ["rm"], "approvers": ["admin", "S0SRE"]},
        engines={
            "local": {"url": "unix:///var/run/docker.sock", "default": True},
            "prod": {"url": "tcp://prod:2376", "channels": ["C0PROD"]},
        },
    )
    assert access_rules(configured) == AccessRules(
        roles={"viewer": ("*",), "operator": ("U0OPS", "S0PLATFORM"), "admin": ("U0ADMIN",)},
        channels=("C0OPS", "C0PROD"),
        required_for=("rm",),
        approvers=("admin", "S0SRE"),
        engine_channels={"local": (), "prod": ("C0PROD",)},
    )


def test_default_access_rules() -> None:
    rules = access_rules(settings())
    assert rules.roles == {"viewer": ("*",), "operator": (), "admin": ()}
    assert rules.required_for == (
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
    assert rules.approvers == ("admin",) and rules.channels == ()


def test_run_policy() -> None:
    policy = run_policy(
        settings(
            docker_host="unix:///srv/docker.sock",
            run_policy={
                "allow_cap_add": ["NET_ADMIN"],
                "allow_security_opt": ["label:level:s0"],
                "host_path_allowlist": ["/srv//data/"],
                "default_memory": "256m",
                "default_cpus": 0.5,
                "allow_mount_options": ["z"],
            },
        ).run_policy
    )
    assert policy == RunPolicy(
        allow_cap_add=("NET_ADMIN",),
        allow_security_opt=("label=level:s0",),
        allow_mount_options=("z",),
        engine_sockets=("/srv/docker.sock",),
        host_path_allowlist=("/srv/data",),
        default_memory_bytes=256 * 2**20,
        default_cpus=0.5,
        pids_limit=4096,  # on by default
    )
    assert run_policy(settings().run_policy).default_memory_bytes is None
    assert run_policy(settings(run_policy={"pids_limit": 0}).run_policy).pids_limit is None


def test_configured_policy_applies_both() -> None:
    policy = configured_policy(
        settings(roles={"operator": ["U0OPS"]}, run_policy={"default_memory": "64m"})
    )
    operator, viewer = Actor(user_id="U0OPS"), Actor(user_id="U0ANYONE")
    command = parse_command("run busybox")
    decision = policy.decide(actor=operator, command=command, engine="default")
    assert decision.verdict is Verdict.ALLOW
    assert isinstance(decision.operation, RunContainer)
    assert decision.operation.memory_bytes == 64 * 2**20
    refused = policy.decide(
        actor=operator, command=parse_command("run --privileged busybox"), engine="default"
    )
    assert refused.verdict is Verdict.DENY and "allow_privileged" in refused.reason
    assert policy.decide(actor=viewer, command=command, engine="default").verdict is Verdict.DENY
    listing = ParsedCommand(operation=parse_command("ps").operation)
    assert policy.decide(actor=viewer, command=listing, engine="default").verdict is Verdict.ALLOW


def test_notification_rules_per_engine_override_the_global_table() -> None:
    settings = load_settings(
        notifications={"channel": "C0OPS", "exclude": ["ci-*"], "restart_loop": "4 in 2m"},
        engines={
            "prod": {
                "url": "unix:///prod.sock",
                "default": True,
                "notifications": {"channel": "C0PROD", "events": ["crash", "oom"]},
            },
            "ci": {"url": "unix:///ci.sock", "notifications": {"events": []}},
            "lab": {"url": "unix:///lab.sock"},
        },
    )
    rules = notification_rules(settings, ["prod", "ci", "lab"])
    assert set(rules) == {"prod", "lab"}  # ci: no event kinds, not watched
    assert rules["prod"].channel == "C0PROD"
    assert rules["prod"].kinds == {NoticeKind.CRASH, NoticeKind.OOM}
    assert rules["prod"].exclude == ("ci-*",)  # inherited
    assert rules["lab"].restart_loop.count == 4
    assert notification_rules(load_settings(), ["default"]) == {}  # no channel: none


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"notifications": {"channel": "C0OPS", "events": ["crsh"]}}, "notifications.events"),
        ({"notifications": {"channel": "C0OPS", "restart_loop": "1 in 5m"}}, "at least 2"),
        ({"notifications": {"channel": "C0OPS", "group_window": "soon"}}, "group_window"),
        ({"notifications": {"channel": "#ops"}}, "notifications.channel"),
        ({"notifications": {"chanel": "C0OPS"}}, "chanel"),
    ],
)
def test_notification_mistakes_stop_start_up(overrides: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        load_settings(**overrides)


def test_notices_must_go_where_their_buttons_may_act() -> None:
    served_elsewhere = load_settings(
        notifications={"channel": "C0ALERTS"}, access={"channels": ["C0OPS"]}
    )
    with pytest.raises(ConfigError, match="not in \\[access\\] channels"):
        notification_rules(served_elsewhere, ["default"])
    bound = load_settings(
        notifications={"channel": "C0OPS"},
        engines={"prod": {"url": "unix:///p.sock", "default": True, "channels": ["C0PROD"]}},
    )
    with pytest.raises(ConfigError, match=r"engines\.prod\.notifications"):
        notification_rules(bound, ["prod"])


FREEZE_NOW = datetime(2026, 12, 21, 12, 0, tzinfo=UTC)


def test_a_freeze_refuses_changes_with_reason_and_end_and_never_reads() -> None:
    policy = configured_policy(
        settings(
            roles={"operator": ["U0OPS"], "admin": ["U0ADMIN"]},
            freeze=[
                {
                    "reason": "year-end freeze",
                    "start": "2026-12-20T18:00:00",
                    "end": "2027-01-04T08:00:00",
                    "timezone": "Europe/Berlin",
                },
                {
                    "reason": "release train",
                    "schedule": "0 9 * 2 1",
                    "duration": "2h",
                    "actions": ["upgrade"],
                },
            ],
        ),
        clock=lambda: FREEZE_NOW,
    )
    operator, admin = Actor(user_id="U0OPS"), Actor(user_id="U0ADMIN")
    stop = parse_command("stop web")
    refused = policy.decide(actor=operator, command=stop, engine="default")
    assert refused.verdict is Verdict.DENY
    assert refused.reason == (
        "changes are frozen until 2027-01-04 08:00 CET: year-end freeze ([[freeze]])"
    )
    asked = policy.decide(actor=admin, command=stop, engine="default")
    assert asked.verdict is Verdict.NEEDS_APPROVAL and "another admin's approval" in asked.reason
    ps = parse_command("ps")
    assert policy.decide(actor=operator, command=ps, engine="default").verdict is Verdict.ALLOW
    # Silencing a noisy container changes the bot's notices, not the engine: never frozen.
    for text in ("silence web 1h", "unsilence 3"):
        quieting = policy.decide(actor=operator, command=parse_command(text), engine="default")
        assert quieting.verdict is Verdict.ALLOW, text
    # Positive control: the same stop after the window.
    after = configured_policy(
        settings(
            roles={"operator": ["U0OPS"]},
            freeze=[{"reason": "r", "start": "2026-12-01T00:00:00Z", "end": "2026-12-02T00:00Z"}],
        ),
        clock=lambda: FREEZE_NOW,
    )
    assert after.decide(actor=operator, command=stop, engine="default").verdict is Verdict.ALLOW


def test_a_role_refusal_is_not_dressed_as_a_freeze() -> None:
    policy = configured_policy(
        settings(
            freeze=[{"reason": "r", "start": "2026-12-01T00:00Z", "end": "2027-01-01T00:00Z"}]
        ),
        clock=lambda: FREEZE_NOW,
    )
    refused = policy.decide(
        actor=Actor(user_id="U0ANYONE"), command=parse_command("stop web"), engine="default"
    )
    assert refused.verdict is Verdict.DENY and "operator role" in refused.reason


@pytest.mark.parametrize(
    ("freeze", "fragment"),
    [
        (
            [
                {
                    "reason": "r",
                    "start": "2026-12-01T00:00Z",
                    "end": "2027-01-01T00:00Z",
                    "engines": ["prod"],
                }
            ],
            "[[freeze]] #1 (r) names unknown engines prod; configured: default.",
        ),
        (
            [
                {"reason": "year end", "start": "2026-12-20T00:00Z", "end": "2027-01-04T00:00Z"},
                {"reason": "fridays", "schedule": "0 18 * * 5", "duration": "60h"},
            ],
            "[[freeze]] windows overlap with different reasons: 'year end'",
        ),
    ],
)
def test_freezes_that_stop_start_up(freeze: list[dict[str, Any]], fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        configured_policy(settings(freeze=freeze), clock=lambda: FREEZE_NOW)
    assert fragment in str(caught.value)


def test_the_same_reason_may_overlap_and_other_engines_do_not_clash() -> None:
    configured_policy(
        settings(
            engines={"a": {"url": "unix:///a", "default": True}, "b": {"url": "unix:///b"}},
            freeze=[
                {"reason": "year end", "start": "2026-12-20T00:00Z", "end": "2027-01-04T00:00Z"}
                | {"engines": ["a"]},
                {"reason": "year end", "start": "2027-01-01T00:00Z", "end": "2027-01-05T00:00Z"}
                | {"engines": ["a"]},
                {"reason": "fridays", "schedule": "0 18 * * 5", "duration": "60h"}
                | {"engines": ["b"], "actions": ["stop"]},
                {"reason": "upgrades", "start": "2026-12-24T00:00Z", "end": "2026-12-27T00:00Z"}
                | {"engines": ["b"], "actions": ["upgrade"]},
            ],
        ),
        clock=lambda: FREEZE_NOW,
    )


@pytest.mark.parametrize(
    ("grant", "fragment"),
    [
        (
            {"who": ["U0DEV"], "actions": ["restrat"]},
            "unknown action 'restrat' (did you mean 'restart'?)",
        ),
        ({"who": ["dana"], "actions": ["logs"]}, "'dana' is not a Slack user or user group ID"),
        ({"who": ["U0DEV"], "actions": ["logs"], "containrs": ["x"]}, "Extra inputs"),
        ({"who": ["U0DEV"], "actions": ["logs"], "labels": ["team"]}, "is not key=value"),
        (
            {"who": ["U0DEV"], "actions": ["logs"], "containers": ["payments web"]},
            "can match no container name",
        ),
        ({"who": [], "actions": ["logs"]}, "at least 1 item"),
    ],
)
def test_grants_that_stop_start_up(grant: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        settings(grants=[grant])


def test_a_grant_on_an_unknown_engine_stops_start_up() -> None:
    configured = settings(grants=[{"who": ["U0DEV"], "actions": ["logs"], "engines": ["prod"]}])
    with pytest.raises(ConfigError, match=re.escape("[[grants]] #1 names unknown engines prod")):
        configured_policy(configured)


def test_grants_reach_the_policy_numbered_as_in_the_file() -> None:
    configured = settings(
        roles={"viewer": ["*"]},
        grants=[
            {"who": ["U0DEV"], "actions": ["logs"], "containers": ["web-*"]},
            {"who": ["U0DEV", "operator"], "actions": ["stop"], "labels": ["team=dev"]},
        ],
    )
    found = configured_policy(configured).grants
    assert [grant.number for grant in found] == [1, 2]
    assert found[1].labels == (("team", "dev"),) and found[1].who == {"U0DEV", "operator"}


@pytest.mark.parametrize(
    ("notifications", "fragment"),
    [
        ({"quiet_hours": "22-07"}, "Invalid quiet_hours '22-07'"),
        ({"quiet_hours": "22:00-22:00"}, "it starts when it ends"),
        ({"quiet_hours": "22:00-07:00", "quiet_events": ["engine"]}, "always told at once"),
        ({"quiet_hours": "22:00-07:00", "quiet_events": ["crsh"]}, "quiet_events"),
        ({"quiet_hours": "22:00-07:00", "timezone": "Mars/Olympus"}, "not a time zone"),
    ],
)
def test_quiet_hours_that_stop_start_up(notifications: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        settings(notifications=notifications)


def test_quiet_hours_reach_the_notices() -> None:
    configured = settings(
        notifications={"quiet_hours": "22:00-07:00", "timezone": "Europe/Berlin"}
    ).notifications
    hours = quiet_hours(configured)
    assert hours is not None and hours.text() == "22:00-07:00"
    assert hours.kinds == {NoticeKind.CRASH, NoticeKind.UNHEALTHY, NoticeKind.RESTART_LOOP}
    assert hours.holds(datetime(2026, 12, 6, 21, 30, tzinfo=UTC))  # 22:30 in Berlin
    assert quiet_hours(settings().notifications) is None


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"registries": {"reg.example.com": {"username": "bot"}}}, "has no password"),
        (
            {"chatops_registry_passwords": '{"reg.example.com": "pw"}'},
            "names 'reg.example.com', which has no [registries",
        ),
        (
            {
                "registries": {"reg.example.com": {"username": "bot"}},
                "chatops_registry_passwords": "not json",
            },
            "is not a JSON object",
        ),
        (
            {
                "registries": {"https://reg.example.com/x": {"username": "bot"}},
                "chatops_registry_passwords": '{"https://reg.example.com/x": "pw"}',
            },
            "is not a registry host",
        ),
        ({"registries": {"reg.example.com": {"username": "bot", "password": "pw"}}}, "Extra"),
    ],
)
def test_registry_logins_that_stop_start_up(values: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        settings(**values)


def test_registry_logins_are_joined_with_their_passwords() -> None:
    configured = settings(
        registries={"reg.example.com:5000": {"username": "bot"}},
        chatops_registry_passwords='{"reg.example.com:5000": "s3cret"}',
    )
    assert configured.registry_credentials() == {"reg.example.com:5000": ("bot", "s3cret")}
    assert "s3cret" not in repr(configured)


@pytest.mark.parametrize(
    ("value", "ok"), [("1s", False), ("2s", True), ("60s", True), ("2h", False)]
)
def test_upgrade_recovery_after_is_bounded(value: str, ok: bool) -> None:
    if ok:
        assert settings(upgrades={"recovery_after": value}).upgrades.recovery_after == value
    else:
        with pytest.raises(ConfigError, match="recovery_after must be between 2s and 1h"):
            settings(upgrades={"recovery_after": value})


def test_registry_passwords_are_kept_out_of_logs() -> None:
    configured = settings(
        registries={"reg.example.com": {"username": "bot"}},
        chatops_registry_passwords='{"reg.example.com": "s3cret-pw"}',
    )
    assert "s3cret-pw" in configured.secret_values()
