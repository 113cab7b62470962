"""Protected objects and what `run` may join or mount, on the private engine.

A container, network or volume labelled chatops.protected=true (and the bot's own container)
may be listed from chat and nothing else, whatever the role: refused at once, never put to
approvers. `--network` joins only bridge, none and the allowlist; a named volume is mounted
only if the bot made it or the allowlist names it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import docker
import docker.errors
import pytest

from bot.config import configured_policy
from bot.core.approvals import ApprovalRules, ApprovalService
from bot.core.cleanup import CleanupRules
from bot.core.operations import PruneContainers
from bot.core.pipeline import Pipeline, Reply
from bot.core.policy import Actor
from bot.core.protection import Protection
from bot.core.results import ApprovalRequested
from bot.engine.directory import DockerEngineDirectory
from bot.engine.docker_engine import DockerEngine, EngineLimits
from bot.errors import AccessDenied, Protected
from bot.settings import Settings
from bot.state.approvals import SqlApprovalRepository
from bot.state.database import open_database
from tests.conftest import AUDIT_KEY, TEST_IMAGE, Sandbox, make_settings

ADMIN = Actor(user_id="U0ADMIN", channel_id="C0OPS")
OPERATOR = Actor(user_id="U0OPS", channel_id="C0OPS")
PROTECTED = {"chatops.protected": "true"}


@dataclass(frozen=True, kw_only=True)
class Stack:
    """What a deployment shields: the bot's container (unlabelled, found by ID), a labelled
    proxy container, a labelled network and a labelled state volume."""

    own: str  # the "bot's own" container's full ID
    proxy: str  # a labelled container's name
    network: str
    volume: str


@pytest.fixture
def stack(api: docker.APIClient, sandbox: Sandbox) -> Iterator[Stack]:
    labels = sandbox.labels
    names = Stack(
        own=sandbox.name("own"),
        proxy=sandbox.name("proxy"),
        network=sandbox.name("engine-net"),
        volume=sandbox.name("state"),
    )
    api.create_network(names.network, labels=labels | PROTECTED)
    api.create_volume(names.volume, labels=labels | PROTECTED)
    own = api.create_container(TEST_IMAGE, ["sleep", "300"], name=names.own, labels=labels)
    api.start(own["Id"])
    proxy = api.create_container(
        TEST_IMAGE,
        ["sleep", "300"],
        name=names.proxy,
        labels=labels | PROTECTED,
        ports=[80],
        host_config=api.create_host_config(port_bindings={80: ("127.0.0.1", None)}),
    )
    api.start(proxy["Id"])
    yield Stack(own=own["Id"], proxy=names.proxy, network=names.network, volume=names.volume)
    for container in (own["Id"], proxy["Id"]):
        with contextlib.suppress(docker.errors.APIError):
            api.remove_container(container, force=True)
    with contextlib.suppress(docker.errors.APIError):
        api.remove_network(names.network)
    with contextlib.suppress(docker.errors.APIError):
        api.remove_volume(names.volume, force=True)


def settings_for(sandbox: Sandbox, **run_policy: Any) -> Settings:
    return make_settings(
        sandbox.docker_host,
        roles={"viewer": ["*"], "operator": ["U0OPS"], "admin": ["U0ADMIN"]},
        approvals={"required_for": ["rm", "rmi", "prune"]},
        run_policy=run_policy,
        run_wait_seconds=20,
    )


@pytest.fixture
def chat(sandbox: Sandbox, stack: Stack, tmp_path: Any) -> Iterator[ChatBot]:
    bot = ChatBot(sandbox=sandbox, own=stack.own, database=f"sqlite:///{tmp_path}/state.db")
    yield bot
    bot.close()


class ChatBot:
    """The pipeline as chat drives it: the configured policy and approvals, on an engine that
    believes it runs inside ``own``."""

    def __init__(self, *, sandbox: Sandbox, own: str, database: str, **run_policy: Any) -> None:
        settings = settings_for(sandbox, **run_policy)
        self.settings = settings
        self.engine = DockerEngine(
            name="default",
            url=sandbox.docker_host,
            limits=EngineLimits(run_wait_seconds=20),
            volume_allowlist=tuple(settings.run_policy.volume_allowlist),
            protection=Protection(own_container_ids=frozenset({own})),
        )
        self.engines = DockerEngineDirectory(engines={"default": self.engine}, default="default")
        self.approvals = ApprovalService(
            repository=SqlApprovalRepository(
                engine=open_database(database), key=AUDIT_KEY.encode()
            ),
            planner_for=self.engines.get,
            rules=ApprovalRules(approvers=("admin",), expire_after=timedelta(minutes=15)),
            has_role=lambda role, user, groups: role == "admin" and user == ADMIN.user_id,
            clock=lambda: datetime.now(UTC),
        )
        self.pipeline = Pipeline(
            engines=self.engines, policy=configured_policy(settings), approvals=self.approvals
        )

    def ask(self, text: str, actor: Actor = ADMIN) -> Reply:
        return self.pipeline.handle(text, actor=actor)

    def close(self) -> None:
        self.engines.close()


def refused(reply: Reply, kind: type[Exception] = Protected) -> str:
    assert isinstance(reply.error, kind), (reply.error, reply.result)
    return str(reply.error)


def test_protected_and_own_containers_are_listed_and_nothing_else(
    chat: ChatBot, stack: Stack, sandbox: Sandbox, api: docker.APIClient
) -> None:
    listing = chat.ask(f"ps -a --no-trunc --filter label={sandbox.labels_filter()}")
    assert listing.error is None
    shown = repr(listing.result)
    assert stack.proxy in shown and stack.own in shown
    for target in (stack.proxy, stack.own, stack.own[:12]):
        for command in (
            f"logs {target}",
            f"inspect {target}",
            f"top {target}",
            f"stats {target}",
            f"port {target}",
            f"stop {target}",
            f"restart {target}",
            f"pause {target}",
            f"start {target}",
            f"unpause {target}",
            f"rm -f {target}",
            f"rm {target}",
        ):
            message = refused(chat.ask(command))
            assert "protected" in message or "the bot's own" in message, command
    # Never put to approvers: no request was made by the refused rm's.
    assert chat.approvals.pending() == []
    # Nothing happened to them: both still run.
    for target in (stack.proxy, stack.own):
        assert api.inspect_container(target)["State"]["Running"] is True


def test_a_protected_target_among_others_stops_the_whole_command(
    chat: ChatBot, stack: Stack, sandbox: Sandbox, api: docker.APIClient
) -> None:
    victim = api.create_container(
        TEST_IMAGE, ["sleep", "300"], name=sandbox.name("victim"), labels=sandbox.labels
    )
    api.start(victim["Id"])
    refused(chat.ask(f"stop {sandbox.name('victim')} {stack.proxy}"))
    assert api.inspect_container(victim["Id"])["State"]["Running"] is True
    # The positive control: the same command without the protected target stops it.
    assert chat.ask(f"stop -t 0 {sandbox.name('victim')}").error is None
    assert api.inspect_container(victim["Id"])["State"]["Running"] is False


def test_an_ordinary_rm_still_waits_for_an_approver(
    chat: ChatBot, sandbox: Sandbox, api: docker.APIClient
) -> None:
    """The positive control for 'never put to approvers'."""
    api.create_container(TEST_IMAGE, ["true"], name=sandbox.name("plain"), labels=sandbox.labels)
    reply = chat.ask(f"rm {sandbox.name('plain')}", OPERATOR)
    assert isinstance(reply.result, ApprovalRequested), reply.error


def test_run_may_not_join_a_protected_network_or_namespace(
    sandbox: Sandbox, stack: Stack, tmp_path: Any, api: docker.APIClient
) -> None:
    # Even an allowlist that names the network (or every network) does not open it.
    chat = ChatBot(
        sandbox=sandbox,
        own=stack.own,
        database=f"sqlite:///{tmp_path}/s.db",
        network_allowlist=["*"],
        allow_host_network=True,
        allow_host_namespaces=True,
    )
    try:
        name = sandbox.name("joiner")
        base = f"run -d --name {name} {sandbox.label_args()}"
        network_id = api.inspect_network(stack.network)["Id"]
        for options in (
            f"--network {stack.network}",
            f"--network container:{stack.proxy}",
            f"--network container:{stack.own[:12]}",
            f"--pid container:{stack.proxy}",
            f"--ipc container:{stack.own}",
            f"--uts container:{stack.proxy}",
        ):
            refused(chat.ask(f"{base} {options} {TEST_IMAGE} sleep 60"))
        # By ID (or an ID prefix a glob could match), the network is named, not judged by ID.
        refused(chat.ask(f"{base} --network {network_id[:12]} {TEST_IMAGE} sleep 60"), AccessDenied)
        assert api.containers(all=True, filters={"name": name}) == []
        # The positive control: an unprotected allowlisted network is joined.
        free = sandbox.name("free-net")
        api.create_network(free, labels=sandbox.labels)
        try:
            reply = chat.ask(f"{base} --network {free} {TEST_IMAGE} sleep 60")
            assert reply.error is None, reply.error
            doc = api.inspect_container(name)
            assert free in doc["NetworkSettings"]["Networks"]
        finally:
            with contextlib.suppress(docker.errors.APIError):
                api.remove_container(name, force=True)
            api.remove_network(free)
        # And an unprotected container's namespace is joined, by the ID that was checked.
        host = api.create_container(
            TEST_IMAGE, ["sleep", "300"], name=sandbox.name("ns-host"), labels=sandbox.labels
        )
        api.start(host["Id"])
        try:
            reply = chat.ask(
                f"{base} --pid container:{sandbox.name('ns-host')} {TEST_IMAGE} sleep 60"
            )
            assert reply.error is None, reply.error
            assert api.inspect_container(name)["HostConfig"]["PidMode"] == f"container:{host['Id']}"
        finally:
            for container in (name, host["Id"]):
                with contextlib.suppress(docker.errors.APIError):
                    api.remove_container(container, force=True)
    finally:
        chat.close()


def test_the_default_policy_joins_bridge_and_none_only(
    chat: ChatBot, sandbox: Sandbox, api: docker.APIClient
) -> None:
    free = sandbox.name("other-net")
    api.create_network(free, labels=sandbox.labels)
    try:
        message = refused(
            chat.ask(f"run --rm {sandbox.label_args()} --network {free} {TEST_IMAGE} true"),
            AccessDenied,
        )
        assert f'network_allowlist = ["{free}"]' in message
        for network in ("bridge", "none"):
            reply = chat.ask(
                f"run --rm {sandbox.label_args()} --network {network} {TEST_IMAGE} true"
            )
            assert reply.error is None, (network, reply.error)
    finally:
        api.remove_network(free)


def test_volumes_the_bot_did_not_make_are_not_mounted(
    chat: ChatBot, stack: Stack, sandbox: Sandbox, api: docker.APIClient
) -> None:
    foreign = sandbox.name("foreign-vol")
    fresh = sandbox.name("fresh-vol")
    api.create_volume(foreign, labels=sandbox.labels)
    try:
        run = f"run --rm {sandbox.label_args()}"
        message = refused(chat.ask(f"{run} -v {stack.volume}:/x {TEST_IMAGE} true"))
        assert "protected" in message
        message = refused(chat.ask(f"{run} -v {foreign}:/x {TEST_IMAGE} true"), AccessDenied)
        assert f'volume_allowlist = ["{foreign}"]' in message
        # A new name: the bot makes the volume, labelled as made through chat and by whom...
        reply = chat.ask(f"{run} -v {fresh}:/x {TEST_IMAGE} touch /x/made", OPERATOR)
        assert reply.error is None, reply.error
        labels = api.inspect_volume(fresh)["Labels"]
        assert labels == {"chatops.created-by": "chat", "chatops.owner": "U0OPS"}
        # ...and it may be mounted again, by anyone who may run.
        reply = chat.ask(f"{run} -v {fresh}:/x {TEST_IMAGE} test -e /x/made")
        assert reply.error is None and getattr(reply.result, "exit_code", None) == 0
    finally:
        for volume in (foreign, fresh):
            with contextlib.suppress(docker.errors.APIError):
                api.remove_volume(volume, force=True)


def test_the_volume_allowlist_opens_named_volumes_but_never_a_protected_one(
    sandbox: Sandbox, stack: Stack, tmp_path: Any, api: docker.APIClient
) -> None:
    foreign = sandbox.name("team-vol")
    api.create_volume(foreign, labels=sandbox.labels)
    chat = ChatBot(
        sandbox=sandbox,
        own=stack.own,
        database=f"sqlite:///{tmp_path}/s.db",
        volume_allowlist=[f"t{sandbox.session[:6]}-*"],
    )
    try:
        run = f"run --rm {sandbox.label_args()}"
        assert chat.ask(f"{run} -v {foreign}:/x {TEST_IMAGE} true").error is None
        refused(chat.ask(f"{run} -v {stack.volume}:/x {TEST_IMAGE} true"))
    finally:
        chat.close()
        api.remove_volume(foreign, force=True)


def test_reserved_labels(chat: ChatBot, sandbox: Sandbox, api: docker.APIClient) -> None:
    run = f"run -d {sandbox.label_args()}"
    # chatops.protected: nobody, in any spelling.
    for actor in (ADMIN, OPERATOR):
        for label in ("chatops.protected=true", "Chatops.Protected=1"):
            message = refused(chat.ask(f"{run} -l {label} {TEST_IMAGE} true", actor), AccessDenied)
            assert "cannot be set from chat" in message
    # The rest of the namespace, and the configured keep/quiet labels: admins only.
    for label in ("chatops.keep=true", "chatops.quiet=true", "chatops.owner=U0ELSE"):
        message = refused(chat.ask(f"{run} -l {label} {TEST_IMAGE} true", OPERATOR), AccessDenied)
        assert "only admins" in message
    name = sandbox.name("admin-kept")
    reply = chat.ask(f"{run} --name {name} -l chatops.keep=true {TEST_IMAGE} true")
    assert reply.error is None, reply.error
    labels = api.inspect_container(name)["Config"]["Labels"]
    assert labels["chatops.keep"] == "true" and labels["chatops.owner"] == "U0ADMIN"
    # Every container run from chat says who ran it.
    other = sandbox.name("operator-owned")
    assert chat.ask(f"{run} --name {other} {TEST_IMAGE} true", OPERATOR).error is None
    doc = api.inspect_container(other)
    assert doc["Config"]["Labels"]["chatops.owner"] == "U0OPS"
    assert doc["HostConfig"]["PidsLimit"] == 4096  # [run_policy] pids_limit by default


def test_an_image_that_carries_the_protected_label_is_not_run(
    chat: ChatBot, sandbox: Sandbox, api: docker.APIClient
) -> None:
    base = api.create_container(TEST_IMAGE, ["true"], labels=sandbox.labels)
    repository = f"chatops-test/t{sandbox.session[:6]}-protected-image"
    api.commit(
        base["Id"], repository=repository, tag="latest", conf={"Labels": sandbox.labels | PROTECTED}
    )
    api.remove_container(base["Id"])
    name = sandbox.name("from-protected-image")
    try:
        message = refused(chat.ask(f"run -d --name {name} {repository} sleep 60"))
        assert "chatops.protected" in message
        assert api.containers(all=True, filters={"name": name}) == []
    finally:
        api.remove_image(f"{repository}:latest", force=True)


def test_prune_and_housekeeping_leave_protected_containers(
    sandbox: Sandbox, stack: Stack, tmp_path: Any, api: docker.APIClient
) -> None:
    dead_protected = api.create_container(
        TEST_IMAGE, ["true"], name=sandbox.name("dead-p"), labels=sandbox.labels | PROTECTED
    )
    dead_plain = api.create_container(
        TEST_IMAGE, ["true"], name=sandbox.name("dead-x"), labels=sandbox.labels
    )
    chat = ChatBot(sandbox=sandbox, own=stack.own, database=f"sqlite:///{tmp_path}/s.db")
    try:
        # Housekeeping's plan (only planned here: other tests' containers are on this engine).
        housekeeping = DockerEngine(
            name="default",
            url=sandbox.docker_host,
            limits=EngineLimits(),
            cleanup_rules=CleanupRules(container_grace=timedelta(0), image_grace=timedelta(0)),
        )
        plan = housekeeping.plan_cleanup()
        housekeeping.close()
        planned = {item.id for item in plan.items}
        assert dead_plain["Id"] in planned and dead_protected["Id"] not in planned
        reply = chat.ask(f"container prune --filter label={sandbox.labels_filter()}", OPERATOR)
        assert isinstance(reply.result, ApprovalRequested), reply.error
        planned = {item.id for item in reply.result.record.plan.items}
        assert dead_plain["Id"] in planned and dead_protected["Id"] not in planned
        # An engine prune outside approvals (the console) leaves it too, even with a label!
        # filter of the user's own (the engine's prune would and it with one of ours).
        result = chat.engine.execute(
            PruneContainers(
                filters=(("label", sandbox.labels_filter()), ("label!", "no-such-label"))
            )
        )
        deleted = result.deleted  # type: ignore[union-attr]
        assert dead_plain["Id"] in deleted and dead_protected["Id"] not in deleted
        assert api.inspect_container(dead_protected["Id"])["Id"] == dead_protected["Id"]
        with pytest.raises(docker.errors.NotFound):
            api.inspect_container(dead_plain["Id"])
    finally:
        chat.close()
        api.remove_container(dead_protected["Id"], force=True)


def test_a_volume_claimed_from_chat_is_the_stacks_once_a_protected_container_mounts_it(
    chat: ChatBot, sandbox: Sandbox, api: docker.APIClient
) -> None:
    """Claiming `project_state` from chat before a stack first comes up must not give chat
    the stack's state: once a protected container mounts it, it is the stack's."""
    claimed = sandbox.name("squat_state")
    run = f"run --rm {sandbox.label_args()}"
    reply = chat.ask(f"{run} -v {claimed}:/x {TEST_IMAGE} sh -c 'echo planted > /x/f'", OPERATOR)
    assert reply.error is None, reply.error
    # Positive control: before the stack uses it, chat may mount what chat made.
    assert chat.ask(f"{run} -v {claimed}:/x {TEST_IMAGE} true").error is None
    stack_container = api.create_container(
        TEST_IMAGE,
        ["sleep", "300"],
        name=sandbox.name("squat-stack"),
        labels=sandbox.labels | PROTECTED,
        host_config=api.create_host_config(binds={claimed: {"bind": "/data", "mode": "rw"}}),
    )
    try:
        message = refused(chat.ask(f"{run} -v {claimed}:/x {TEST_IMAGE} cat /x/f"))
        assert "mounted by a protected container" in message
    finally:
        api.remove_container(stack_container["Id"], force=True)
        api.remove_volume(claimed, force=True)


def test_a_refused_run_makes_no_volume(
    chat: ChatBot, stack: Stack, sandbox: Sandbox, api: docker.APIClient
) -> None:
    fresh = sandbox.name("never-made")
    run = f"run --rm {sandbox.label_args()}"
    refused(chat.ask(f"{run} -v {fresh}:/a -v {stack.volume}:/b {TEST_IMAGE} true"))
    with pytest.raises(docker.errors.NotFound):
        api.inspect_volume(fresh)


def test_an_image_may_not_bring_reserved_labels(
    chat: ChatBot, sandbox: Sandbox, api: docker.APIClient
) -> None:
    """An image (pulled from anywhere) carrying chatops.keep/quiet would keep its containers
    from housekeeping and notices: nobody judged those labels, so the run is refused."""
    base = api.create_container(TEST_IMAGE, ["true"], labels=sandbox.labels)
    repository = f"chatops-test/t{sandbox.session[:6]}-keep-image"
    api.commit(
        base["Id"],
        repository=repository,
        tag="latest",
        conf={"Labels": sandbox.labels | {"chatops.keep": "true", "chatops.quiet": "1"}},
    )
    api.remove_container(base["Id"])
    name = sandbox.name("from-keep-image")
    try:
        for actor in (OPERATOR, ADMIN):
            message = refused(
                chat.ask(f"run -d --name {name} {repository} sleep 60", actor), AccessDenied
            )
            assert "`chatops.keep`" in message and "`chatops.quiet`" in message
            assert api.containers(all=True, filters={"name": name}) == []
        # Positive control: an admin who sets them explicitly (the policy judged them) may.
        reply = chat.ask(
            f"run -d --name {name} -l chatops.keep=true -l chatops.quiet= {repository} sleep 60"
        )
        assert reply.error is None, reply.error
        assert api.inspect_container(name)["Config"]["Labels"]["chatops.keep"] == "true"
    finally:
        with contextlib.suppress(docker.errors.APIError):
            api.remove_container(name, force=True)
        api.remove_image(f"{repository}:latest", force=True)
