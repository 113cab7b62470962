"""Orders the work process lost (it stopped while running them): their people are told."""

from __future__ import annotations

from bot.service.chat import Chat, Requester
from bot.service.orders import ClickOrder, CommandOrder, WorkOrder


def requester_of(order: WorkOrder) -> Requester:
    """Who gave ``order``, and where they are answered."""
    match order:
        case CommandOrder():
            return Requester(
                channel_id=order.actor.channel_id or "",
                user_id=order.actor.user_id,
                reply_to=order.reply_to,
            )
        case ClickOrder():
            return Requester(
                channel_id=order.channel_id, user_id=order.user_id, reply_to=order.reply_to
            )


def tell_lost(chat: Chat, order: WorkOrder, text: str) -> None:
    """Tell the person whose ``order`` was lost, wherever they asked (a thread, a direct
    message: not only where a response URL reaches)."""
    chat.tell(requester_of(order), text)
