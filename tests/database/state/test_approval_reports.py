"""A sweep's report of a request it ended is owed in the move's own transaction: a sweep cut
short between the move and the report (a stop, a crash) leaves it owed, and the next sweep, in
any process, makes it once (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from bot.core.approvals import (
    REPORT_CLAIM,
    ApprovalRecord,
    ApprovalRules,
    ApprovalService,
    ApprovalState,
)
from bot.core.parsing.parser import parse_command
from bot.service.approvals import ExpirySweeper
from bot.state.approvals import SqlApprovalRepository
from bot.state.audit import SqlAuditLog
from bot.state.database import open_database
from bot.state.tables import approval_reports
from tests.conftest import AUDIT_KEY
from tests.database.state.test_approval_lifecycle import CountingPlanner
from tests.unit.service.test_requests import FakeChat

START = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


class Stopped(Exception):
    """Where the sweep was cut short (the process stopped there)."""


class StoppedChat(FakeChat):
    """Cuts the sweep short at its first update of a request's message, as a stop would."""

    def update_request(self, record: ApprovalRecord) -> None:
        raise Stopped


def updates(chat: FakeChat) -> list[tuple[int, ApprovalState]]:
    """Each request message the sweep updated, as the state it showed."""
    return [(record.id, record.state) for record in chat.updated]


def service_at(url: str, now: list[datetime]) -> ApprovalService:
    return ApprovalService(
        repository=SqlApprovalRepository(engine=open_database(url), key=AUDIT_KEY.encode()),
        planner_for=lambda name: CountingPlanner(),
        rules=ApprovalRules(approvers=("admin",), expire_after=timedelta(minutes=15)),
        has_role=lambda role, user, groups: False,
        clock=lambda: now[0],
    )


def ask(service: ApprovalService, *, veto_window: timedelta | None = None) -> ApprovalRecord:
    command = parse_command("rm web")
    return service.request(
        requester="U0OPS",
        channel_id="C1",
        command=command,
        engine="local",
        plan=service.plan(command, engine="local"),
        veto_window=veto_window,
    )


def test_an_expiry_cut_short_before_its_report_is_reported_once_by_the_next_sweep(
    database_url: str,
) -> None:
    now = [START]
    first = service_at(database_url, now)
    record = ask(first)
    now[0] += timedelta(minutes=16)
    cut = StoppedChat()
    with pytest.raises(Stopped):
        ExpirySweeper(service=first, chat=cut, audit=None).sweep()
    assert first.get(record.id).state is ApprovalState.EXPIRED  # type: ignore[union-attr]
    assert cut.told == []  # moved, and nobody told yet

    chat = FakeChat()
    restarted = ExpirySweeper(service=service_at(database_url, now), chat=chat, audit=None)
    # Within the claim of the sweep that stopped, it is that sweep's report: not made twice.
    now[0] += REPORT_CLAIM / 2
    restarted.sweep()
    assert chat.told == []
    now[0] += REPORT_CLAIM  # the claim lapsed: the stopped sweep will not make it
    restarted.sweep()
    assert updates(chat) == [(record.id, ApprovalState.EXPIRED)]
    assert chat.told == [(record.id, f"Your request #{record.id} expired.")]
    restarted.sweep()
    assert chat.told == [(record.id, f"Your request #{record.id} expired.")]  # made: no longer owed


def test_a_veto_window_plan_is_reported_once_it_has_run_even_if_the_sweep_stopped(
    database_url: str,
) -> None:
    now = [START]
    service = service_at(database_url, now)
    record = ask(service, veto_window=timedelta(minutes=5))
    now[0] += timedelta(minutes=6)
    with pytest.raises(Stopped):
        ExpirySweeper(service=service, chat=StoppedChat(), audit=None).sweep()
    assert service.get(record.id).state is ApprovalState.DONE  # type: ignore[union-attr]
    now[0] += REPORT_CLAIM * 2
    chat = FakeChat()
    ExpirySweeper(service=service_at(database_url, now), chat=chat, audit=None).sweep()
    assert updates(chat) == [(record.id, ApprovalState.DONE)]


def test_a_report_is_claimed_only_once_the_request_has_ended_and_by_one_sweep(
    database_url: str,
) -> None:
    repository = SqlApprovalRepository(engine=open_database(database_url), key=AUDIT_KEY.encode())
    service = service_at(database_url, [START])
    record = ask(service, veto_window=timedelta(minutes=5))
    later = START + timedelta(minutes=6)
    assert repository.transition(
        record.id, current=ApprovalState.PENDING, target=ApprovalState.APPROVED, owe_report=later
    )
    # Approved, still to run: its report waits for its end.
    assert repository.claim_report(now=later, until=later + REPORT_CLAIM) is None
    assert repository.begin_execution(record.id, holder="me", now=later) is not None
    assert repository.transition(
        record.id, current=ApprovalState.EXECUTING, target=ApprovalState.DONE, owe_report=later
    )  # owed already: still one report
    claimed = repository.claim_report(now=later, until=later + REPORT_CLAIM)
    assert claimed is not None
    assert (claimed.id, claimed.state) == (record.id, ApprovalState.DONE)
    assert repository.claim_report(now=later, until=later + REPORT_CLAIM) is None  # claimed
    repository.report_made(record.id)
    after = later + REPORT_CLAIM * 2
    assert repository.claim_report(now=after, until=after + REPORT_CLAIM) is None


def test_a_report_row_added_outside_the_bot_is_told_as_an_edit_and_nothing_else(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The threat model of the MACs: someone who can write the database. A report row is not
    sealed, so what is told is decided by the sealed request: a person-approved request that
    ran is no report any sweep owes."""
    now = [START]
    service = service_at(database_url, now)
    ran = ask(service)
    repository = SqlApprovalRepository(engine=open_database(database_url), key=AUDIT_KEY.encode())
    assert repository.transition(
        ran.id, current=ApprovalState.PENDING, target=ApprovalState.APPROVED
    )  # as an approver's click does: no report owed
    assert repository.begin_execution(ran.id, holder="me", now=START) is not None
    assert repository.transition(ran.id, current=ApprovalState.EXECUTING, target=ApprovalState.DONE)
    with open_database(database_url).begin() as connection:  # the edit
        connection.execute(insert(approval_reports).values(approval_id=ran.id, owed_at=START))
    expired = ask(service)  # the control: a report a sweep does owe is made
    now[0] += timedelta(minutes=16)
    chat = FakeChat()
    audit = SqlAuditLog(engine=open_database(database_url), key=AUDIT_KEY.encode())
    sweeper = ExpirySweeper(service=service, chat=chat, audit=audit)
    sweeper.sweep()
    assert updates(chat) == [(expired.id, ApprovalState.EXPIRED)]
    # The edit is told where approvers look, not the request.
    [(edited_id, edited), told] = chat.told
    assert edited_id == ran.id
    assert f"edited outside the bot: a report about request #{ran.id} (done)" in edited
    assert told == (expired.id, f"Your request #{expired.id} expired.")
    assert [entry.detail for entry in audit.recent(10)] == [f"#{expired.id}"]
    assert f"request #{ran.id} (done) was not made" in caplog.text
    sweeper.sweep()  # dropped, not owed again
    assert updates(chat) == [(expired.id, ApprovalState.EXPIRED)]
    assert len(chat.told) == 2
