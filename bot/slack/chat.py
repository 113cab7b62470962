"""The chat port for Slack: the service's answers as Block Kit, over Slack's Web API."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, assert_never

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.core.approval_records import ApprovalRecord
from bot.core.command import ParsedCommand
from bot.core.operations import Pull, UpgradeContainers
from bot.core.pipeline import Reply
from bot.core.results import PullProgress
from bot.logs import conceal
from bot.render.shared import SharedRenders
from bot.service.chat import ProgressSink, Requester
from bot.slack.approvals import ApprovalMessages
from bot.slack.delivery import Conversation, Delivery, SlackPullProgress
from bot.slack.render.block_kit import escape
from bot.slack.render.replies import SlackMessage, credit_line, render_slack
from bot.slack.reply_targets import (
    DirectMessageTarget,
    ResponseUrlTarget,
    ThreadTarget,
    slack_target,
)
from bot.slack.web import retry_handlers

log = logging.getLogger(__name__)


class ThreadReply:
    """``respond`` for a command typed in a message: answers go in its thread (or, without
    one, in the conversation), for everyone or only for the person."""

    def __init__(self, *, client: WebClient, channel: str, user: str, thread_ts: str | None):
        self._client = client
        self._channel = channel
        self._user = user
        self._thread_ts = thread_ts

    def __call__(self, **kwargs: Any) -> Any:
        message = {
            "text": kwargs.get("text", ""),
            "blocks": kwargs.get("blocks"),
            "thread_ts": self._thread_ts,
        }
        if kwargs.get("response_type") == "in_channel":
            return self._client.chat_postMessage(
                channel=self._channel, unfurl_links=False, unfurl_media=False, **message
            )
        return self._client.chat_postEphemeral(channel=self._channel, user=self._user, **message)


class DirectReply:
    """``respond`` where there is no conversation (the Home tab): a direct message."""

    def __init__(self, *, client: WebClient, user: str) -> None:
        self._client = client
        self._user = user

    def __call__(self, **kwargs: Any) -> Any:
        opened = self._client.conversations_open(users=[self._user])
        return self._client.chat_postMessage(
            channel=str(opened["channel"]["id"]),
            text=kwargs.get("text", ""),
            blocks=kwargs.get("blocks"),
        )


class ResponseUrl:
    """Bolt's ``respond`` rebuilt from the URL alone (the work may run in another process).
    The URL is a credential (whoever has it may post as the bot): no log line shows it, the
    retries' and their errors' included."""

    def __init__(self, url: str) -> None:
        conceal(url)
        self._url = url

    def __call__(self, **kwargs: Any) -> Any:
        return WebhookClient(self._url, retry_handlers=retry_handlers()).send(**kwargs)


class SlackChat:
    """``bot.service.chat.Chat`` for Slack."""

    def __init__(
        self,
        *,
        client: WebClient,
        messages: ApprovalMessages,
        groups_of: Callable[[str], frozenset[str]],
    ) -> None:
        self._client = client
        self._messages = messages
        self._groups_of = groups_of
        self._renders: SharedRenders[SlackMessage] = SharedRenders()

    def answer(
        self,
        to: Requester,
        reply: Reply,
        *,
        in_channel: bool,
        replace: bool,
        credit: str | None = None,
    ) -> None:
        self._delivery(to).reply(
            self._render(reply, credit), in_channel=in_channel, replace=replace
        )

    def tell(self, to: Requester, text: str) -> None:
        try:
            self._respond(to)(text=escape(text), response_type="ephemeral", replace_original=False)
        except Exception as err:  # a note that cannot be delivered must not kill the worker
            log.warning("could not tell %s: %s", to.user_id, err)

    def pull_progress(self, to: Requester, command: ParsedCommand) -> ProgressSink | None:
        operation = command.operation
        if isinstance(operation, UpgradeContainers):
            # An upgrade pulls before anyone is asked; shown once a layer comes (an image
            # already here shows nothing).
            reference = (
                str(operation.image)
                if operation.image
                else "the image of " + ", ".join(operation.containers)
            )
            lazy = True
        elif isinstance(operation, Pull):
            reference, lazy = str(operation.image), False
        else:
            return None
        delivery = self._delivery(to)
        progress = SlackPullProgress(
            client=self._client,
            conversation=delivery.conversation,
            reference=reference,
            credit=credit_line(to.user_id, command.shown, command.engine),
            lazy=lazy,
        )
        return _PullSink(progress=progress, delivery=delivery, render=self._render)

    def post_request(self, record: ApprovalRecord, *, channel: str | None = None) -> str | None:
        return self._messages.post(record, channel=channel)

    def update_request(self, record: ApprovalRecord) -> None:
        self._messages.update(record)

    def tell_requester(self, record: ApprovalRecord, text: str) -> None:
        self._messages.tell_requester(record, text)

    def announce(self, record: ApprovalRecord, text: str) -> None:
        self._messages.announce(record, text)

    def groups_of(self, user: str) -> frozenset[str]:
        return self._groups_of(user)

    def _render(self, reply: Reply, credit: str | None) -> SlackMessage:
        # Fifty answers from one shared engine call are rendered once.
        return self._renders.render(reply, credit, lambda: render_slack(reply, requester=credit))

    def _respond(self, to: Requester) -> Callable[..., Any]:
        target = slack_target(to.reply_to)
        match target:
            case ThreadTarget():
                return ThreadReply(
                    client=self._client,
                    channel=target.channel,
                    user=to.user_id,
                    thread_ts=target.thread_ts,
                )
            case DirectMessageTarget():
                return DirectReply(client=self._client, user=to.user_id)
            case ResponseUrlTarget():
                return ResponseUrl(target.url)
            case _:
                assert_never(target)

    def _delivery(self, to: Requester) -> Delivery:
        target = slack_target(to.reply_to)
        thread_ts = target.thread_ts if isinstance(target, ThreadTarget) else None
        conversation = Conversation(
            channel_id=to.channel_id,
            user_id=to.user_id,
            respond=self._respond(to),
            thread_ts=thread_ts,
        )
        return Delivery(client=self._client, conversation=conversation)


class _PullSink:
    """A pull's progress message, which the result replaces (files attached beside it)."""

    def __init__(
        self,
        *,
        progress: SlackPullProgress,
        delivery: Delivery,
        render: Callable[[Reply, str | None], SlackMessage],
    ) -> None:
        self._progress = progress
        self._delivery = delivery
        self._render = render

    def __call__(self, event: PullProgress) -> None:
        self._progress(event)

    def conclude(self, text: str) -> None:
        self._progress.conclude(text)

    def finish(self, reply: Reply, *, credit: str | None) -> bool:
        message = self._render(reply, credit)
        if not self._progress.finish(message):
            return False
        self._delivery.attach(message.files, in_channel=True)
        return True
