"""The click listeners' one skeleton: acknowledged first whatever follows; the clicker's share
and the channel gate before any value is read; a good value dispatched once as the clicker;
refusals and stale values answered privately, beside the message clicked."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.core.operations import ChangeContainers, ContainerAction, ShowLogs
from bot.core.rate_limit import RateLimiter
from bot.service.orders import ClickOrder, CommandOrder, WorkOrder
from bot.slack.approvals import ApprovalButtons
from bot.slack.clicks import ClickListener
from bot.slack.notices import NoticeButtons
from bot.slack.object_actions import ObjectActions
from bot.slack.render.notices import NOTICE_RESTART_ACTION, button_value
from bot.slack.render.object_actions import CONTAINER_STOP_ACTION, PICK_CONTAINER_ACTION
from bot.slack.render.replies import APPROVE_ACTION, REJECT_ACTION
from bot.slack.reply_targets import DirectMessageTarget, ResponseUrlTarget

CONTAINER = "c" * 64
URL = "https://hooks.slack.com/actions/T/1/x"


class Click:
    """One click's Bolt arguments, and what the listener did with them."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.answers: list[dict[str, Any]] = []
        self.orders: list[WorkOrder] = []

    def ack(self) -> None:
        self.calls.append("ack")

    def respond(self, **message: Any) -> None:
        self.calls.append("respond")
        self.answers.append(message)

    def dispatch(self, order: WorkOrder) -> None:
        self.calls.append("dispatch")
        self.orders.append(order)

    def said(self) -> str:
        return json.dumps(self.answers)


def body(*, user: str = "U0ALICE", channel: str = "C0OPS", url: str | None = URL) -> dict[str, Any]:
    found: dict[str, Any] = {"user": {"id": user}, "channel": {"id": channel}}
    if url is not None:
        found["response_url"] = url
    return found


def gate(channel: str | None) -> str | None:
    return "this channel is not one the bot serves" if channel == "C0ELSEWHERE" else None


def listeners(click: Click, rate: RateLimiter | None = None) -> dict[str, ClickListener]:
    return {
        "approval": ApprovalButtons(dispatch=click.dispatch, rate=rate),
        "notice": NoticeButtons(
            dispatch=click.dispatch, engines=["prod"], channel_refusal=gate, rate=rate
        ),
        "card": ObjectActions(
            dispatch=click.dispatch, engines=["prod"], channel_refusal=gate, rate=rate
        ),
    }


GOOD = {
    "approval": {"action_id": APPROVE_ACTION, "value": "12"},
    "notice": {"action_id": NOTICE_RESTART_ACTION, "value": button_value("prod", CONTAINER)},
    "card": {
        "action_id": CONTAINER_STOP_ACTION,
        "value": json.dumps({"engine": "prod", "id": CONTAINER}),
    },
}


def test_an_approval_click_is_handed_over_as_it_is() -> None:
    click = Click()
    buttons = listeners(click)["approval"]
    buttons(click.ack, body(), {"action_id": REJECT_ACTION, "value": "12"}, click.respond)
    buttons(click.ack, body(url=None), GOOD["approval"])  # the Home tab: no respond
    assert click.calls == ["ack", "dispatch", "ack", "dispatch"]
    assert click.orders == [
        ClickOrder(
            approval_id=12,
            user_id="U0ALICE",
            channel_id="C0OPS",
            approve=False,
            reply_to=ResponseUrlTarget(url=URL),
            trace_id=click.orders[0].trace_id,
        ),
        ClickOrder(
            approval_id=12,
            user_id="U0ALICE",
            channel_id="C0OPS",
            approve=True,
            reply_to=DirectMessageTarget(),
            trace_id=click.orders[1].trace_id,
        ),
    ]


@pytest.mark.parametrize("kind", ["notice", "card"])
def test_a_button_is_the_command_a_person_would_type_as_the_clicker(kind: str) -> None:
    click = Click()
    listeners(click)[kind](click.ack, body(), GOOD[kind], click.respond)
    assert click.calls == ["ack", "dispatch"]
    (order,) = click.orders
    assert isinstance(order, CommandOrder)
    assert (order.actor.user_id, order.actor.channel_id) == ("U0ALICE", "C0OPS")
    assert order.reply_to == ResponseUrlTarget(url=URL) and not order.acknowledged
    action = ContainerAction.RESTART if kind == "notice" else ContainerAction.STOP
    assert order.command.engine == "prod"
    assert order.command.operation == ChangeContainers(action=action, containers=(CONTAINER,))


