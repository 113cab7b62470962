"""Commands typed in messages: ``@docker ps -a`` in a channel or thread, or a direct message.

Slack allows no slash commands in threads; a mention works anywhere the bot is, and its
answer goes in the thread (a mention outside a thread starts one). A direct message to the
bot is read as the command itself. The same access rules apply as to ``/docker``: the channel
check before any parsing, then roles, run policy and approvals in the service.

Slack retries an Events API delivery it thinks failed, with the same ``event_id``: each
event is claimed once (in the database, so also across replicas) before anything runs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.core.help import build_help
from bot.core.operations import Help
from bot.core.parsing.parser import parse_command
from bot.core.pipeline import Reply
from bot.core.policy import Actor
from bot.core.rate_limit import RateLimiter, refusal
from bot.errors import AccessDenied, ChatOpsError, ParseError, StateUnavailable
from bot.service.orders import CommandOrder, WorkOrder
from bot.slack.commands import unescape_slack
from bot.slack.render.replies import render_slack
from bot.slack.reply_targets import ThreadTarget

log = logging.getLogger(__name__)

MAX_MESSAGE_TEXT = 4_000  # a command is short; more is not read at all
# Slack's markup in message text: <@U123>, <#C123|name>, <http://x|x>, <mailto:a|a>.
_LEADING_MENTION = re.compile(r"\s*<@[A-Z0-9]+(?:\|[^>]*)?>\s*")
_LINK = re.compile(r"<((?:https?|mailto):[^|>\s]*)(?:\|([^>]*))?>")


class SeenEvents(Protocol):
    def first_time(self, event_id: str, *, now: datetime) -> bool: ...


def command_text(text: str, *, bot_user_id: str | None) -> str:
    """The command in a message: the bot's leading mention dropped, Slack's automatic links
    (``registry.example.com/app`` becomes ``<http://registry.example.com/app|...>``) put back
    as typed, entities unescaped. Longer than ``MAX_MESSAGE_TEXT``: ``ParseError`` (cutting
    it would run another command than the one typed)."""
    if len(text) > MAX_MESSAGE_TEXT:
        raise ParseError(
            f"That message is too long to be a command ({MAX_MESSAGE_TEXT:,} characters at most)."
        )
    mention = _LEADING_MENTION.match(text)
    if mention and (bot_user_id is None or f"<@{bot_user_id}" in mention.group(0)):
        text = text[mention.end() :]
    text = _LINK.sub(lambda m: m.group(2) if m.group(2) is not None else _bare(m.group(1)), text)
    return unescape_slack(text).strip()


def _bare(url: str) -> str:
    return url.removeprefix("mailto:")


class MessageCommands:
    """Bolt listener for ``app_mention`` and direct-message ``message`` events."""

    def __init__(
        self,
        *,
        dispatch: Callable[[WorkOrder], None],
        client: WebClient,
        seen: SeenEvents,
        channel_refusal: Callable[[str | None], str | None] = lambda channel: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rate: RateLimiter | None = None,
    ) -> None:
        """``rate``: each person's share (``[access] user_rate_limit``; None: no limit)."""
        self._rate = rate or RateLimiter(limit=0)
        self._dispatch = dispatch
        self._client = client
        self._seen = seen
        self._channel_refusal = channel_refusal
        self._clock = clock

    def __call__(self, body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        kind = event.get("type")
        channel = str(event.get("channel", ""))
        if kind == "message":
            # Direct messages only; never the bot's own messages, edits or joins.
            if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
                return
        elif kind == "app_mention":
            if channel.startswith("D"):
                return  # a mention in a direct message also arrives as that message
            if event.get("bot_id") or event.get("subtype"):
                return  # another app's (or the bot's own) message, an edit: not a command
        else:
            return
        user = str(event.get("user", ""))
        if not user or not channel:
            return
        # In a channel, answer in the thread (a mention outside one starts it); in a direct
        # message, in the conversation unless the message was in a thread.
        thread_ts = event.get("thread_ts") or (None if kind == "message" else event.get("ts"))
        verdict = self._rate.admit(user)
        if not verdict.admitted:  # before the claim and the parse: a flood costs little
            log.info("%s is over [access] user_rate_limit: a message was not taken", user)
            if verdict.first_refusal:  # telling costs a call to Slack: once per flood
                error = refusal(verdict, limit=self._rate.limit)
                self._private(channel, user, thread_ts, Reply(text="", error=error))
            return
        event_id = str(body.get("event_id") or f"{channel}:{event.get('ts')}")
        try:
            first = self._seen.first_time(event_id, now=self._clock())
        except StateUnavailable as err:
            log.error("could not record event %s: %s", event_id, err)
            failed = ChatOpsError(
                "The bot could not take this command now (its database did "
                "not answer). Try again in a moment."
            )
            self._private(channel, user, thread_ts, Reply(text="", error=failed))
            return
        if not first:
            log.info("event %s was delivered again (a retry): taken once already", event_id)
            return
        try:
            self._take(
                kind=str(kind),
                channel=channel,
                user=user,
                thread_ts=thread_ts,
                event=event,
                context=context,
            )
        except Exception:  # claimed, so Slack's retry is dropped: the person must hear of it
            log.exception("a command from %s in %s failed", user, channel)
            failed = ChatOpsError("Something went wrong while taking this command; it was not run.")
            self._private(channel, user, thread_ts, Reply(text="", error=failed))

    def _take(
        self,
        *,
        kind: str,
        channel: str,
        user: str,
        thread_ts: str | None,
        event: dict[str, Any],
        context: Any,
    ) -> None:
        reply_to = ThreadTarget(channel=channel, thread_ts=thread_ts)
        refusal = self._channel_refusal(channel)
        if refusal is not None:
            denied = AccessDenied(f"Not allowed: {refusal}.")
            self._private(channel, user, thread_ts, Reply(text="", error=denied))
            return
        bot_user_id = context.get("bot_user_id") if isinstance(context, dict) else None
        try:
            text = command_text(str(event.get("text", "")), bot_user_id=bot_user_id)
            command = parse_command(text)
        except ChatOpsError as err:
            self._private(channel, user, thread_ts, Reply(text="", error=err))
            return
        if isinstance(command.operation, Help):
            help_reply = Reply(
                text=command.shown, command=command, result=build_help(command.operation.topic)
            )
            self._private(channel, user, thread_ts, help_reply)
            return
        actor = Actor(user_id=user, channel_id=channel)
        # No "working on" note to replace: the answer is a new message in the thread. In a
        # channel the bot's settings decide what everyone sees ([slack] listings stay private
        # by default: ephemeral in the thread); a direct message is private anyway.
        self._dispatch(
            CommandOrder(
                command=command,
                actor=actor,
                reply_to=reply_to,
                acknowledged=False,
                public=kind == "message",
            )
        )

    def _private(self, channel: str, user: str, thread_ts: str | None, reply: Reply) -> None:
        message = render_slack(reply)
        try:
            self._client.chat_postEphemeral(
                channel=channel,
                user=user,
                text=message.text,
                blocks=message.blocks,
                thread_ts=thread_ts,
            )
        except SlackClientError as err:
            log.warning("could not answer %s in %s: %s", user, channel, err)
