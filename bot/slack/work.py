"""Everything after Slack's acknowledgement: run the request, answer the person.

The front (``bot.slack.commands``, the button listener) parses, acknowledges and hands a
``WorkOrder`` to a dispatcher. Orders are plain, picklable values, so the work can run in
another process (``bot.slack.dispatch``): rendering a 500-row listing and the Web API calls
that deliver it then never share an interpreter lock with the acknowledgements.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.core.approvals import ApprovalOutcomeKind, ApprovalRecord, ApprovalService
from bot.core.audit import AuditTrail, record_request_event
from bot.core.operations import BotOperation, ParsedCommand, Pull, changes_something
from bot.core.pipeline import Pipeline, Reply
from bot.core.policy import Actor
from bot.core.results import ApprovalRequested, ApprovalUpdate
from bot.errors import ChatOpsError, EngineBusy
from bot.render.shared import SharedRenders
from bot.render.slack_blocks import credit_line, render_slack
from bot.slack.approvals import ApprovalMessages
from bot.slack.delivery import Conversation, Delivery, SlackPullProgress
from bot.slack.orders import ClickOrder, CommandOrder, WorkOrder
from bot.workers import EngineWorkers

log = logging.getLogger(__name__)


class ResponseUrl:
    """Bolt's ``respond`` rebuilt from the URL alone (the work may run in another process)."""

    def __init__(self, url: str) -> None:
        self._url = url

    def __call__(self, **kwargs: Any) -> Any:
        return WebhookClient(self._url).send(**kwargs)


