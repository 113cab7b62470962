"""The ``/docker`` slash command's front: acknowledge at once, hand the work over.

Slack wants an HTTP 200 within 3 s. Parsing happens before the acknowledgement (it is cheap,
bounded, and lets bad input be answered in the acknowledgement itself); nothing else does. The
acknowledged command goes to the dispatcher as a ``CommandOrder`` and is run and answered by
``bot.service.requests``, in a work process by default (``bot.slack.dispatch``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core.help import build_help
from bot.core.operations import Help, changes_something
from bot.core.parsing.parser import parse_command
from bot.core.pipeline import Reply
from bot.core.policy import Actor
from bot.core.rate_limit import RateLimiter, refusal
from bot.errors import AccessDenied, ChatOpsError
from bot.service.orders import CommandOrder, WorkOrder
from bot.slack.render.block_kit import code, context
from bot.slack.render.replies import render_slack
from bot.slack.reply_targets import ResponseUrlTarget


def unescape_slack(text: str) -> str:
    """Slack sends ``&``, ``<`` and ``>`` in command text as HTML entities."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class SlashCommandHandler:
    """Bolt listener for ``/docker``."""

    def __init__(
        self,
        *,
        dispatch: Callable[[WorkOrder], None],
        channel_refusal: Callable[[str | None], str | None] = lambda channel: None,
        rate: RateLimiter | None = None,
    ) -> None:
        """``rate``: each person's share (``[access] user_rate_limit``; None: no limit)."""
        self._dispatch = dispatch
        self._channel_refusal = channel_refusal
        self._rate = rate or RateLimiter(limit=0)

    def __call__(self, ack: Callable[..., Any], body: dict[str, Any]) -> None:
        text = unescape_slack(str(body.get("text", ""))).strip()
        actor = Actor(user_id=str(body.get("user_id", "")), channel_id=body.get("channel_id"))
        verdict = self._rate.admit(actor.user_id)
        if not verdict.admitted:  # before anything else is spent on it; free to tell
            error = refusal(verdict, limit=self._rate.limit)
            message = render_slack(Reply(text="", error=error))
            ack(text=message.text, blocks=message.blocks, response_type="ephemeral")
            return
        refused = self._channel_refusal(actor.channel_id)
        if refused is not None:
            # Nothing from a channel the bot does not serve is even parsed.
            message = render_slack(Reply(text="", error=AccessDenied(f"Not allowed: {refused}.")))
            ack(text=message.text, blocks=message.blocks, response_type="ephemeral")
            return
        try:
            command = parse_command(text)
        except ChatOpsError as err:
            message = render_slack(Reply(text="", error=err))
            ack(text=message.text, blocks=message.blocks, response_type="ephemeral")
            return
        if isinstance(command.operation, Help):
            help_reply = Reply(
                text=command.shown, command=command, result=build_help(command.operation.topic)
            )
            message = render_slack(help_reply)
            ack(text=message.text, blocks=message.blocks, response_type="ephemeral")
            return
        if changes_something(command.operation):
            shown = command.shown
            working = f":hourglass_flowing_sand: Working on {code('docker ' + shown)}…"
            ack(
                text=f"Working on docker {shown}",
                blocks=[context(working).to_dict()],
                response_type="ephemeral",
            )
        else:
            ack()
        self._dispatch(
            CommandOrder(
                command=command,
                actor=actor,
                reply_to=ResponseUrlTarget(url=str(body["response_url"])),
            )
        )
