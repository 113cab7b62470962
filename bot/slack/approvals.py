"""Approvals in Slack: the request message with its buttons, clicks on them, expiry."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.core.approvals import ApprovalRecord, ApprovalService
from bot.core.audit import AuditTrail, record_request_event
from bot.periodic import Periodic
from bot.render.slack_blocks import APPROVE_ACTION, approval_request_blocks, escape, section
from bot.slack.orders import ClickOrder, WorkOrder

log = logging.getLogger(__name__)


class ApprovalMessages:
    """Posts and updates request messages; tells requesters what became of their request."""

    def __init__(self, *, client: WebClient, service: ApprovalService, channel: str | None,
                 approvers: str, audit: AuditTrail | None = None) -> None:  # fmt: skip
        self._client = client
        self._service = service
        self._channel = channel
        self._approvers = approvers
        self._audit = audit

    def post_or_withdraw(self, record: ApprovalRecord, *, channel: str | None = None) -> str | None:
        """Post the request; if nobody can be shown it, withdraw it (audited) and return why.

        A request that approvers cannot see would wait until it expires, while its requester
        is told it waits: fail closed, and say what to fix.
        """
        problem = self.post(record, channel=channel)
        if problem is None:
            return None
        withdrawn = self._service.withdraw(record.id, reason=problem)
        record_request_event(self._audit, event="withdrawn", actor="bot", request_id=record.id,
                             record=record, detail=problem)  # fmt: skip
        log.error("approval request #%s withdrawn: %s", record.id, problem)
        return problem if withdrawn is not None else None

    def post(self, record: ApprovalRecord, *, channel: str | None = None) -> str | None:
        """Show the request to approvers; None when posted, else why it could not be (a
        request nobody can see must be withdrawn, not left waiting)."""
        channel = channel or self._channel or record.channel_id
        if channel is None:
            return "no channel to post it in ([approvals] channel)"
        try:
            answer = self._client.chat_postMessage(
                channel=channel, text=f"{_title(record)} #{record.id}",
                blocks=approval_request_blocks(record, approvers=self._approvers),
            )  # fmt: skip
        except SlackClientError as err:
            log.warning("could not post approval request #%s: %s", record.id, err)
            return cannot_post(channel, err)
        self._service.attach_message(record.id, channel=channel, ts=str(answer["ts"]))
        return None

    def announce(self, record: ApprovalRecord, text: str) -> None:
        """A notice about the request where approvers look (failures are logged)."""
        channel = self._channel or record.message_channel or record.channel_id
        if channel is None:
            log.error("nowhere to report #%s: %s", record.id, text)
            return
        try:
            self._client.chat_postMessage(
                channel=channel, text=escape(text), blocks=[section(escape(text)).to_dict()]
            )
        except SlackClientError as err:
            log.error("could not report #%s in %s (%s): %s", record.id, channel, err, text)

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


def cannot_post(channel: str, err: SlackClientError) -> str:
    """Why the bot could not post in ``channel``, with what a person can do about it."""
    code = err.response.get("error") if isinstance(err, SlackApiError) else None
    if code in ("not_in_channel", "channel_not_found", "is_archived"):
        return (
            f"the bot cannot post in channel {channel} ({code}); invite it there "
            "(`/invite @docker`) or set [approvals] channel to a channel it is in"
        )
    return f"the bot could not post in channel {channel} ({code or err})"


def _title(record: ApprovalRecord) -> str:
    return "Scheduled cleanup" if record.auto_run else "Approval request"


class ApprovalButtons:
    """Bolt listener for the Approve and Reject buttons: acknowledge, hand the click over
    (``bot.slack.work`` decides it, as the person who clicked)."""

    def __init__(self, *, dispatch: Callable[[WorkOrder], None]) -> None:
        self._dispatch = dispatch

    def __call__(
        self, ack: Callable[..., Any], body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        ack()
        value = str(action.get("value", ""))
        if not value.isdigit():
            return
        self._dispatch(
            ClickOrder(
                request_id=int(value),
                user_id=str((body.get("user") or {}).get("id", "")),
                channel_id=str((body.get("channel") or {}).get("id", "")),
                approve=action.get("action_id") == APPROVE_ACTION,
                response_url=str(body.get("response_url", "")),
            )
        )


class ExpirySweeper:
    """Every ``interval`` seconds (and once at start, after a restart): expires overdue
    requests and reports executions that their process abandoned (a crash) as interrupted.
    Lease renewal runs on its own thread: a sweep that runs a veto-window plan on a slow
    engine must not let this process's own executions look abandoned."""

    def __init__(self, *, service: ApprovalService, messages: ApprovalMessages,
                 audit: AuditTrail | None, interval: float = 10.0,
                 renew_interval: float = 5.0) -> None:  # fmt: skip
        self._service = service
        self._messages = messages
        self._audit = audit
        self._sweeps = Periodic(name="approval-expiry", interval=interval, task=self.sweep)
        self._leases = Periodic(
            name="approval-leases", interval=renew_interval, task=service.renew_leases
        )

    def start(self) -> None:
        self._leases.start()
        self._sweeps.start()

    def stop(self) -> None:
        self._sweeps.stop()
        self._leases.stop()

    def sweep(self) -> None:
        for record in self._service.interrupt_abandoned():
            self._report_interrupted(record)
        for record in self._service.expire_due():
            if not record.auto_run:
                record_request_event(self._audit, event="expired", actor="bot",
                                     request_id=record.id, record=record)  # fmt: skip
            self._messages.update(record)
            self._messages.tell_requester(record, f"Your request #{record.id} expired.")
            if record.auto_run and self._audit is not None:
                self._audit.record(event=record.state.value, actor="bot", engine=record.engine,
                                   command=record.command_text,
                                   detail=f"#{record.id} {record.outcome}")  # fmt: skip

    def _report_interrupted(self, record: ApprovalRecord) -> None:
        record_request_event(self._audit, event="interrupted", actor="bot", request_id=record.id,
                             record=record, detail=record.outcome)  # fmt: skip
        self._messages.update(record)
        text = (
            f"Request #{record.id} (/docker {record.command_text} on {record.engine}) was "
            "interrupted: the bot stopped while running it. It was not run again; check what "
            "is left on the engine and ask again if needed."
        )
        self._messages.announce(record, text)
        self._messages.tell_requester(record, text)
