"""What a scheduled housekeeping run does, chat-neutral: clean an engine now (counted), or
propose the plan as a request that runs when its veto window ends unless someone cancels it.

When runs happen (crontabs, one replica per scheduled time) is ``bot.housekeeping.scheduler``'s;
what may go is ``bot.core.cleanup``'s; the report goes to chat through the scheduler's
``notify`` (Slack's: ``bot.slack.delivery.post_cleanup_report``).
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.approvals import ApprovalService
from bot.core.audit import AuditTrail
from bot.core.command import ParsedCommand
from bot.core.engine import EngineDirectory
from bot.core.notices.intents import IntentLog, acting, planned
from bot.core.operations import Cleanup
from bot.core.results import CleanupReport
from bot.service.approvals import post_or_withdraw
from bot.service.chat import Chat
from bot.service.metrics import HOUSEKEEPING_BYTES, HOUSEKEEPING_OBJECTS, Metrics, NoMetrics

REQUESTER = "housekeeping"  # the requester of a proposed cleanup


class Housekeeping:
    """Cleanups on the named engines, counted, and cleanups proposed for a veto window."""

    def __init__(
        self,
        *,
        engines: EngineDirectory,
        approvals: ApprovalService,
        chat: Chat,
        audit: AuditTrail | None,
        metrics: Metrics | None = None,
        intents: IntentLog | None = None,
    ) -> None:
        self._engines = engines
        self._intents = intents
        self._approvals = approvals
        self._chat = chat
        self._audit = audit
        self._metrics = metrics or NoMetrics()

    def clean(self, engine: str, dry_run: bool) -> CleanupReport:
        """Run ``engine``'s cleanup now (or preview it: ``bot.core.cleanup.run_cleanup``'s
        steps); what a real run removed is counted."""
        target = self._engines.get(engine)
        plan = target.plan_cleanup()
        if dry_run:
            return CleanupReport(engine=engine, dry_run=True, removed=plan.items)
        # Recorded before it runs, like a person's: the notices know it was housekeeping.
        with acting(self._intents, engine=engine, what=planned(plan), user=REQUESTER):
            report = target.apply_cleanup(plan)
        labels = (("engine", engine),)
        self._metrics.count(HOUSEKEEPING_OBJECTS, labels, len(report.removed))
        self._metrics.count(HOUSEKEEPING_BYTES, labels, report.space_reclaimed)
        return report

    def propose(self, *, engine: str, channel: str | None, veto_window: timedelta) -> str:
        """Post ``engine``'s cleanup plan to ``channel`` as a request that runs when
        ``veto_window`` ends unless cancelled; returns the run's summary. An empty plan is not
        posted; one nobody can be shown is withdrawn (and so never runs)."""
        command = ParsedCommand(operation=Cleanup())
        plan = self._approvals.plan(command, engine=engine)
        if not plan.items:
            return "nothing to do"
        record = self._approvals.request(
            requester=REQUESTER,
            channel_id=channel,
            command=command,
            engine=engine,
            plan=plan,
            veto_window=veto_window,
        )
        problem = post_or_withdraw(
            chat=self._chat,
            approvals=self._approvals,
            audit=self._audit,
            record=record,
            channel=channel,
        )
        if problem is not None:
            return f"not run: #{record.id} was withdrawn ({problem})"
        if self._audit is not None:
            self._audit.record(
                event="cleanup_proposed",
                actor="bot",
                engine=engine,
                command="cleanup",
                detail=f"#{record.id}: {len(plan.items)} object(s)",
            )
        return f"proposed as #{record.id}, runs in {veto_window} unless cancelled"