class SlackWork:
    """Runs orders on the engines' workers and answers through Slack."""

    def __init__(
        self,
        *,
        pipeline: Pipeline,
        workers: EngineWorkers,
        client: WebClient,
        approvals: ApprovalService,
        messages: ApprovalMessages,
        audit: AuditTrail | None,
        groups_of: Callable[[str], frozenset[str]],
        default_engine: str,
        changes_in_channel: bool,
        listings_in_channel: bool,
        wait_for_acks: Callable[[], None] = lambda: None,
    ) -> None:
        self._pipeline = pipeline
        self._workers = workers
        self._client = client
        self._approvals = approvals
        self._messages = messages
        self._audit = audit
        self._groups_of = groups_of
        self._default_engine = default_engine
        self._changes_in_channel = changes_in_channel
        self._listings_in_channel = listings_in_channel
        self._wait_for_acks = wait_for_acks
        self._renders = SharedRenders()

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
                conversation = Conversation(
                    channel_id=order.actor.channel_id or "", user_id=order.actor.user_id,
                    respond=ResponseUrl(order.response_url),
                )  # fmt: skip
                try:
                    self._workers.submit(
                        self._engine_for(order.command),
                        _then(
                            lambda: self._command(order.command, order.actor, conversation), done
                        ),
                    )
                except EngineBusy as err:
                    done()
                    command = order.command
                    Delivery(client=self._client, conversation=conversation).reply(
                        render_slack(Reply(text=command.shown, command=command, error=err)),
                        in_channel=False, replace=changes_something(command.operation),
                    )  # fmt: skip
            case ClickOrder():
                # An approval runs the plan on its engine, so it queues there; a rejection
                # needs no engine and never waits behind engine work.
                record = self._approvals.get(order.request_id) if order.approve else None
                respond = ResponseUrl(order.response_url)
                try:
                    self._workers.submit(
                        record.engine if record is not None else None,
                        _then(lambda: self._click(order, respond), done),
                    )
                except EngineBusy as err:
                    done()
                    respond(text=str(err), response_type="ephemeral", replace_original=False)

    def _engine_for(self, command: ParsedCommand) -> str | None:
        """The engine whose workers run ``command`` (None: it needs none)."""
        if isinstance(command.operation, BotOperation):
            return None
        return command.engine or self._default_engine

    # --- slash commands -------------------------------------------------------------------

    def _command(self, command: ParsedCommand, actor: Actor, conversation: Conversation) -> None:
        self._wait_for_acks()
        try:
            self._answer(command, actor, conversation)
        except Exception:  # a worker must never die silently
            log.exception("failed to answer %r", command.shown)

    def _answer(self, command: ParsedCommand, actor: Actor, conversation: Conversation) -> None:
        delivery = Delivery(client=self._client, conversation=conversation)
        actor = dataclasses.replace(actor, groups=self._groups_of(actor.user_id))
        changes = changes_something(command.operation)
        in_channel = self._changes_in_channel if changes else self._listings_in_channel
        progress = None
        if isinstance(command.operation, Pull) and in_channel and not command.operation.quiet:
            progress = SlackPullProgress(
                client=self._client,
                conversation=conversation,
                reference=str(command.operation.image),
                credit=credit_line(actor.user_id, command.shown, command.engine),
            )
        reply = self._pipeline.run(command, actor=actor, progress=progress)
        if reply.error is not None:
            # Errors go to the person who asked, in place of the "working on" note.
            delivery.reply(render_slack(reply), in_channel=False, replace=changes)
            return
        if isinstance(reply.result, ApprovalRequested | ApprovalUpdate):
            record = reply.result.record
            if record is not None and isinstance(reply.result, ApprovalRequested):
                problem = self._messages.post_or_withdraw(record)
                if problem is not None:
                    error = ChatOpsError(
                        f"Request #{record.id} was withdrawn and nothing was run: {problem}."
                    )
                    refused = dataclasses.replace(reply, result=None, error=error)
                    delivery.reply(render_slack(refused), in_channel=False, replace=changes)
                    return
            elif record is not None:
                self._messages.update(record)
            # Only the requester hears that their request waits (or was withdrawn).
            delivery.reply(render_slack(reply), in_channel=False, replace=changes)
            return
        requester = actor.user_id if in_channel else None
        message = self._renders.render(
            reply, requester, lambda: render_slack(reply, requester=requester)
        )
        if progress is not None and progress.finish(message):
            delivery.attach(message.files, in_channel=True)
            return
        delivery.reply(message, in_channel=in_channel, replace=changes and not in_channel)

    # --- approval clicks ------------------------------------------------------------------

    def _audit_event(
        self, event: str, user: str, request_id: int, record: ApprovalRecord | None,
        detail: str = "",
    ) -> None:  # fmt: skip
        record_request_event(self._audit, event=event, actor=user, request_id=request_id,
                             record=record, detail=detail)  # fmt: skip

    def _click(self, order: ClickOrder, respond: ResponseUrl) -> None:
        try:
            self._decide(order, respond)
        except Exception:
            log.exception("failed to handle a click on #%s", order.request_id)

    def _decide(self, order: ClickOrder, respond: ResponseUrl) -> None:
        request_id, user, approve = order.request_id, order.user_id, order.approve
        groups = self._groups_of(user)
        if approve:
            outcome = self._approvals.approve(request_id, user_id=user, groups=groups)
        else:
            outcome = self._approvals.reject(request_id, user_id=user, groups=groups)
        record = outcome.record
        if outcome.kind is ApprovalOutcomeKind.REFUSED or record is None:
            self._audit_event("refused", user, request_id, record, outcome.message)
            respond(text=outcome.message, response_type="ephemeral", replace_original=False)
            return
        # The audit trail first: what happened is recorded before anyone is shown it.
        self._audit_event("approved" if approve else "rejected", user, request_id, record)
        if outcome.kind is ApprovalOutcomeKind.EXECUTED:
            self._audit_event(record.state.value, user, request_id, record, record.outcome)
        self._messages.update(record)
        if outcome.kind is ApprovalOutcomeKind.RECORDED:
            respond(text=outcome.message, response_type="ephemeral", replace_original=False)
            return
        verb = "approved and run" if approve else "rejected"
        self._messages.tell_requester(
            record, f"Your request #{request_id} was {verb}: {record.outcome or record.state.value}"
        )


def _then(task: Callable[[], None], done: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            task()
        finally:
            done()

    return run
