"""Approvals in Slack: the request message with its buttons, clicks on them, expiry."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.core.approvals import ApprovalOutcomeKind, ApprovalRecord, ApprovalService
from bot.core.audit import AuditTrail
from bot.render.slack_blocks import approval_request_blocks, escape
from bot.slack.delivery import Respond

log = logging.getLogger(__name__)


class ApprovalMessages:
    """Posts and updates request messages; tells requesters what became of their request."""

    def __init__(self, *, client: WebClient, service: ApprovalService, channel: str | None,
                 approvers: str) -> None:  # fmt: skip
        self._client = client
        self._service = service
        self._channel = channel
        self._approvers = approvers

    def post(self, record: ApprovalRecord, *, channel: str | None = None) -> None:
        channel = channel or self._channel or record.channel_id
        if channel is None:
            return
        try:
            answer = self._client.chat_postMessage(
                channel=channel, text=f"{_title(record)} #{record.id}",
                blocks=approval_request_blocks(record, approvers=self._approvers),
            )  # fmt: skip
            self._service.attach_message(record.id, channel=channel, ts=str(answer["ts"]))
        except SlackClientError as err:
            log.warning("could not post approval request #%s: %s", record.id, err)

    def update(self, record: ApprovalRecord) -> None:
        """Show the request's current state in its message (buttons gone once decided)."""
        current = self._service.get(record.id) or record
        if not current.message_channel or not current.message_ts:
            return
        try:
            self._client.chat_update(
                channel=current.message_channel, ts=current.message_ts,
                text=f"{_title(current)} #{current.id}: {current.state.value}",
                blocks=approval_request_blocks(current, approvers=self._approvers),
            )  # fmt: skip
        except SlackClientError as err:
            log.warning("could not update approval request #%s: %s", record.id, err)

    def tell_requester(self, record: ApprovalRecord, text: str) -> None:
        if not record.channel_id or record.auto_run:  # the schedule asked: nobody to tell
            return
        try:
            self._client.chat_postEphemeral(
                channel=record.channel_id, user=record.requester, text=escape(text)
            )
        except SlackClientError as err:
            log.warning("could not tell %s about #%s: %s", record.requester, record.id, err)


def _title(record: ApprovalRecord) -> str:
    return "Scheduled cleanup" if record.auto_run else "Approval request"


class ApprovalButtons:
    """Bolt listener for the Approve and Reject buttons."""

    def __init__(
        self,
        *,
        service: ApprovalService,
        messages: ApprovalMessages,
        executor: Executor,
        groups_of: Callable[[str], frozenset[str]],
        audit: AuditTrail | None,
    ) -> None:
        self._service = service
        self._messages = messages
        self._executor = executor
        self._groups_of = groups_of
        self._audit = audit

    def __call__(
        self, ack: Callable[..., Any], body: dict[str, Any], action: dict[str, Any],
        respond: Respond,
    ) -> None:  # fmt: skip
        ack()
        user = str((body.get("user") or {}).get("id", ""))
        value = str(action.get("value", ""))
        if not value.isdigit():
            return
        approve = action.get("action_id") == "chatops_approve"
        self._executor.submit(self._click, int(value), user, approve, respond)

    def _click(self, request_id: int, user: str, approve: bool, respond: Respond) -> None:
        try:
            self._decide(request_id, user, approve, respond)
        except Exception:
            log.exception("failed to handle a click on #%s", request_id)

    def _decide(self, request_id: int, user: str, approve: bool, respond: Respond) -> None:
        groups = self._groups_of(user)
        if approve:
            outcome = self._service.approve(request_id, user_id=user, groups=groups)
        else:
            outcome = self._service.reject(request_id, user_id=user, groups=groups)
        record = outcome.record
        if outcome.kind is ApprovalOutcomeKind.REFUSED or record is None:
            self._audit_event("refused", user, request_id, outcome.message, record)
            respond(text=outcome.message, response_type="ephemeral", replace_original=False)
            return
        # The audit trail first: what happened is recorded before anyone is shown it.
        self._audit_event("approved" if approve else "rejected", user, request_id, "", record)
        if outcome.kind is ApprovalOutcomeKind.EXECUTED:
            self._audit_event(record.state.value, user, request_id, record.outcome, record)
        self._messages.update(record)
        if outcome.kind is ApprovalOutcomeKind.RECORDED:
            respond(text=outcome.message, response_type="ephemeral", replace_original=False)
            return
        verb = "approved and run" if approve else "rejected"
        self._messages.tell_requester(
            record, f"Your request #{request_id} was {verb}: {record.outcome or record.state.value}"
        )

    def _audit_event(
        self, event: str, user: str, request_id: int, detail: str, record: ApprovalRecord | None
    ) -> None:
        if self._audit is not None:
            self._audit.record(
                event=event, actor=user, channel_id=record.channel_id if record else None,
                engine=record.engine if record else None,
                command=record.command_text if record else "",
                detail=f"#{request_id} {detail}".strip(),
            )  # fmt: skip


class ExpirySweeper:
    """Expires overdue requests every ``interval`` seconds (and once at start, after a restart)."""

    def __init__(self, *, service: ApprovalService, messages: ApprovalMessages,
                 audit: AuditTrail | None, interval: float = 10.0) -> None:  # fmt: skip
        self._service = service
        self._messages = messages
        self._audit = audit
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="approval-expiry", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def sweep(self) -> None:
        for record in self._service.expire_due():
            if self._audit is not None and not record.auto_run:
                self._audit.record(
                    event="expired", actor="bot", channel_id=record.channel_id,
                    engine=record.engine, command=record.command_text, detail=f"#{record.id}",
                )  # fmt: skip
            self._messages.update(record)
            self._messages.tell_requester(record, f"Your request #{record.id} expired.")
            if record.auto_run and self._audit is not None:
                self._audit.record(event=record.state.value, actor="bot", engine=record.engine,
                                   command=record.command_text,
                                   detail=f"#{record.id} {record.outcome}")  # fmt: skip

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep()
            except Exception:
                log.exception("approval expiry sweep failed")
            self._stop.wait(self._interval)
