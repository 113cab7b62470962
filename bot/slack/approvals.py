"""Approvals in Slack: the request message with its buttons, and clicks on them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.core.approvals import ApprovalRecord, ApprovalService
from bot.core.rate_limit import RateLimiter
from bot.service.orders import ClickOrder, WorkOrder
from bot.slack.clicks import ClickListener, Respond
from bot.slack.render.block_kit import escape, section
from bot.slack.render.replies import APPROVE_ACTION, approval_request_blocks
from bot.slack.reply_targets import DirectMessageTarget, ResponseUrlTarget

log = logging.getLogger(__name__)


class ApprovalMessages:
    """Posts and updates request messages; tells requesters what became of their request."""

    def __init__(
        self, *, client: WebClient, service: ApprovalService, channel: str | None, approvers: str
    ) -> None:
        self._client = client
        self._service = service
        self._channel = channel
        self._approvers = approvers

    def post(self, record: ApprovalRecord, *, channel: str | None = None) -> str | None:
        """Show the request to approvers; None when posted, else why it could not be (a
        request nobody can see must be withdrawn, not left waiting)."""
        channel = channel or self._channel or record.channel_id
        if channel is None:
            return "no channel to post it in ([approvals] channel)"
        try:
            answer = self._client.chat_postMessage(
                channel=channel,
                text=f"{_title(record)} #{record.id}",
                blocks=approval_request_blocks(record, approvers=self._approvers),
            )
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
        if not current.message_channel or not current.message_ts or not current.intact:
            return  # a record that failed verification may point at another message
        try:
            self._client.chat_update(
                channel=current.message_channel,
                ts=current.message_ts,
                text=f"{_title(current)} #{current.id}: {current.state.value}",
                blocks=approval_request_blocks(current, approvers=self._approvers),
            )
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


class ApprovalButtons(ClickListener):
    """Bolt listener for the Approve and Reject buttons: the click is handed over as it is
    (``bot.service.requests.RequestService`` decides it, as the person who clicked). Approvers
    click where the request was posted, so no channel gate."""

    def __init__(
        self, *, dispatch: Callable[[WorkOrder], None], rate: RateLimiter | None = None
    ) -> None:
        """``rate``: each person's share (``[access] user_rate_limit``; None: no limit)."""
        super().__init__(dispatch=dispatch, rate=rate)

    def order(
        self, body: dict[str, Any], action: dict[str, Any], respond: Respond | None
    ) -> ClickOrder | None:
        value = str(action.get("value", ""))
        if not value.isdigit():
            return None
        url = body.get("response_url")
        return ClickOrder(
            approval_id=int(value),
            user_id=str((body.get("user") or {}).get("id", "")),
            channel_id=str((body.get("channel") or {}).get("id", "")),
            approve=action.get("action_id") == APPROVE_ACTION,
            # A click in the Home tab comes with no response URL: answered by DM.
            reply_to=ResponseUrlTarget(url=str(url)) if url else DirectMessageTarget(),
        )
