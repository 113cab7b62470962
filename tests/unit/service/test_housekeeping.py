"""Housekeeping's decisions in the service, on the fake engine and an in-memory chat: a run
removes what is due and counts it, a preview changes and counts nothing, and a proposal is an
approval request that runs when its veto window ends, or is withdrawn when nobody can see it.
When runs happen is the scheduler's (tests/unit/housekeeping/, tests/database/housekeeping/)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.approvals import ApprovalRules, ApprovalService, ApprovalState
from bot.core.cleanup import CleanupRules
from bot.engine.fake import FakeClock, FakeEngine, FakeEngineDirectory
from bot.service.housekeeping import REQUESTER, Housekeeping
from bot.service.metrics import HOUSEKEEPING_BYTES, HOUSEKEEPING_OBJECTS, Labels
from bot.state.approvals import SqlApprovalRepository
from bot.state.audit import SqlAuditLog
from bot.state.database import open_database
from tests.unit.service.test_requests import FakeChat

START = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
WINDOW = timedelta(minutes=10)


@dataclass
class Counted:
    """The metrics port in memory: what was counted, by name and labels."""

    counts: dict[tuple[str, Labels], float] = field(default_factory=dict)

    def count(self, name: str, labels: Labels = (), amount: float = 1.0) -> None:
        self.counts[(name, labels)] = self.counts.get((name, labels), 0.0) + amount

    def observe(self, name: str, value: float, labels: Labels = ()) -> None:
        return None


@dataclass
class World:
    housekeeping: Housekeeping
    engine: FakeEngine
    clock: FakeClock
    chat: FakeChat
    approvals: ApprovalService
    audit: SqlAuditLog
    metrics: Counted

    def due(self) -> None:
        """A container created a day ago and never started: due for removal."""
        self.engine.add_container("old", "app:1", size=700)
        self.clock.advance(DAY + timedelta(minutes=1))

    def names(self) -> set[str]:
        return {container.name for container in self.engine.containers.values()}

    def events(self) -> list[str]:
        return [entry.event for entry in self.audit.recent(10)]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = FakeClock(now=START)
    engine = FakeEngine(
        clock=clock, cleanup_rules=CleanupRules(container_grace=DAY, image_grace=DAY)
    )
    engine.add_image("app:1")
    directory = FakeEngineDirectory(engine)
    database = open_database(f"sqlite:///{tmp_path}/state.db")
    audit = SqlAuditLog(engine=database, key=b"k" * 32)
    approvals = ApprovalService(
        repository=SqlApprovalRepository(engine=database, key=b"k" * 32),
        planner_for=directory.get,
        rules=ApprovalRules(approvers=("U0ADMIN",)),
        has_role=lambda role, user, groups: False,
        clock=clock,
    )
    chat = FakeChat()
    metrics = Counted()
    housekeeping = Housekeeping(
        engines=directory, approvals=approvals, chat=chat, audit=audit, metrics=metrics
    )
    yield World(housekeeping, engine, clock, chat, approvals, audit, metrics)
    database.dispose()


def test_a_run_removes_what_is_due_and_counts_it_a_preview_neither(world: World) -> None:
    world.due()
    preview = world.housekeeping.clean(world.engine.name, True)
    assert preview.dry_run and [item.target for item in preview.removed] == ["old"]
    assert world.names() == {"old"} and world.metrics.counts == {}

    report = world.housekeeping.clean(world.engine.name, False)
    assert [item.target for item in report.removed] == ["old"] and world.names() == set()
    labels = (("engine", world.engine.name),)
    assert world.metrics.counts == {
        (HOUSEKEEPING_OBJECTS, labels): 1.0,
        (HOUSEKEEPING_BYTES, labels): 700.0,
    }


def test_a_plan_is_proposed_for_its_veto_window_and_nothing_runs_yet(world: World) -> None:
    world.due()
    summary = world.housekeeping.propose(
        engine=world.engine.name, channel="C0HOUSE", veto_window=WINDOW
    )
    [posted] = world.chat.posted
    assert summary == f"proposed as #{posted.id}, runs in 0:10:00 unless cancelled"
    assert posted.auto_run and posted.requester == REQUESTER and posted.channel_id == "C0HOUSE"
    assert posted.expires_at == START + DAY + timedelta(minutes=1) + WINDOW
    assert world.names() == {"old"}  # it runs when the window ends, not now
    [proposed] = [entry for entry in world.audit.recent(10) if entry.event == "cleanup_proposed"]
    assert proposed.detail == f"#{posted.id}: 1 object(s)" and proposed.engine == world.engine.name
    world.clock.advance(WINDOW)  # nobody cancelled: the plan runs when the window ends
    [ran] = world.approvals.expire_due()
    assert ran.id == posted.id and ran.state is ApprovalState.DONE and world.names() == set()


def test_an_empty_plan_is_not_proposed(world: World) -> None:
    world.clock.advance(DAY)  # nothing was made: nothing is due, however long it waits
    summary = world.housekeeping.propose(
        engine=world.engine.name, channel="C0HOUSE", veto_window=WINDOW
    )
    assert summary == "nothing to do"
    assert world.chat.posted == [] and world.approvals.pending() == []
    assert "cleanup_proposed" not in world.events()


def test_a_plan_nobody_can_be_shown_is_withdrawn_and_never_runs(world: World) -> None:
    world.due()
    world.chat.refuse_posting = "the bot is not in C0HOUSE"
    summary = world.housekeeping.propose(
        engine=world.engine.name, channel="C0HOUSE", veto_window=WINDOW
    )
    assert summary == "not run: #1 was withdrawn (the bot is not in C0HOUSE)"
    record = world.approvals.get(1)
    assert record is not None and record.state is ApprovalState.WITHDRAWN
    assert "withdrawn" in world.events() and "cleanup_proposed" not in world.events()
    world.clock.advance(WINDOW * 2)
    assert world.approvals.expire_due() == [] and world.names() == {"old"}
