"""The approval lifecycle as a state machine (hypothesis), on the real SQL repository.

Whatever order of votes, rejections, cancellations, expiry and repeats, an approved plan is
executed at most once, only after enough distinct eligible approvers, and final states stay final.
"""

from __future__ import annotations

import tempfile
import threading
from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

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

ADMINS = ("U0A1", "U0A2", "U0A3")
USERS = (*ADMINS, "U0REQ", "U0VIEW")
FINAL = {
    ApprovalState.DONE,
    ApprovalState.FAILED,
    ApprovalState.REJECTED,
    ApprovalState.EXPIRED,
    ApprovalState.CANCELLED,
}


class CountingPlanner:
    def __init__(self) -> None:
        self.executed: list[Plan] = []
        self.lock = threading.Lock()

    def plan(self, command: ParsedCommand, *, progress: object = None) -> Plan:
        return Plan(
            action="rm",
            items=(PlanItem(kind=ObjectKind.CONTAINER, id="c1", target="web", description="web"),),
        )

    def execute_plan(self, plan: Plan) -> ActionResult:
        with self.lock:
            self.executed.append(plan)
        return ActionResult(action="rm", outcomes=(TargetOutcome(target="web", ok=True),))


def make_service(
    min_approvals: int, url: str
) -> tuple[ApprovalService, CountingPlanner, list[datetime]]:
    planner = CountingPlanner()
    now = [datetime(2026, 11, 29, 12, 0, tzinfo=UTC)]
    database = open_database(url)
    service = ApprovalService(
        repository=SqlApprovalRepository(engine=database, key=AUDIT_KEY.encode()),
        planner_for=lambda name: planner,
        rules=ApprovalRules(
            approvers=("admin",), min_approvals=min_approvals, expire_after=timedelta(minutes=15)
        ),
        has_role=lambda role, user, groups: role == "admin" and user in ADMINS,
        clock=lambda: now[0],
    )
    return service, planner, now


class ApprovalLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.min_approvals = 2
        self.folder = tempfile.TemporaryDirectory()  # one database per example, removed after
        self.service, self.planner, self.now = make_service(
            self.min_approvals, f"sqlite:///{self.folder.name}/approvals.db"
        )
        self.approval_id: int | None = None
        self.seen: list[ApprovalState] = []

    @precondition(lambda self: self.approval_id is None)
    @rule(requester=st.sampled_from(USERS))
    def request(self, requester: str) -> None:
        command = parse_command("rm web")
        record = self.service.request(
            requester=requester,
            channel_id="C1",
            command=command,
            engine="local",
            plan=self.service.plan(command, engine="local"),
        )
        self.approval_id = record.id
        self.requester = requester

    @precondition(lambda self: self.approval_id is not None)
    @rule(user=st.sampled_from(USERS))
    def approve(self, user: str) -> None:
        assert self.approval_id is not None
        self.service.approve(self.approval_id, user_id=user, groups=frozenset())

    @precondition(lambda self: self.approval_id is not None)
    @rule(user=st.sampled_from(USERS))
    def reject(self, user: str) -> None:
        assert self.approval_id is not None
        self.service.reject(self.approval_id, user_id=user, groups=frozenset())

    @precondition(lambda self: self.approval_id is not None)
    @rule(user=st.sampled_from(USERS))
    def cancel(self, user: str) -> None:
        assert self.approval_id is not None
        self.service.cancel(self.approval_id, user_id=user)

    @precondition(lambda self: self.approval_id is not None)
    @rule(minutes=st.integers(min_value=0, max_value=20))
    def time_passes(self, minutes: int) -> None:
        self.now[0] += timedelta(minutes=minutes)
        self.service.expire_due()

    @invariant()
    def executed_at_most_once_and_only_when_approved(self) -> None:
        assert len(self.planner.executed) <= 1
        if self.approval_id is None:
            return
        record = self.service.get(self.approval_id)
        assert record is not None
        if self.seen and self.seen[-1] in FINAL:
            assert record.state == self.seen[-1], "a final state changed"
        self.seen.append(record.state)
        eligible = [user for user in record.approvers if user in ADMINS]
        assert len(eligible) == len(record.approvers), "a non-approver's vote counted"
        assert self.requester not in record.approvers, "self-approval counted"
        if self.planner.executed:
            assert record.state is ApprovalState.DONE
            assert len(set(record.approvers)) >= self.min_approvals

    def teardown(self) -> None:
        self.folder.cleanup()


TestApprovalLifecycle = ApprovalLifecycle.TestCase
TestApprovalLifecycle.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)


def test_twenty_simultaneous_approvals_execute_once(database_url: str) -> None:
    service, planner, _ = make_service(1, database_url)
    command = parse_command("rm web")
    record = service.request(
        requester="U0REQ",
        channel_id="C1",
        command=command,
        engine="local",
        plan=service.plan(command, engine="local"),
    )
    barrier = threading.Barrier(20)

    def click(index: int) -> None:
        barrier.wait()
        service.approve(record.id, user_id=ADMINS[index % 3], groups=frozenset())

    threads = [threading.Thread(target=click, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(planner.executed) == 1
    final = service.get(record.id)
    assert final is not None and final.state is ApprovalState.DONE
