"""The run policy matrix: every refused option (both spellings), path tricks, images, limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import run_policy
from bot.core.operations import RunContainer
from bot.core.parsing.parser import parse_command
from bot.core.policy import AccessRules, Actor, ConfiguredPolicy, Verdict
from bot.core.references import parse_image_reference
from bot.core.run_policy import RunPolicy, image_violation, run_violations, with_defaults
from bot.errors import ParseError
from bot.settings import RunPolicySettings

STRICT = RunPolicy()


def configured(**values: Any) -> RunPolicy:
    """A run policy as the bot builds it: checked by the settings, translated by bot.config."""
    return run_policy(RunPolicySettings(**values))


def run(text: str) -> RunContainer:
    operation = parse_command(f"run {text}").operation
    assert isinstance(operation, RunContainer)
    return operation


@pytest.mark.parametrize(
    ("options", "refused", "setting"),
    [
        ("--privileged", "`--privileged`", "allow_privileged = true"),
        ("--cap-add NET_ADMIN", "`--cap-add NET_ADMIN`", 'allow_cap_add = ["NET_ADMIN"]'),
        ("--cap-add=cap_sys_admin", "`--cap-add cap_sys_admin`", 'allow_cap_add = ["SYS_ADMIN"]'),
        ("--network host", "`--network host`", "allow_host_network = true"),
        ("--net=container:db", "`--network container:db`", "allow_host_network = true"),
        ("--pid host", "`--pid host`", "allow_host_namespaces = true"),
        ("--ipc=host", "`--ipc host`", "allow_host_namespaces = true"),
        ("--uts host", "`--uts host`", "allow_host_namespaces = true"),
        ("--userns host", "`--userns host`", "allow_host_namespaces = true"),
        ("--pid container:web", "`--pid container:web`", "allow_host_namespaces = true"),
        ("--device /dev/sda", "`--device /dev/sda`", "allow_devices = true"),
        (
            "--security-opt seccomp=unconfined",
            "`--security-opt seccomp=unconfined`",
            "allow_unconfined = true",
        ),
        (
            "--security-opt seccomp:unconfined",
            "`--security-opt seccomp:unconfined`",
            "allow_unconfined = true",
        ),
        ("--security-opt apparmor=unconfined", "apparmor=unconfined", "allow_unconfined = true"),
        ("--security-opt apparmor:unconfined", "apparmor:unconfined", "allow_unconfined = true"),
        (
            "-v /var/run/docker.sock:/var/run/docker.sock",
            "Docker socket",
            "allow_docker_socket = true",
        ),
        ("-v /var/run/docker.sock:/s:ro", "Docker socket", "allow_docker_socket = true"),
        ("-v /run:/hostrun", "Docker socket", "allow_docker_socket = true"),
        ("-v /:/host", "Docker socket", "allow_docker_socket = true"),
        ("-v //var//run/./docker.sock:/s", "Docker socket", "allow_docker_socket = true"),
        ("-v /run/./docker.sock/:/s", "Docker socket", "allow_docker_socket = true"),
        ("-v /srv/../var/run:/x", "contains '..'", "exact path"),
        # Allowlists, not denylists: what the bot cannot judge is refused.
        (
            '--security-opt seccomp={"defaultAction":"SCMP_ACT_ALLOW"}',
            "seccomp={",
            "allow_security_opt",
        ),
        ("--security-opt seccomp=/etc/docker/allow-all.json", "seccomp=", "allow_security_opt"),
        ("--security-opt disable", "`--security-opt disable`", "allow_security_opt"),
        (
            "--security-opt label=type:spc_t",
            "label=type:spc_t",
            'allow_security_opt = ["label=type:spc_t"]',
        ),
        (
            "--security-opt label:type:spc_t",
            "label:type:spc_t",
            'allow_security_opt = ["label=type:spc_t"]',
        ),
        ("--security-opt label=disable", "label=disable", "allow_unconfined = true"),
        (
            "--security-opt apparmor=my-wide-profile",
            "apparmor=my-wide-profile",
            "allow_security_opt",
        ),
        ("--security-opt writable-cgroups=true", "writable-cgroups=true", "allow_security_opt"),
        (
            "--security-opt systempaths=unconfined",
            "systempaths=unconfined",
            "allow_unconfined = true",
        ),
        ("--pid=ns:/proc/1/ns/pid", "--pid ns:/proc/1/ns/pid", "allow_host_namespaces"),
        ("--ipc weird", "--ipc weird", "private, shareable"),
        ("--network ns:/proc/1/ns/net", "not a network name", "--network"),
        # Any other network may reach what a stack shields (its socket proxy, its database).
        (
            "--network docker-chatops_engine",
            "`--network docker-chatops_engine`",
            'network_allowlist = ["docker-chatops_engine"]',
        ),
        ("--net=backend", "`--network backend`", 'network_allowlist = ["backend"]'),
        ("--network default", "`--network default`", "network_allowlist"),
    ],
)
def test_refused_options_name_the_setting(options: str, refused: str, setting: str) -> None:
    problems = run_violations(run(f"{options} busybox"), STRICT)
    assert len(problems) == 1, problems
    assert refused in problems[0] and setting in problems[0]


@pytest.mark.parametrize(
    ("options", "policy"),
    [
        ("--privileged", configured(allow_privileged=True)),
        ("--cap-add NET_ADMIN", configured(allow_cap_add=["NET_ADMIN"])),
        ("--cap-add CAP_NET_ADMIN", configured(allow_cap_add=["net_admin"])),
        ("--cap-add SYS_TIME", configured(allow_cap_add=["*"])),
        ("--network host", configured(allow_host_network=True)),
        ("--network container:db", configured(allow_host_network=True)),
        ("--pid host", configured(allow_host_namespaces=True)),
        ("--device /dev/fuse", configured(allow_devices=True)),
        ("--security-opt seccomp:unconfined", configured(allow_unconfined=True)),
        ("-v /var/run/docker.sock:/s", configured(allow_docker_socket=True)),
        ("-v /srv/data:/data", configured(host_path_allowlist=["/srv/data"])),
        ("-v /srv//data/:/data", configured(host_path_allowlist=["/srv/data/"])),
        ("-v /etc/app/conf.d:/c:ro", configured(host_path_readonly_trees=["/etc/app"])),
        ("-v /etc/app:/c:ro", configured(host_path_readonly_trees=["/etc/app"])),
        ("--network bridge --pid private --cap-drop ALL --security-opt no-new-privileges", STRICT),
        ("--network backend", configured(network_allowlist=["backend"])),
        ("--network team-web", configured(network_allowlist=["other", "team-*"])),
        ("--security-opt no-new-privileges:true --security-opt=no-new-privileges=1", STRICT),
        ("--security-opt apparmor=docker-default --ipc shareable --network none", STRICT),
        (
            "--security-opt label=level:s0:c100",
            configured(allow_security_opt=["label:level:s0:c100"]),
        ),
        ("--security-opt label=disable", configured(allow_unconfined=True)),
        ("-v named:/data -v /anonymous", STRICT),
    ],
)
def test_allowed_when_configured(options: str, policy: RunPolicy) -> None:
    assert run_violations(run(f"{options} busybox"), policy) == []


def test_host_paths_are_decided_without_looking_at_the_bots_filesystem(tmp_path: Path) -> None:
    # The engine resolves bind sources on its own host: a symlink a container planted in an
    # allowed folder (ln -s / /srv/shared/root) must not be mountable, whatever the bot sees.
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "root").symlink_to("/")
    policy = configured(host_path_allowlist=[str(allowed)])
    assert run_violations(run(f"-v {allowed}:/x busybox"), policy) == []
    assert run_violations(run(f"-v {allowed}:/x:ro busybox"), policy) == []
    for trick in (f"{allowed}/root", f"{allowed}/root/etc", f"{allowed}/sub", f"{allowed}/../x"):
        [problem] = run_violations(run(f"-v {trick}:/x busybox"), policy)
        assert ("host path" in problem and "host_path_allowlist" in problem) or "'..'" in problem
    sibling = tmp_path / "allowed-but-not"
    [problem] = run_violations(run(f"-v {sibling}:/x busybox"), policy)
    assert "host_path_allowlist" in problem


def test_readonly_trees_take_sub_paths_read_only_only() -> None:
    policy = configured(host_path_readonly_trees=["/etc/app"])
    assert run_violations(run("-v /etc/app/site:/s:ro busybox"), policy) == []
    [problem] = run_violations(run("-v /etc/app/site:/s busybox"), policy)
    assert "read-only (`:ro`)" in problem
    [problem] = run_violations(run("-v /etc/application:/s:ro busybox"), policy)
    assert "is not allowed" in problem


@pytest.mark.parametrize(
    ("exact", "trees"),
    [
        (["/srv", "/srv/shared"], []),  # a container writing /srv replaces /srv/shared
        (["/srv/shared"], ["/srv"]),  # a writable entry inside a read-only tree
        (["/srv"], ["/srv/conf"]),  # a read-only tree inside a writable entry
        (["/srv/a"], ["/srv/a"]),
    ],
)
def test_nested_host_path_entries_stop_start_up(exact: list[str], trees: list[str]) -> None:
    with pytest.raises(ValueError, match="overlap"):
        RunPolicySettings(host_path_allowlist=exact, host_path_readonly_trees=trees)


def test_host_path_entries_are_cleaned_and_checked() -> None:
    policy = RunPolicySettings(host_path_allowlist=["/srv//shared/"])
    assert policy.host_path_allowlist == ["/srv/shared"]
    with pytest.raises(ValueError, match=r"contains '\.\.'"):
        RunPolicySettings(host_path_readonly_trees=["/srv/../etc"])


def test_every_problem_is_reported() -> None:
    problems = run_violations(run("--privileged --device /dev/sda -v /etc:/etc busybox"), STRICT)
    assert len(problems) == 3


def test_long_option_values_are_not_echoed_whole() -> None:
    profile = '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[' + '"x",' * 500 + '"y"]}'
    [problem] = run_violations(run(f"--security-opt 'seccomp={profile}' busybox"), STRICT)
    assert len(problem) < 400


@pytest.mark.parametrize(
    ("image", "allowlist", "allowed"),
    [
        ("nginx", ["nginx"], True),
        ("docker.io/library/nginx:1.27", ["nginx"], True),
        ("library/nginx@sha256:" + "a" * 64, ["docker.io/library/nginx"], True),
        ("nginx", ["bitnami/nginx"], False),
        ("evil/nginx", ["nginx"], False),
        ("registry.internal:5000/team/app:v1", ["registry.internal:5000/team/*"], True),
        ("registry.internal:5000/other/app", ["registry.internal:5000/team/*"], False),
        ("anything/at:all", [], True),
    ],
)
def test_image_allowlist(image: str, allowlist: list[str], allowed: bool) -> None:
    policy = configured(image_allowlist=allowlist)
    refused = image_violation(parse_image_reference(image), policy)
    assert (refused is None) is allowed
    if refused:
        assert "image_allowlist" in refused


def test_default_limits() -> None:
    policy = configured(default_memory="256m", default_cpus=0.5)
    adjusted = with_defaults(run("busybox"), policy)
    assert adjusted.memory_bytes == 256 * 2**20 and adjusted.nano_cpus == 500_000_000
    explicit = with_defaults(run("-m 1g --cpus 2 busybox"), policy)
    assert explicit.memory_bytes == 2**30 and explicit.nano_cpus == 2_000_000_000
    assert with_defaults(run("busybox"), STRICT) == run("busybox")


def test_bad_policy_settings() -> None:
    with pytest.raises(ValueError, match="absolute"):
        RunPolicySettings(host_path_allowlist=["srv"])
    with pytest.raises(ValueError, match="Invalid size"):
        RunPolicySettings(default_memory="lots")
    with pytest.raises(ValueError, match="Invalid image reference"):
        RunPolicySettings(image_allowlist=["UPPER"])


def test_network_allowlist_globs_match_whole_names_only() -> None:
    policy = configured(network_allowlist=["team-*"])
    for name in ("teams-web", "xteam-web", "team"):
        [problem] = run_violations(run(f"--network {name} busybox"), policy)
        assert "network_allowlist" in problem


@pytest.mark.parametrize("value", ["host", "bad name", "container:db", ""])
def test_network_allowlist_refuses_what_is_not_a_network_name(value: str) -> None:
    with pytest.raises(ValueError, match="network_allowlist"):
        RunPolicySettings(network_allowlist=[value])


def test_with_defaults_labels_the_owner_unless_an_admin_named_one() -> None:
    labelled = with_defaults(run("busybox"), STRICT, owner="U0ALICE")
    assert ("chatops.owner", "U0ALICE") in labelled.labels
    kept = with_defaults(run("-l chatops.owner=U0BOB busybox"), STRICT, owner="U0ALICE")
    assert [v for k, v in kept.labels if k == "chatops.owner"] == ["U0BOB"]
    assert with_defaults(run("busybox"), STRICT).labels == ()


def test_the_process_limit_is_a_default_and_a_ceiling() -> None:
    policy = configured()  # pids_limit = 4096 unless configured
    assert with_defaults(run("busybox"), policy).pids_limit == 4096
    assert with_defaults(run("--pids-limit 100 busybox"), policy).pids_limit == 100
    [problem] = run_violations(run("--pids-limit 5000 busybox"), policy)
    assert "`--pids-limit 5000`" in problem and "pids_limit = 5000" in problem
    unlimited = configured(pids_limit=0)
    assert with_defaults(run("busybox"), unlimited).pids_limit is None
    assert run_violations(run("--pids-limit 5000 busybox"), unlimited) == []


@pytest.mark.parametrize("value", ["0", "-1", "x", "1.5", ""])
def test_pids_limit_takes_a_positive_count(value: str) -> None:
    with pytest.raises(ParseError, match="--pids-limit"):
        parse_command(f"run --pids-limit={value} busybox")


def test_an_upgrade_to_an_image_the_allowlist_refuses_is_denied_before_any_approval() -> None:
    policy = ConfiguredPolicy(
        rules=AccessRules(
            roles={"viewer": ("*",), "operator": ("U0OPS",), "admin": ()},
            required_for=("upgrade",),
        ),
        run_policy=configured(image_allowlist=["registry.example:5000/team/*"]),
    )
    actor = Actor(user_id="U0OPS")

    def verdict(text: str) -> Verdict:
        return policy.decide(actor=actor, command=parse_command(text), engine="default").verdict

    assert verdict("upgrade --image evil/app:1 web") is Verdict.DENY
    # Positive controls: the allowed repository, and an upgrade along the container's own.
    assert verdict("upgrade --image registry.example:5000/team/app:2 web") is Verdict.NEEDS_APPROVAL
    assert verdict("upgrade web") is Verdict.NEEDS_APPROVAL
