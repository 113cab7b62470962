"""Executions left by a dead process are interrupted, live ones never (both databases)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from bot.core.approvals import (
    ApprovalRules,
    ApprovalService,
    ApprovalState,
)
from bot.core.command import ParsedCommand
from bot.core.parsing.parser import parse_command
from bot.core.plans import ObjectKind, Plan, PlanItem
from bot.core.results import ActionResult, TargetOutcome
from bot.state.approvals import SqlApprovalRepository
from bot.state.database import open_database
from tests.conftest import AUDIT_KEY


class BlockingPlanner:
    """Executes a plan only when told to, like an engine in the middle of a long removal."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.runs = 0

    def plan(self, command: ParsedCommand, *, progress: object = None) -> Plan:
        return Plan(
            action="rm",
            items=(PlanItem(kind=ObjectKind.CONTAINER, id="c1", target="web", description="web"),),
        )

    def execute_plan(self, plan: Plan) -> ActionResult:
        self.runs += 1
        self.started.set()
        assert self.release.wait(30)
        return ActionResult(action="rm", outcomes=(TargetOutcome(target="web", ok=True),))


def service_at(url: str, planner: BlockingPlanner, now: list[datetime]) -> ApprovalService:
    return ApprovalService(
        repository=SqlApprovalRepository(engine=open_database(url), key=AUDIT_KEY.encode()),
        planner_for=lambda name: planner,
        rules=ApprovalRules(approvers=("admin",), interrupted_after=timedelta(seconds=60)),
        has_role=lambda role, user, groups: user == "U0ADMIN",
        clock=lambda: now[0],
    )


def test_only_executions_whose_process_stopped_renewing_are_interrupted(
    database_url: str,
) -> None:
    now = [datetime(2026, 11, 29, 12, 0, tzinfo=UTC)]
    planner = BlockingPlanner()
    running = service_at(database_url, planner, now)  # the process that executes
    other = service_at(database_url, planner, now)  # another replica, or the next start
    command = parse_command("rm web")
    record = running.request(
        requester="U0OPS",
        channel_id="C1",
        command=command,
        engine="local",
        plan=running.plan(command, engine="local"),
    )
    clicked = threading.Thread(
        target=running.approve,
        args=(record.id,),
        kwargs={"user_id": "U0ADMIN", "groups": frozenset()},
    )
    clicked.start()
    assert planner.started.wait(30)
    # Alive: it renews its lease, so however long the plan runs, nobody interrupts it.
    for _ in range(5):
        now[0] += timedelta(seconds=50)
        running.renew_leases()
        assert other.interrupt_abandoned() == []
    planner.release.set()
    clicked.join(30)
    assert running.get(record.id).state is ApprovalState.DONE  # type: ignore[union-attr]
    # The positive control: a second execution whose process stops renewing (it died)...
    planner.release.clear()
    planner.started.clear()
    second = running.request(
        requester="U0OPS",
        channel_id="C1",
        command=command,
        engine="local",
        plan=running.plan(command, engine="local"),
    )
    dying = threading.Thread(
        target=running.approve,
        args=(second.id,),
        kwargs={"user_id": "U0ADMIN", "groups": frozenset()},
    )
    dying.start()
    assert planner.started.wait(30)
    now[0] += timedelta(seconds=59)
    assert other.interrupt_abandoned() == []  # within the bound: still presumed alive
    now[0] += timedelta(seconds=2)
    [interrupted] = other.interrupt_abandoned()  # ...is interrupted, once
    assert interrupted.id == second.id and interrupted.state is ApprovalState.INTERRUPTED
    assert other.interrupt_abandoned() == []
    planner.release.set()
    dying.join(30)
    # Its late finish cannot overwrite what was reported, and nothing ran twice.
    assert running.get(second.id).state is ApprovalState.INTERRUPTED  # type: ignore[union-attr]
    assert planner.runs == 2


def test_a_request_nobody_can_see_is_withdrawn_once(database_url: str) -> None:
    now = [datetime(2026, 11, 29, 12, 0, tzinfo=UTC)]
    service = service_at(database_url, BlockingPlanner(), now)
    command = parse_command("rm web")
    record = service.request(
        requester="U0OPS",
        channel_id="C1",
        command=command,
        engine="local",
        plan=service.plan(command, engine="local"),
    )
    withdrawn = service.withdraw(record.id, reason="not_in_channel")
    assert withdrawn is not None and withdrawn.state is ApprovalState.WITHDRAWN
    assert service.withdraw(record.id, reason="again") is None
    refused = service.approve(record.id, user_id="U0ADMIN", groups=frozenset())
    assert "already withdrawn" in refused.message
