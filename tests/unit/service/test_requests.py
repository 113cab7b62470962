"""The request service without dockerd or Slack: the fake engine and an in-memory chat port.

What the service decides (who hears what, where; what is audited; when a request is withdrawn)
is tested here; the Slack adapter's rendering and the real engine are tested in scenarios.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.approval_records import ApprovalRecord
from bot.core.approvals import ApprovalRules, ApprovalService, ApprovalState
from bot.core.cleanup import CleanupRules
from bot.core.command import ParsedCommand
from bot.core.parsing.parser import parse_command
from bot.core.pipeline import Pipeline, Reply
from bot.core.policy import AccessRules, Actor, ConfiguredPolicy, has_role
from bot.core.results import ActionResult, ApprovalRequested, ContainerList, PullProgress
from bot.core.run_policy import RunPolicy
from bot.engine.fake import FakeClock, FakeEngine, FakeEngineDirectory
from bot.service.chat import ProgressSink, Requester
from bot.service.orders import ClickOrder, CommandOrder
from bot.service.requests import RequestService
from bot.state.approvals import SqlApprovalRepository
from bot.state.audit import SqlAuditLog
from bot.state.database import open_database
from bot.workers import EngineWorkers

START = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
RULES = AccessRules(
    roles={"viewer": ("*",), "operator": ("U0OPS",), "admin": ("U0ADMIN",)},
    required_for=("rm",),
    approvers=("admin",),
)


@dataclass
class Answer:
    to: Requester
    reply: Reply
    in_channel: bool
    replace: bool
    credit: str | None


@dataclass
class FakeChat:
    """``Chat`` in memory: records what the service said, where."""

    answers: list[Answer] = field(default_factory=list)
    notes: list[tuple[Requester, str]] = field(default_factory=list)
    posted: list[ApprovalRecord] = field(default_factory=list)
    updated: list[ApprovalRecord] = field(default_factory=list)
    told: list[tuple[int, str]] = field(default_factory=list)
    refuse_posting: str | None = None

    def answer(
        self,
        to: Requester,
        reply: Reply,
        *,
        in_channel: bool,
        replace: bool,
        credit: str | None = None,
    ) -> None:
        self.answers.append(Answer(to, reply, in_channel, replace, credit))

    def tell(self, to: Requester, text: str) -> None:
        self.notes.append((to, text))

    def pull_progress(self, to: Requester, command: ParsedCommand) -> ProgressSink | None:
        return None

    def post_request(self, record: ApprovalRecord, *, channel: str | None = None) -> str | None:
        if self.refuse_posting:
            return self.refuse_posting
        self.posted.append(record)
        return None

    def update_request(self, record: ApprovalRecord) -> None:
        self.updated.append(record)

    def tell_requester(self, record: ApprovalRecord, text: str) -> None:
        self.told.append((record.id, text))

    def announce(self, record: ApprovalRecord, text: str) -> None:
        self.told.append((record.id, text))

    def groups_of(self, user: str) -> frozenset[str]:
        return frozenset()


@dataclass
class World:
    service: RequestService
    chat: FakeChat
    engine: FakeEngine
    audit: SqlAuditLog
    approvals: ApprovalService

    def run(self, text: str, *, user: str = "U0OPS") -> None:
        """Send ``text`` as ``user`` and wait until it has been answered."""
        answered = threading.Event()
        order = CommandOrder(
            command=parse_command(text),
            actor=Actor(user_id=user, channel_id="C0OPS"),
            reply_to=text,
        )
        self.service.run(order, done=answered.set)
        assert answered.wait(30)

    def click(self, approval_id: int, *, user: str, approve: bool = True) -> None:
        answered = threading.Event()
        order = ClickOrder(
            approval_id=approval_id,
            user_id=user,
            channel_id="C0OPS",
            approve=approve,
            reply_to="click",
        )
        self.service.run(order, done=answered.set)
        assert answered.wait(30)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = FakeClock(now=START)
    engine = FakeEngine(
        clock=clock,
        cleanup_rules=CleanupRules(
            container_grace=timedelta(hours=24), image_grace=timedelta(hours=24)
        ),
    )
    directory = FakeEngineDirectory(engine)
    database = open_database(f"sqlite:///{tmp_path}/state.db")
    audit = SqlAuditLog(engine=database, key=b"k" * 32)
    approvals = ApprovalService(
        repository=SqlApprovalRepository(engine=database, key=b"k" * 32),
        planner_for=directory.get,
        rules=ApprovalRules(approvers=("admin",)),
        has_role=lambda role, user, groups: has_role(role, user, groups, RULES),
        clock=clock,
    )
    chat = FakeChat()
    service = RequestService(
        pipeline=Pipeline(
            engines=directory,
            approvals=approvals,
            audit=audit,
            policy=ConfiguredPolicy(rules=RULES, run_policy=RunPolicy()),
        ),
        workers=EngineWorkers(engines=directory.names(), per_engine=2, control_threads=2),
        chat=chat,
        approvals=approvals,
        audit=audit,
        default_engine=engine.name,
        changes_in_channel=True,
        listings_in_channel=False,
    )
    world = World(service=service, chat=chat, engine=engine, audit=audit, approvals=approvals)
    yield world
    service.shutdown()


def test_listings_go_to_the_asker_changes_to_the_channel(world: World) -> None:
    world.engine.add_image("app:1")
    world.engine.add_container("web", "app:1")
    world.run("ps -a")
    [listing] = world.chat.answers
    assert isinstance(listing.reply.result, ContainerList)
    assert not listing.in_channel and listing.credit is None
    world.run("start web")
    change = world.chat.answers[-1]
    assert isinstance(change.reply.result, ActionResult)
    assert change.in_channel and change.credit == "U0OPS" and not change.replace
    assert [e.event for e in world.audit.recent(5)] == ["executed", "read"]


def test_a_destructive_request_waits_for_an_approver_then_runs_exactly(world: World) -> None:
    world.engine.add_image("app:1")
    world.engine.add_container("web", "app:1")
    world.run("rm web")
    [waiting] = world.chat.answers
    assert isinstance(waiting.reply.result, ApprovalRequested) and not waiting.in_channel
    [posted] = world.chat.posted
    assert {c.name for c in world.engine.containers.values()} == {"web"}  # nothing yet
    world.click(posted.id, user="U0OPS")  # an operator is no approver: told so, privately
    assert "not an approver" in world.chat.notes[-1][1]
    assert {c.name for c in world.engine.containers.values()} == {"web"}
    world.click(posted.id, user="U0ADMIN")
    assert world.engine.containers == {}
    assert world.approvals.get(posted.id).state is ApprovalState.DONE  # type: ignore[union-attr]
    assert world.chat.told and "approved and run" in world.chat.told[-1][1]


def test_a_request_nobody_can_see_is_withdrawn_and_the_requester_told(world: World) -> None:
    world.engine.add_image("app:1")
    world.engine.add_container("web", "app:1")
    world.chat.refuse_posting = "the bot cannot post in channel C0APPROVALS (not_in_channel)"
    world.run("rm web")
    [told] = world.chat.answers
    assert told.reply.error is not None and "withdrawn and nothing was run" in str(told.reply.error)
    assert world.audit.recent(1)[0].event == "withdrawn"
    assert {c.name for c in world.engine.containers.values()} == {"web"}


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[PullProgress] = []
        self.concluded: list[str] = []

    def __call__(self, event: PullProgress) -> None:
        self.events.append(event)

    def finish(self, reply: Reply, *, credit: str | None) -> bool:
        return False

    def conclude(self, text: str) -> None:
        self.concluded.append(text)


def test_an_upgrade_s_progress_ends_when_its_request_is_withdrawn(world: World) -> None:
    """The pull's progress message is ended with the request's fate, withdrawn included (it
    stayed "Pulling" before). The fake engine finds every upgrade up to date, so the request
    is an `rm`'s, asked as the upgrade that pulled."""
    world.engine.add_image("app:1")
    world.engine.add_container("web", "app:1")
    sink = RecordingSink()
    world.chat.pull_progress = lambda to, command: sink  # type: ignore[method-assign]
    inner = world.service._pipeline

    class PullsThenAsks:
        def run(self, command: ParsedCommand, **kwargs: Any) -> Reply:
            kwargs["progress"](PullProgress(layer="l1", status="Downloading"))
            return inner.run(parse_command("rm web"), actor=kwargs["actor"])

    world.service._pipeline = PullsThenAsks()  # type: ignore[assignment]
    world.chat.refuse_posting = "the bot cannot post in channel C0APPROVALS (not_in_channel)"
    world.run("upgrade web")
    assert sink.events and sink.concluded == [
        "Pulled; the request was withdrawn (the person who asked was told why)."
    ]
    # Positive control: a request that is posted ends its progress saying it waits.
    world.chat.refuse_posting = None
    world.run("upgrade web")
    assert sink.concluded[-1] == "Pulled; what the upgrade would do waits for an approver."
