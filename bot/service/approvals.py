"""The approval lifecycle around the core's state machine: posting or withdrawing a request,
the sweeps (expiry, interrupted executions) with their reports, and the report of a request
that failed verification."""

from __future__ import annotations

import logging
from typing import assert_never

from bot.core.approval_records import ApprovalRecord
from bot.core.approvals import ApprovalService, OwedReport, ReportKind
from bot.core.audit import AuditTrail, record_request_event
from bot.periodic import Periodic
from bot.service.chat import Chat

log = logging.getLogger(__name__)


def post_or_withdraw(
    *,
    chat: Chat,
    approvals: ApprovalService,
    audit: AuditTrail | None,
    record: ApprovalRecord,
    channel: str | None = None,
) -> str | None:
    """Show the request to its approvers; if nobody can be shown it, withdraw it (audited) and
    return why. A request approvers cannot see would wait until it expires while its requester
    is told it waits: fail closed, and say what to fix."""
    problem = chat.post_request(record, channel=channel)
    if problem is None:
        return None
    withdrawn = approvals.withdraw(record.id, reason=problem)
    record_request_event(
        audit, event="withdrawn", actor="bot", approval_id=record.id, record=record, detail=problem
    )
    log.error("approval request #%s withdrawn: %s", record.id, problem)
    return problem if withdrawn is not None else None


def report_tampered(*, chat: Chat, audit: AuditTrail | None, record: ApprovalRecord) -> None:
    """A request just marked tampered (``ApprovalService``'s ``on_tampered``): audited, then
    told where approvers look. Its requester and message are not used: they may be what
    was edited."""
    record_request_event(
        audit,
        event="tampered",
        actor="bot",
        approval_id=record.id,
        record=record,
        detail=record.outcome,
    )
    log.error("approval request #%s failed verification: %s", record.id, record.outcome)
    command = record.command_text if len(record.command_text) <= 200 else "(too long to show)"
    chat.announce(
        record,
        f"Request #{record.id} failed its integrity check: its stored record was changed "
        f"outside the bot, or stored before requests carried a MAC ({record.outcome}). It was "
        f"marked tampered and will never run. As stored now: /docker {command} on "
        f"{record.engine}. Check who can write the bot's database.",
    )


def lease_renewal(service: ApprovalService) -> Periodic:
    """Renews ``service``'s execution leases while its process lives, as often as its rules
    need (started and stopped by its owner): in the front, by ``ExpirySweeper``; in the work
    process, which runs the approved plans, by its composition root."""
    return Periodic(
        name="approval-leases",
        interval=service.renew_leases_every.total_seconds(),
        task=service.renew_leases,
    )


class ExpirySweeper:
    """Every ``interval`` seconds (and once at start, after a restart): expires overdue
    requests and reports executions that their process abandoned (a crash) as interrupted.
    Lease renewal runs on its own thread: a sweep that runs a veto-window plan on a slow
    engine must not let this process's own executions look abandoned."""

    def __init__(
        self,
        *,
        service: ApprovalService,
        chat: Chat,
        audit: AuditTrail | None,
        interval: float = 10.0,
    ) -> None:
        self._service = service
        self._chat = chat
        self._audit = audit
        self._sweeps = Periodic(name="approval-expiry", interval=interval, task=self.sweep)
        self._leases = lease_renewal(service)

    def start(self) -> None:
        self._leases.start()
        self._sweeps.start()

    def stop(self) -> None:
        self._sweeps.stop()
        self._leases.stop()

    def sweep(self) -> None:
        """Move what is due (abandoned executions, ended windows), then make the reports owed:
        these moves', and any a stop cut short before (each move owes its report in its own
        transaction: nothing moved goes untold)."""
        self._service.interrupt_abandoned()
        self._report_owed()
        self._service.expire_due()  # runs veto-window plans: the interrupted are told first
        self._report_owed()

    def _report_owed(self) -> None:
        while (owed := self._service.next_owed_report()) is not None:
            self._report(owed)
            self._service.report_made(owed.record.id)

    def _report(self, owed: OwedReport) -> None:
        record = owed.record
        match owed.kind:
            case ReportKind.INTERRUPTED:
                self._report_interrupted(record)
            case ReportKind.EXPIRED:
                if not record.auto_run:
                    record_request_event(
                        self._audit,
                        event="expired",
                        actor="bot",
                        approval_id=record.id,
                        record=record,
                    )
                self._chat.update_request(record)
                self._chat.tell_requester(record, f"Your request #{record.id} expired.")
                self._audit_auto_run(record)
            case ReportKind.RAN:
                self._chat.update_request(record)
                self._audit_auto_run(record)
            case None:
                # Not a report any sweep owes: a request edited after it ended (quarantined
                # by the service), or a report row added outside the bot. Nothing is told of
                # the request, nor audited; an edit of the database is, where approvers look
                # (not through a record that fails verification: it may name any channel).
                why = (
                    "its record fails verification"
                    if not record.intact
                    else "no sweep ends a request that way (the row was added outside the bot)"
                )
                log.error(
                    "a report owed about request #%s (%s) was not made: %s",
                    record.id,
                    record.state.value,
                    why,
                )
                if record.intact:
                    self._chat.announce(
                        record,
                        f"The approvals database was edited outside the bot: a report about "
                        f"request #{record.id} ({record.state.value}) was found owed, which "
                        "no sweep owes. Nothing was told or audited from it.",
                    )
            case _:
                assert_never(owed.kind)

    def _audit_auto_run(self, record: ApprovalRecord) -> None:
        """A veto-window plan's end (run, or held by a freeze), in the audit."""
        if record.auto_run and self._audit is not None:
            self._audit.record(
                event=record.state.value,
                actor="bot",
                engine=record.engine,
                command=record.command_text,
                detail=f"#{record.id} {record.outcome}",
            )

    def _report_interrupted(self, record: ApprovalRecord) -> None:
        record_request_event(
            self._audit,
            event="interrupted",
            actor="bot",
            approval_id=record.id,
            record=record,
            detail=record.outcome,
        )
        self._chat.update_request(record)
        text = (
            f"Request #{record.id} (/docker {record.command_text} on {record.engine}) was "
            "interrupted: the bot stopped while running it. It was not run again; check what "
            "is left on the engine and ask again if needed."
        )
        self._chat.announce(record, text)
        self._chat.tell_requester(record, text)
