"""Whose order the work process lost is told where they asked: the typed command's channel and
reply target, or the clicker's."""

from __future__ import annotations

from bot.core.parsing.parser import parse_command
from bot.core.policy import Actor
from bot.service.chat import Requester
from bot.service.lost_orders import tell_lost
from bot.service.orders import ClickOrder, CommandOrder
from tests.unit.service.test_requests import FakeChat


def test_the_person_who_gave_a_lost_order_is_told_where_they_asked() -> None:
    chat = FakeChat()
    typed = CommandOrder(
        command=parse_command("ps"),
        actor=Actor(user_id="U0OPS", channel_id="C0OPS"),
        reply_to="thread",
    )
    mentioned = CommandOrder(
        command=parse_command("ps"), actor=Actor(user_id="U0DM", channel_id=None), reply_to="dm"
    )
    clicked = ClickOrder(
        approval_id=7, user_id="U0ADMIN", channel_id="C0APPROVE", approve=True, reply_to="click"
    )
    for order in (typed, mentioned, clicked):
        tell_lost(chat, order, "it may or may not have run")
    assert chat.notes == [
        (
            Requester(channel_id="C0OPS", user_id="U0OPS", reply_to="thread"),
            "it may or may not have run",
        ),
        (Requester(channel_id="", user_id="U0DM", reply_to="dm"), "it may or may not have run"),
        (
            Requester(channel_id="C0APPROVE", user_id="U0ADMIN", reply_to="click"),
            "it may or may not have run",
        ),
    ]
    assert chat.answers == [] and chat.told == []  # a note to the person, nothing else