@pytest.mark.parametrize("kind", ["approval", "notice", "card"])
def test_past_the_clickers_share_nothing_is_dispatched_and_they_are_told_once(kind: str) -> None:
    click = Click()
    listener = listeners(click, RateLimiter(limit=1, clock=lambda: 0.0))[kind]
    for _ in range(3):
        listener(click.ack, body(), GOOD[kind], click.respond)
    assert click.calls == ["ack", "dispatch", "ack", "respond", "ack"]
    assert "Try again in" in click.said()
    # Someone else's share is their own.
    listener(click.ack, body(user="U0BOB"), GOOD[kind], click.respond)
    assert click.calls[-2:] == ["ack", "dispatch"]


@pytest.mark.parametrize("kind", ["notice", "card"])
def test_a_click_in_a_channel_the_bot_does_not_serve_is_refused_privately(kind: str) -> None:
    click = Click()
    listener = listeners(click)[kind]
    listener(click.ack, body(channel="C0ELSEWHERE"), GOOD[kind], click.respond)
    assert click.calls == ["ack", "respond"] and click.orders == []
    assert "not one the bot serves" in click.said()
    assert click.answers[0]["response_type"] == "ephemeral"
    assert click.answers[0]["replace_original"] is False
    listener(click.ack, body(), GOOD[kind], click.respond)  # the same click where it serves
    assert click.calls[-2:] == ["ack", "dispatch"]


def test_approvers_click_wherever_the_request_was_posted() -> None:
    click = Click()
    buttons = listeners(click)["approval"]
    buttons(click.ack, body(channel="C0ELSEWHERE"), GOOD["approval"], click.respond)
    assert click.calls == ["ack", "dispatch"]


def test_a_value_that_is_not_ours_is_ignored_on_approvals_and_notices() -> None:
    click = Click()
    every = listeners(click)
    every["approval"](click.ack, body(), {"action_id": APPROVE_ACTION, "value": "12; x"})
    every["notice"](
        click.ack,
        body(),
        {"action_id": NOTICE_RESTART_ACTION, "value": button_value("other", CONTAINER)},
        click.respond,
    )
    assert click.calls == ["ack", "ack"]


def test_a_stale_card_or_menu_is_said_never_ignored() -> None:
    click = Click()
    cards = listeners(click)["card"]
    stale = json.dumps({"engine": "renamed", "id": CONTAINER})
    cards(click.ack, body(), {"action_id": CONTAINER_STOP_ACTION, "value": stale}, click.respond)
    pick = {"action_id": PICK_CONTAINER_ACTION, "selected_option": {"value": stale}}
    cards(click.ack, body(), pick, click.respond)
    assert click.calls == ["ack", "respond", "ack", "respond"] and click.orders == []
    assert all("no longer valid" in answer["text"] for answer in click.answers)


def test_a_pick_is_answered_with_its_card_and_dispatches_nothing() -> None:
    click = Click()
    cards = listeners(click)["card"]
    option = {
        "value": json.dumps({"engine": "prod", "id": CONTAINER}),
        "text": {"type": "plain_text", "text": "web"},
    }
    cards(
        click.ack,
        body(),
        {"action_id": PICK_CONTAINER_ACTION, "selected_option": option},
        click.respond,
    )
    assert click.calls == ["ack", "respond"] and click.orders == []
    assert "web" in click.said() and CONTAINER_STOP_ACTION in click.said()
    assert click.answers[0]["response_type"] == "ephemeral"


def test_a_notice_button_for_logs_asks_for_a_bounded_tail() -> None:
    click = Click()
    value = button_value("prod", CONTAINER)
    listeners(click)["notice"](
        click.ack, body(), {"action_id": "chatops_notice_logs", "value": value}, click.respond
    )
    (order,) = click.orders
    assert isinstance(order, CommandOrder) and isinstance(order.command.operation, ShowLogs)
    assert order.command.operation.tail is not None
