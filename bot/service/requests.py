"""Everything after the acknowledgement: run the request, answer the person, chat-neutral.

A chat front parses, acknowledges and hands a ``WorkOrder`` to a dispatcher. Orders are plain,
picklable values, so the work can run in another process (``bot.slack.dispatch``): rendering a
500-row listing and the calls that deliver it then never share an interpreter lock with the
acknowledgements. Answers go out through the chat port (``bot.service.chat``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

from bot.core.approvals import ApprovalOutcomeKind, ApprovalRecord, ApprovalService
from bot.core.audit import AuditTrail, record_request_event
from bot.core.command import ParsedCommand
from bot.core.operations import (
    BotOperation,
    Pull,
    UpgradeContainers,
    action_name,
    changes_something,
)
from bot.core.pipeline import Pipeline, Reply
from bot.core.policy import Actor
from bot.core.results import ApprovalRequested, ApprovalUpdate
from bot.core.trace_ids import handling
from bot.errors import ChatOpsError, EngineBusy
from bot.logs import REQUEST, request_fields
from bot.service.approvals import post_or_withdraw
from bot.service.chat import Chat, Requester
from bot.service.metrics import APPROVALS, COMMAND_SECONDS, COMMANDS, Metrics, NoMetrics
from bot.service.orders import ClickOrder, CommandOrder, WorkOrder
from bot.workers import EngineWorkers

log = logging.getLogger(__name__)


class RequestService:
    """Runs orders on the engines' workers and answers through the chat port."""

    def __init__(
        self,
        *,
        pipeline: Pipeline,
        workers: EngineWorkers,
        chat: Chat,
        approvals: ApprovalService | None,
        audit: AuditTrail | None,
        default_engine: str,
        changes_in_channel: bool,
        listings_in_channel: bool,
        wait_for_acks: Callable[[], None] = lambda: None,
        metrics: Metrics | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._workers = workers
        self._chat = chat
        self._approvals = approvals
        self._audit = audit
        self._default_engine = default_engine
        self._changes_in_channel = changes_in_channel
        self._listings_in_channel = listings_in_channel
        self._wait_for_acks = wait_for_acks
        self._metrics = metrics or NoMetrics()

    def run(self, order: WorkOrder, *, done: Callable[[], None] = lambda: None) -> None:
        """Queue ``order`` on the workers of the engine it needs (never blocks on work);
        ``done`` is called once it has been answered, whatever happened."""
        try:
            self._submit(order, done)
        except BaseException:
            done()
            raise

    def shutdown(self) -> None:
        """Finish the work under way."""
        self._workers.shutdown(wait=True)

    def _submit(self, order: WorkOrder, done: Callable[[], None]) -> None:
        match order:
            case CommandOrder():
                to = Requester(
                    channel_id=order.actor.channel_id or "",
                    user_id=order.actor.user_id,
                    reply_to=order.reply_to,
                    acknowledged=order.acknowledged,
                    public=order.public,
                )
                try:
                    self._workers.submit(
                        self._engine_for(order.command),
                        _then(
                            lambda: self._command(
                                order.command, order.actor, to, trace_id=order.trace_id
                            ),
                            done,
                        ),
                        user=order.actor.user_id,  # each person's fair share of the engine
                    )
                except EngineBusy as err:
                    done()
                    command = order.command
                    self._chat.answer(
                        to,
                        Reply(text=command.shown, command=command, error=err),
                        in_channel=False,
                        replace=changes_something(command.operation) and to.acknowledged,
                    )
            case ClickOrder():
                # An approval runs the plan on its engine, so it queues there; a rejection
                # needs no engine and never waits behind engine work.
                approvals = self._approvals
                record = approvals.get(order.approval_id) if order.approve and approvals else None
                clicker = Requester(
                    channel_id=order.channel_id, user_id=order.user_id, reply_to=order.reply_to
                )
                try:
                    self._workers.submit(
                        # A record that failed verification names no engine to trust.
                        record.engine if record is not None and record.intact else None,
                        _then(lambda: self._click(order, clicker), done),
                        user=order.user_id,
                    )
                except EngineBusy as err:
                    done()
                    self._chat.tell(clicker, str(err))

    def _engine_for(self, command: ParsedCommand) -> str | None:
        """The engine whose workers run ``command`` (None: it needs none)."""
        if isinstance(command.operation, BotOperation):
            return None
        return command.engine or self._default_engine

    # --- slash commands -------------------------------------------------------------------

    def _command(
        self, command: ParsedCommand, actor: Actor, to: Requester, *, trace_id: str
    ) -> None:
        self._wait_for_acks()
        with handling(trace_id):
            started = time.monotonic()
            outcome = "failed"
            try:
                outcome = self._answer(command, actor, to)
            except Exception:  # a worker must never die silently
                log.exception("failed to answer %r", command.shown)
            finally:
                seconds = time.monotonic() - started
                # One line per request (the request ID comes with every line logged meanwhile).
                log.info(
                    REQUEST,
                    extra=request_fields(
                        user=actor.user_id,
                        channel=actor.channel_id,
                        engine=self._engine_for(command),
                        command=command.shown,
                        outcome=outcome,
                        seconds=seconds,
                    ),
                )
                action = action_name(command.operation)
                self._metrics.count(
                    COMMANDS, (("action", action), ("outcome", outcome.split(" ")[0]))
                )
                self._metrics.observe(COMMAND_SECONDS, seconds, (("action", action),))

    def _answer(self, command: ParsedCommand, actor: Actor, to: Requester) -> str:
        """Run and answer ``command``; what became of it, for the log."""
        actor = dataclasses.replace(actor, groups=self._chat.groups_of(actor.user_id))
        changes = changes_something(command.operation)
        in_channel = to.public or (
            self._changes_in_channel if changes else self._listings_in_channel
        )
        replace = changes and to.acknowledged
        progress = None
        operation = command.operation
        pulls = isinstance(operation, UpgradeContainers) or (
            isinstance(operation, Pull) and not operation.quiet
        )
        if pulls and in_channel:
            progress = self._chat.pull_progress(to, command)
        reply = self._pipeline.run(command, actor=actor, progress=progress)
        if reply.error is not None:
            if progress is not None:
                progress.conclude("The pull stopped; the person who asked was told why.")
            # Errors go to the person who asked, in place of the "working on" note.
            self._chat.answer(to, reply, in_channel=False, replace=replace)
            return f"error ({type(reply.error).__name__})"
        if isinstance(reply.result, ApprovalRequested | ApprovalUpdate):
            record = reply.result.record
            if (
                record is not None
                and isinstance(reply.result, ApprovalRequested)
                and self._approvals is not None
            ):
                problem = post_or_withdraw(
                    chat=self._chat, approvals=self._approvals, audit=self._audit, record=record
                )
                if problem is not None:
                    error = ChatOpsError(
                        f"Request #{record.id} was withdrawn and nothing was run: {problem}."
                    )
                    refused = dataclasses.replace(reply, result=None, error=error)
                    if progress is not None:  # else it stays "Pulling", and nothing follows
                        progress.conclude(
                            "Pulled; the request was withdrawn (the person who asked was told why)."
                        )
                    self._chat.answer(to, refused, in_channel=False, replace=replace)
                    return f"withdrawn (#{record.id})"
            elif record is not None:
                self._chat.update_request(record)
            if progress is not None:
                progress.conclude("Pulled; what the upgrade would do waits for an approver.")
            # Only the requester hears that their request waits (or was withdrawn).
            self._chat.answer(to, reply, in_channel=False, replace=replace)
            return f"approval (#{record.id})" if record is not None else "approval"
        credit = actor.user_id if in_channel else None
        if progress is not None and progress.finish(reply, credit=credit):
            return "ok"
        self._chat.answer(
            to, reply, in_channel=in_channel, replace=replace and not in_channel, credit=credit
        )
        return "ok"

    # --- approval clicks ------------------------------------------------------------------

    def _audit_event(
        self,
        event: str,
        user: str,
        approval_id: int,
        record: ApprovalRecord | None,
        detail: str = "",
    ) -> None:
        record_request_event(
            self._audit,
            event=event,
            actor=user,
            approval_id=approval_id,
            record=record,
            detail=detail,
        )

    def _click(self, order: ClickOrder, clicker: Requester) -> None:
        with handling(order.trace_id):
            try:
                self._decide(order, clicker)
            except Exception:
                log.exception("failed to handle a click on #%s", order.approval_id)
            log.info(
                "click: %s on #%s by %s",
                "approve" if order.approve else "reject",
                order.approval_id,
                order.user_id,
            )

    def _decide(self, order: ClickOrder, clicker: Requester) -> None:
        approval_id, user, approve = order.approval_id, order.user_id, order.approve
        groups = self._chat.groups_of(user)
        if self._approvals is None:
            self._chat.tell(clicker, "Approvals are not set up here.")
            return
        if approve:
            outcome = self._approvals.approve(approval_id, user_id=user, groups=groups)
        else:
            outcome = self._approvals.reject(approval_id, user_id=user, groups=groups)
        record = outcome.record
        self._metrics.count(APPROVALS, (("outcome", outcome.kind.value),))
        if outcome.kind is ApprovalOutcomeKind.REFUSED or record is None:
            self._audit_event("refused", user, approval_id, record, outcome.message)
            self._chat.tell(clicker, outcome.message)
            return
        # The audit trail first: what happened is recorded before anyone is shown it.
        self._audit_event("approved" if approve else "rejected", user, approval_id, record)
        if outcome.kind is ApprovalOutcomeKind.EXECUTED:
            self._audit_event(record.state.value, user, approval_id, record, record.outcome)
        self._chat.update_request(record)
        if outcome.kind is ApprovalOutcomeKind.RECORDED:
            self._chat.tell(clicker, outcome.message)
            return
        verb = "approved and run" if approve else "rejected"
        self._chat.tell_requester(
            record,
            f"Your request #{approval_id} was {verb}: {record.outcome or record.state.value}",
        )


def _then(task: Callable[[], None], done: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            task()
        finally:
            done()

    return run
