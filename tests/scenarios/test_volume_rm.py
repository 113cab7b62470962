"""`volume rm` on the private engine: an approval like `rm`'s (by default), exactly the planned
volume removed; protected volumes, volumes the bot's own or a protected container mounts, and
volumes in use are refused at once, before anyone is asked."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import docker.errors
import pytest

from bot.config import configured_policy
from bot.core.approvals import (
    ApprovalOutcomeKind,
    ApprovalRules,
    ApprovalService,
    ApprovalState,
)
from bot.core.pipeline import Pipeline, Reply
from bot.core.policy import Actor
from bot.core.protection import Protection
from bot.core.results import ActionResult, ApprovalRequested
from bot.engine.directory import DockerEngineDirectory
from bot.engine.docker_engine import DockerEngine, EngineLimits
from bot.errors import Conflict, NotFound, Protected
from bot.state.approvals import SqlApprovalRepository
from bot.state.database import open_database
from tests.conftest import AUDIT_KEY, TEST_IMAGE, BotDriver, Sandbox, make_settings

ADMIN = Actor(user_id="U0ADMIN", channel_id="C0OPS")
OPERATOR = Actor(user_id="U0OPS", channel_id="C0OPS")
PROTECTED = {"chatops.protected": "true"}


class ChatBot:
    """The pipeline as chat drives it, with the default [approvals] required_for, on an engine
    that believes it runs inside container ``own``."""

    def __init__(self, *, sandbox: Sandbox, own: str, database: str) -> None:
        self.settings = make_settings(
            sandbox.docker_host,
            roles={"viewer": ["*"], "operator": ["U0OPS"], "admin": ["U0ADMIN"]},
            approvals={"approvers": ["admin"]},
        )
        engine = DockerEngine(
            name="default",
            url=sandbox.docker_host,
            limits=EngineLimits(),
            protection=Protection(own_container_ids=frozenset({own})),
        )
        self.engines = DockerEngineDirectory(engines={"default": engine}, default="default")
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
            engines=self.engines,
            policy=configured_policy(self.settings),
            approvals=self.approvals,
        )

    def ask(self, text: str, actor: Actor = OPERATOR) -> Reply:
        return self.pipeline.handle(text, actor=actor)


@pytest.fixture
def volume(api: docker.APIClient, sandbox: Sandbox) -> Iterator[Callable[..., str]]:
    """Makes session-labelled volumes (and containers mounting them); removes what is left."""
    made: list[str] = []

    def make(stem: str, *, labels: dict[str, str] | None = None) -> str:
        name = sandbox.name(stem)
        api.create_volume(name, labels=sandbox.labels | (labels or {}))
        made.append(name)
        return name

    yield make
    for name in made:
        for user in api.containers(all=True, filters={"volume": name}):
            api.remove_container(user["Id"], force=True)
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_volume(name)


@pytest.fixture
def own(api: docker.APIClient, sandbox: Sandbox, volume: Callable[..., str]) -> str:
    """The "bot's own" container (unlabelled, known to the engine by its ID), which mounts an
    unlabelled volume; that volume's name."""
    name = volume("vrm-own-data")
    mounting(api, sandbox, name, "vrm-own")
    return name


@pytest.fixture
def chat(sandbox: Sandbox, api: docker.APIClient, own: str, tmp_path: Path) -> Iterator[ChatBot]:
    own_id = api.inspect_container(sandbox.name("vrm-own"))["Id"]
    bot = ChatBot(sandbox=sandbox, own=own_id, database=f"sqlite:///{tmp_path}/state.db")
    yield bot
    bot.engines.close()


def mounting(api: docker.APIClient, sandbox: Sandbox, name: str, stem: str, **labels: str) -> str:
    """A stopped container that mounts volume ``name``; its name."""
    container = sandbox.name(stem)
    api.create_container(
        TEST_IMAGE,
        ["true"],
        name=container,
        labels=sandbox.labels | labels,
        host_config=api.create_host_config(binds=[f"{name}:/data"]),
    )
    return container


def exists(api: docker.APIClient, name: str) -> bool:
    try:
        api.inspect_volume(name)
    except docker.errors.NotFound:
        return False
    return True


