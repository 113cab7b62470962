"""Team notifications in Slack: the ``NoticeBoard`` port, and the buttons on a notice.

A notice's buttons (Logs, Restart, Inspect; Silence 1h and 24h, which also carry its name)
carry the engine and the container's ID; a click
becomes the same ``CommandOrder`` a typed command would, run as the person who clicked, so the
access rules, the run policy and approvals apply exactly as they do to ``/docker restart``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Collection
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.core.command import ParsedCommand
from bot.core.notices.classify import Occurrence
from bot.core.notices.incidents import IncidentView, MessageRef, SummaryView
from bot.core.operations import (
    ChangeContainers,
    ContainerAction,
    Inspect,
    InspectType,
    Operation,
    ShowLogs,
    SilenceContainers,
)
from bot.service.orders import CommandOrder
from bot.slack.clicks import ClickListener, Respond, click_order
from bot.slack.render.block_kit import section
from bot.slack.render.notices import (
    NOTICE_INSPECT_ACTION,
    NOTICE_LOG_LINES,
    NOTICE_LOGS_ACTION,
    NOTICE_RESTART_ACTION,
    NOTICE_SILENCE_ACTIONS,
    SILENCEABLE_NAME,
    engine_text,
    incident_message,
    summary_message,
    thread_text,
)

log = logging.getLogger(__name__)

_CONTAINER_ID = re.compile(r"[0-9a-f]{12,64}\Z")


class SlackNoticeBoard:
    """``bot.service.chat.NoticeBoard`` over Slack's Web API (failures logged, never raised)."""

    def __init__(self, *, client: WebClient) -> None:
        self._client = client

    def post_incident(self, channel: str, view: IncidentView) -> MessageRef | None:
        text, blocks = incident_message(view)
        return self._post(channel, text, blocks)

    def post_summary(self, channel: str, view: SummaryView) -> MessageRef | None:
        text, blocks = summary_message(view)
        return self._post(channel, text, blocks)

    def update(self, ref: MessageRef, view: IncidentView | SummaryView) -> bool:
        text, blocks = (
            summary_message(view) if isinstance(view, SummaryView) else incident_message(view)
        )
        try:
            self._client.chat_update(channel=ref.channel, ts=ref.ts, text=text, blocks=blocks)
        except SlackClientError as err:
            log.warning("could not update a notification in %s: %s", ref.channel, err)
            return False
        return True

    def post_thread(self, ref: MessageRef, occurrences: tuple[Occurrence, ...], more: int) -> bool:
        text = thread_text(occurrences, more)
        posted = self._post(ref.channel, text, [section(text).to_dict()], thread_ts=ref.ts)
        return posted is not None

    def post_text(self, channel: str, text: str) -> bool:
        safe = engine_text(text)
        return self._post(channel, safe, [section(safe).to_dict()]) is not None

    def _post(
        self, channel: str, text: str, blocks: list[dict[str, Any]], *, thread_ts: str | None = None
    ) -> MessageRef | None:
        try:
            answer = self._client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackClientError as err:
            # Nobody else can be told: the notification channel is where people would look.
            log.error(
                "could not post a notification in %s: %s (is the bot in the channel? "
                "/invite @docker)",
                channel,
                err,
            )
            return None
        return MessageRef(channel=str(answer.get("channel") or channel), ts=str(answer["ts"]))


def notice_command(action_id: str, value: str, engines: Collection[str]) -> ParsedCommand | None:
    """The command a notice button stands for, or None if the button is not one of ours (or
    its value was tampered with: only configured engines and well-formed IDs pass)."""
    try:
        data = json.loads(value) if len(value) < 512 else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    engine, container = data.get("engine"), data.get("container")
    if not isinstance(engine, str) or engine not in engines:
        return None
    if not isinstance(container, str) or not _CONTAINER_ID.match(container):
        return None
    operations: dict[str, Callable[[], Operation]] = {
        NOTICE_LOGS_ACTION: lambda: ShowLogs(container=container, tail=NOTICE_LOG_LINES),
        NOTICE_RESTART_ACTION: lambda: ChangeContainers(
            action=ContainerAction.RESTART, containers=(container,)
        ),
        NOTICE_INSPECT_ACTION: lambda: Inspect(targets=(container,), type=InspectType.CONTAINER),
    }
    if action_id in NOTICE_SILENCE_ACTIONS:
        # The container's name, so that the silence holds for its next incarnation too.
        name = data.get("name")
        if not isinstance(name, str) or not SILENCEABLE_NAME.match(name):
            return None
        silence = SilenceContainers(pattern=name, duration=NOTICE_SILENCE_ACTIONS[action_id])
        return ParsedCommand(operation=silence, engine=engine)
    make = operations.get(action_id)
    return ParsedCommand(operation=make(), engine=engine) if make else None


class NoticeButtons(ClickListener):
    """Bolt listener for a notice's buttons: the command is handed over as if the person who
    clicked had typed it (a value that is not ours is ignored)."""

    def order(
        self, body: dict[str, Any], action: dict[str, Any], respond: Respond | None
    ) -> CommandOrder | None:
        command = notice_command(
            str(action.get("action_id", "")), str(action.get("value", "")), self._engines
        )
        return None if command is None else click_order(body, command)
