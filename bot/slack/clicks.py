"""What every button and menu on the bot's messages shares: the channel gate, private
answers, and the command a click stands for, run as the person who clicked."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from bot.core.command import ParsedCommand
from bot.core.pipeline import Reply
from bot.core.policy import Actor
from bot.core.rate_limit import RateLimiter, refusal
from bot.errors import AccessDenied, ChatOpsError
from bot.service.orders import CommandOrder, WorkOrder
from bot.slack.render.replies import render_slack
from bot.slack.reply_targets import ResponseUrlTarget


class ClickListener:
    """What the buttons' and menus' Bolt listeners hold: where orders go, the engines a
    value may name, and the channel gate."""

    def __init__(
        self,
        *,
        dispatch: Callable[[WorkOrder], None],
        engines: Collection[str],
        channel_refusal: Callable[[str | None], str | None] = lambda channel: None,
        rate: RateLimiter | None = None,
    ) -> None:
        """``rate``: each person's share (``[access] user_rate_limit``; None: no limit)."""
        self._dispatch = dispatch
        self._engines = frozenset(engines)
        self._channel_refusal = channel_refusal
        self._rate = rate or RateLimiter(limit=0)


def say_privately(respond: Callable[..., Any], error: ChatOpsError) -> None:
    """``error`` for the clicker only, beside the message clicked (never in its place)."""
    message = render_slack(Reply(text="", error=error))
    respond(
        text=message.text, blocks=message.blocks, response_type="ephemeral", replace_original=False
    )


def over_limit(body: dict[str, Any], respond: Callable[..., Any] | None, rate: RateLimiter) -> bool:
    """True when the clicker has used their share of the minute (``[access]
    user_rate_limit``). Telling costs a call to Slack, so only the first refusal is told."""
    verdict = rate.admit(str((body.get("user") or {}).get("id", "")))
    if verdict.admitted:
        return False
    if verdict.first_refusal and respond is not None:  # the Home tab has no response URL
        say_privately(respond, refusal(verdict, limit=rate.limit))
    return True


def refused_here(
    body: dict[str, Any],
    respond: Callable[..., Any],
    channel_refusal: Callable[[str | None], str | None],
) -> bool:
    """True (and the clicker told) when the bot takes nothing in the click's channel."""
    refusal = channel_refusal((body.get("channel") or {}).get("id"))
    if refusal is None:
        return False
    say_privately(respond, AccessDenied(f"Not allowed: {refusal}."))
    return True


def click_order(body: dict[str, Any], command: ParsedCommand) -> CommandOrder:
    """``command`` as the person who clicked would have typed it there; the answer goes
    beside the clicked message (there is no "working on" note to replace)."""
    actor = Actor(
        user_id=str((body.get("user") or {}).get("id", "")),
        channel_id=(body.get("channel") or {}).get("id"),
    )
    return CommandOrder(
        command=command,
        actor=actor,
        reply_to=ResponseUrlTarget(url=str(body.get("response_url", ""))),
        acknowledged=False,
    )
