"""``bot.service.update_checks.UpdateBoard`` over Slack's Web API: the notification channel."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.core.results import UpdateRow
from bot.slack.render.block_kit import escape
from bot.slack.render.updates import updates_message

log = logging.getLogger(__name__)


class SlackUpdateBoard:
    def __init__(self, *, client: WebClient, channel: str) -> None:
        self._client = client
        self._channel = channel

    def post_updates(
        self, engine: str, rows: tuple[UpdateRow, ...], failures: tuple[tuple[str, str], ...]
    ) -> None:
        text, blocks = updates_message(engine, rows, failures)
        self._post(text, blocks)

    def post_problem(self, engine: str, text: str) -> None:
        self._post(escape(f"{engine}: {text}"), None)

    def post_note(self, text: str) -> None:
        self._post(escape(text), None)

    def _post(self, text: str, blocks: list[dict[str, object]] | None) -> None:
        try:
            self._client.chat_postMessage(channel=self._channel, text=text, blocks=blocks)
        except SlackClientError as err:
            log.warning("could not post to %s: %s", self._channel, err)
