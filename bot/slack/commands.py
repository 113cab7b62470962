"""The ``/docker`` slash command: acknowledge at once, work afterwards, answer by response_url.

Slack wants an HTTP 200 within 3 s. Parsing happens before the acknowledgement (it is cheap and
lets bad input be answered in the acknowledgement itself); engine work never does. It runs on
the bot's own worker pool, so a stalled engine cannot hold up Bolt's listener threads and with
them the acknowledgements of later commands.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.core.operations import Help, ParsedCommand, Pull, changes_something
from bot.core.parsing.parser import parse_command
from bot.core.pipeline import Pipeline, Reply
from bot.core.policy import Actor
from bot.core.results import ApprovalRequested, ApprovalUpdate
from bot.errors import AccessDenied, ChatOpsError, EngineBusy
from bot.render.slack_blocks import code, context, credit_line, render_slack
from bot.slack.approvals import ApprovalMessages
from bot.slack.delivery import Conversation, Delivery, Respond, SlackPullProgress
from bot.slack.priority import AckFirst
from bot.workers import EngineWorkers

log = logging.getLogger(__name__)


def unescape_slack(text: str) -> str:
    """Slack sends ``&``, ``<`` and ``>`` in command text as HTML entities."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class SlashCommandHandler:
    """Bolt listener for ``/docker``."""

    def __init__(
        self,
        *,
        pipeline: Pipeline,
        workers: EngineWorkers,
        changes_in_channel: bool,
        listings_in_channel: bool,
        engine_for: Callable[[ParsedCommand], str | None] = lambda command: None,
        channel_refusal: Callable[[str | None], str | None] = lambda channel: None,
        ack_first: AckFirst | None = None,
        groups_of: Callable[[str], frozenset[str]] | None = None,
        approval_messages: ApprovalMessages | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._approval_messages = approval_messages
        self._groups_of = groups_of
        self._workers = workers
        self._engine_for = engine_for
        self._channel_refusal = channel_refusal
        self._ack_first = ack_first
        self._changes_in_channel = changes_in_channel
        self._listings_in_channel = listings_in_channel

    def __call__(
        self, ack: Callable[..., Any], body: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        text = unescape_slack(str(body.get("text", ""))).strip()
        actor = Actor(user_id=str(body.get("user_id", "")), channel_id=body.get("channel_id"))
        refusal = self._channel_refusal(actor.channel_id)
        if refusal is not None:
            # Nothing from a channel the bot does not serve is even parsed.
            message = render_slack(Reply(text="", error=AccessDenied(f"Not allowed: {refusal}.")))
            ack(text=message.text, blocks=message.blocks, response_type="ephemeral")
            return
        try:
            command = parse_command(text)
        except ChatOpsError as err:
            message = render_slack(Reply(text="", error=err))
            ack(text=message.text, blocks=message.blocks, response_type="ephemeral")
            return
        if isinstance(command.operation, Help):
            message = render_slack(self._pipeline.run(command, actor=actor))
            ack(text=message.text, blocks=message.blocks, response_type="ephemeral")
            return
        if changes_something(command.operation):
            shown = command.shown
            working = f":hourglass_flowing_sand: Working on {code('docker ' + shown)}…"
            ack(text=f"Working on docker {shown}", blocks=[context(working).to_dict()],
                response_type="ephemeral")  # fmt: skip
        else:
            ack()
        conversation = Conversation(
            channel_id=str(body.get("channel_id", "")), user_id=actor.user_id, respond=respond
        )
        try:
            self._workers.submit(
                self._engine_for(command),
                lambda: self._work(command, actor, conversation, client),
            )
        except EngineBusy as err:
            Delivery(client=client, conversation=conversation).reply(
                render_slack(Reply(text=command.shown, command=command, error=err)),
                in_channel=False, replace=changes_something(command.operation),
            )  # fmt: skip

    def _work(
        self, command: ParsedCommand, actor: Actor, conversation: Conversation, client: WebClient
    ) -> None:
        if self._ack_first is not None:
            self._ack_first.wait_for_quiet()
        try:
            self._answer(command, actor, conversation, client)
        except Exception:  # a worker must never die silently
            log.exception("failed to answer %r", command.shown)

    def _answer(
        self, command: ParsedCommand, actor: Actor, conversation: Conversation, client: WebClient
    ) -> None:
        delivery = Delivery(client=client, conversation=conversation)
        if self._groups_of is not None:
            actor = dataclasses.replace(actor, groups=self._groups_of(actor.user_id))
        changes = changes_something(command.operation)
        in_channel = self._changes_in_channel if changes else self._listings_in_channel
        progress = None
        if isinstance(command.operation, Pull) and in_channel and not command.operation.quiet:
            progress = SlackPullProgress(
                client=client,
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
            if self._approval_messages is not None and record is not None:
                if isinstance(reply.result, ApprovalRequested):
                    problem = self._approval_messages.post_or_withdraw(record)
                    if problem is not None:
                        error = ChatOpsError(
                            f"Request #{record.id} was withdrawn and nothing was run: {problem}."
                        )
                        refused = dataclasses.replace(reply, result=None, error=error)
                        delivery.reply(render_slack(refused), in_channel=False, replace=changes)
                        return
                else:
                    self._approval_messages.update(record)
            # Only the requester hears that their request waits (or was withdrawn).
            delivery.reply(render_slack(reply), in_channel=False, replace=changes)
            return
        message = render_slack(reply, requester=actor.user_id if in_channel else None)
        if progress is not None and progress.finish(message):
            delivery.attach(message.files, in_channel=True)
            return
        delivery.reply(message, in_channel=in_channel, replace=changes and not in_channel)