def test_volume_rm_waits_for_an_approver_then_removes_exactly_the_plan(
    chat: ChatBot, volume: Callable[..., str], api: docker.APIClient
) -> None:
    assert "volume rm" in chat.settings.approvals.required_for  # by default, like rm
    wanted, kept = volume("vrm-a"), volume("vrm-b")
    reply = chat.ask(f"volume rm {wanted}")
    assert isinstance(reply.result, ApprovalRequested), reply.error
    record = reply.result.record
    assert record.command_text == f"volume rm {wanted}"
    (item,) = record.plan.items
    assert item.target == wanted and "local driver" in item.description
    assert "used by no container" in item.description
    assert exists(api, wanted)  # asking removes nothing

    outcome = chat.approvals.approve(record.id, user_id=ADMIN.user_id, groups=frozenset())
    assert outcome.kind is ApprovalOutcomeKind.EXECUTED, outcome.message
    assert outcome.record is not None and outcome.record.state is ApprovalState.DONE
    assert not exists(api, wanted) and exists(api, kept)


def test_a_volume_made_again_since_the_plan_is_not_removed(
    chat: ChatBot, volume: Callable[..., str], api: docker.APIClient, sandbox: Sandbox
) -> None:
    name = volume("vrm-again")
    reply = chat.ask(f"volume rm {name}")
    assert isinstance(reply.result, ApprovalRequested), reply.error
    api.remove_volume(name)
    api.create_volume(name, labels=sandbox.labels | {"made": "again"})
    outcome = chat.approvals.approve(
        reply.result.record.id, user_id=ADMIN.user_id, groups=frozenset()
    )
    assert outcome.record is not None and outcome.record.state is ApprovalState.FAILED
    assert "plan no longer holds" in outcome.message and "made again" in outcome.message
    assert api.inspect_volume(name)["Labels"]["made"] == "again"


def test_protected_volumes_are_refused_before_anyone_is_asked(
    chat: ChatBot, volume: Callable[..., str], api: docker.APIClient, sandbox: Sandbox, own: str
) -> None:
    labelled = volume("vrm-state", labels=PROTECTED)
    by_protected = volume("vrm-proxy-data")
    mounting(api, sandbox, by_protected, "vrm-proxy", **PROTECTED)
    cases = [
        (labelled, "is protected (label chatops.protected=true)"),
        (by_protected, "mounted by a protected container"),
        (own, "mounted by a protected container"),  # the bot's own, unlabelled
    ]
    for name, words in cases:
        for actor in (OPERATOR, ADMIN):
            reply = chat.ask(f"volume rm -f {name}", actor)
            assert isinstance(reply.error, Protected), (name, reply.result)
            assert words in str(reply.error)
        assert exists(api, name)
    assert chat.approvals.pending() == []
    # The positive control: an unprotected volume beside them is put to an approver.
    reply = chat.ask(f"volume rm {volume('vrm-plain')}")
    assert isinstance(reply.result, ApprovalRequested) and len(chat.approvals.pending()) == 1


def test_a_volume_in_use_is_refused_with_its_users_and_goes_once_they_are_gone(
    chat: ChatBot, volume: Callable[..., str], api: docker.APIClient, sandbox: Sandbox
) -> None:
    name = volume("vrm-used")
    user = mounting(api, sandbox, name, "vrm-user")
    reply = chat.ask(f"volume rm -f {name}", ADMIN)
    assert isinstance(reply.error, Conflict), reply.result
    assert f"in use by container(s) {user}" in str(reply.error)
    assert exists(api, name) and chat.approvals.pending() == []
    api.remove_container(user)  # the positive control: unused, it is planned and removed
    reply = chat.ask(f"volume rm {name}")
    assert isinstance(reply.result, ApprovalRequested), reply.error
    outcome = chat.approvals.approve(
        reply.result.record.id, user_id=ADMIN.user_id, groups=frozenset()
    )
    assert outcome.record is not None and outcome.record.state is ApprovalState.DONE
    assert not exists(api, name)


def test_without_approvals_it_runs_as_its_plan(
    bot: BotDriver, volume: Callable[..., str], api: docker.APIClient
) -> None:
    first, second = volume("vrm-x"), volume("vrm-y")
    reply = bot.run(f"volume rm {first} {second}")
    assert isinstance(reply.result, ActionResult), reply.error
    assert [o.target for o in reply.result.outcomes if o.ok] == [first, second]
    assert bot.out.getvalue().split() == [first, second]  # as the Docker CLI prints them
    assert not exists(api, first) and not exists(api, second)
    missing = bot.handle(f"volume rm {first}")
    assert isinstance(missing.error, NotFound) and "no such volume" in str(missing.error)
