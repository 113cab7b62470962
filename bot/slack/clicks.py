"""What every button and menu on the bot's messages shares: one listener skeleton (the
clicker's share, the channel gate, private answers), and the command a click stands for, run
as the person who clicked."""

from __future__ import annotations

from abc import ABC, abstractmethod
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

# Bolt's ``respond``: None where the click came with no response URL (the Home tab).
Respond = Callable[..., Any]


class ClickListener(ABC):
    """The Bolt listener of a set of buttons or menus: acknowledge at once; then the
    clicker's share of the minute and the channel gate; then the order the click stands for
    (``order``, which checks the value Slack sent back), dispatched. A ``ChatOpsError`` from
    ``order`` is answered to the clicker only, beside the message clicked."""

    def __init__(
        self,
        *,
        dispatch: Callable[[WorkOrder], None],
        engines: Collection[str] = (),
        channel_refusal: Callable[[str | None], str | None] = lambda channel: None,
        rate: RateLimiter | None = None,
    ) -> None:
        """``engines``: those a value may name; ``channel_refusal``: why the bot takes
        nothing in a channel (None: it does); ``rate``: each person's share (``[access]
        user_rate_limit``; None: no limit)."""
        self._dispatch = dispatch
        self._engines = frozenset(engines)
        self._channel_refusal = channel_refusal
        self._rate = rate or RateLimiter(limit=0)

    def __call__(
        self,
        ack: Callable[..., Any],
        body: dict[str, Any],
        action: dict[str, Any],
        respond: Respond | None = None,
    ) -> None:
        ack()
        if over_limit(body, respond, self._rate) or refused_here(
            body, respond, self._channel_refusal
        ):
            return
        try:
            order = self.order(body, action, respond)
        except ChatOpsError as err:
            if respond is not None:
                say_privately(respond, err)
            return
        if order is not None:
            self._dispatch(order)

    @abstractmethod
    def order(
        self, body: dict[str, Any], action: dict[str, Any], respond: Respond | None
    ) -> WorkOrder | None:
        """The work the click stands for; None when there is none (a value that is not ours
        and needs no answer, or a click answered here already)."""


def say_privately(respond: Respond, error: ChatOpsError) -> None:
    """``error`` for the clicker only, beside the message clicked (never in its place)."""
    message = render_slack(Reply(text="", error=error))
    respond(
        text=message.text, blocks=message.blocks, response_type="ephemeral", replace_original=False
    )


def over_limit(body: dict[str, Any], respond: Respond | None, rate: RateLimiter) -> bool:
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
    respond: Respond | None,
    channel_refusal: Callable[[str | None], str | None],
) -> bool:
    """True (and the clicker told) when the bot takes nothing in the click's channel."""
    refused = channel_refusal((body.get("channel") or {}).get("id"))
    if refused is None:
        return False
    if respond is not None:
        say_privately(respond, AccessDenied(f"Not allowed: {refused}."))
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
