"""Building the Bolt app around the slash command handler."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.logs import conceal
from bot.slack.approvals import ApprovalButtons
from bot.slack.commands import SlashCommandHandler
from bot.slack.home import HomeTab
from bot.slack.messages import MessageCommands
from bot.slack.notices import NoticeButtons
from bot.slack.object_actions import ObjectActions
from bot.slack.render.notices import NOTICE_ACTIONS
from bot.slack.render.object_actions import CARD_ACTIONS, PICK_ACTIONS
from bot.slack.render.replies import APPROVE_ACTION, REJECT_ACTION


def build_bolt_app(
    *,
    client: WebClient,
    signing_secret: str | None,
    command: str,
    handler: SlashCommandHandler,
    buttons: ApprovalButtons | None = None,
    notice_buttons: NoticeButtons | None = None,
    object_actions: ObjectActions | None = None,
    messages: MessageCommands | None = None,
    home: HomeTab | None = None,
) -> App:
    """The Bolt app: request signatures checked (HTTP mode), ``ssl_check`` answered, one
    slash command. Without a signing secret (Socket Mode) requests come over the socket."""
    bolt_log = logging.getLogger("slack_bolt")
    bolt_log.addFilter(_QUIET_ABOUT_OUR_CHOICES)
    app = App(
        client=client,
        signing_secret=signing_secret,
        request_verification_enabled=signing_secret is not None,
        # The service checks the token itself (auth.test, retried while Slack is unreachable).
        token_verification_enabled=False,
        logger=bolt_log,
    )
    app.use(_conceal_response_urls)
    app.command(command)(handler)
    if buttons is not None:
        app.action(APPROVE_ACTION)(buttons)
        app.action(REJECT_ACTION)(buttons)
    if notice_buttons is not None:
        for action_id in NOTICE_ACTIONS:
            app.action(action_id)(notice_buttons)
    if object_actions is not None:
        for action_id in (*PICK_ACTIONS, *CARD_ACTIONS):
            app.action(action_id)(object_actions)
    if messages is not None:
        app.event("app_mention")(messages)
        app.event("message")(messages)
    if home is not None:
        app.event("app_home_opened")(home)
    return app


def _conceal_response_urls(body: Any, next_: Callable[[], None]) -> None:
    """A request's response URLs are credentials (whoever has one may post as the bot): kept
    out of this process's log lines from the moment the request arrives."""
    if isinstance(body, dict):
        found = [body.get("response_url")]
        found += [
            entry.get("response_url")
            for entry in body.get("response_urls") or []
            if isinstance(entry, dict)
        ]
        for url in found:
            if isinstance(url, str):
                conceal(url)
    next_()


class _OurChoices(logging.Filter):
    """Bolt warns about how the bot built it (a client given, so SLACK_BOT_TOKEN from the
    environment is unused): nothing a user can act on, so it is not printed."""

    _ABOUT = ("As you gave `client` as well",)

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self._ABOUT)


_QUIET_ABOUT_OUR_CHOICES = _OurChoices()
