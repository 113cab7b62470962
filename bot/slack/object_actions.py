"""The menu on a ``ps``/``images`` answer and the card of buttons a pick opens.

A pick is answered by the front at once (a private card; no engine call). A card's button
becomes the same ``CommandOrder`` the typed command would, run as the person who clicked, so
access rules, the run policy and approvals apply exactly as they do to ``/docker rm``. Values
come back from Slack's client: only configured engines and well-formed IDs pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from typing import Any

from bot.core.command import ParsedCommand
from bot.core.operations import (
    ChangeContainers,
    ContainerAction,
    Inspect,
    InspectType,
    Operation,
    Pull,
    RemoveImages,
    ShowLogs,
    UpgradeContainers,
)
from bot.core.references import parse_image_reference
from bot.core.views import PickedObject
from bot.errors import ChatOpsError
from bot.service.orders import CommandOrder
from bot.slack.clicks import ClickListener, Respond, click_order
from bot.slack.render.object_actions import (
    CARD_LOG_LINES,
    CONTAINER_INSPECT_ACTION,
    CONTAINER_LOGS_ACTION,
    CONTAINER_REMOVE_ACTION,
    CONTAINER_RESTART_ACTION,
    CONTAINER_STOP_ACTION,
    CONTAINER_UPGRADE_ACTION,
    IMAGE_PULL_ACTION,
    IMAGE_REMOVE_ACTION,
    PICK_ACTIONS,
    PICK_IMAGE_ACTION,
    object_card,
    picked_object,
)

_CONTAINER_ID = re.compile(r"[0-9a-f]{64}\Z")
_IMAGE_ID = re.compile(r"sha256:[0-9a-f]{64}\Z")
_MAX_VALUE = 2000  # Slack's limit on a button's value: anything longer is not ours
_IMAGE_ACTIONS = (IMAGE_PULL_ACTION, IMAGE_REMOVE_ACTION)


def _decode(value: str, *, engines: Collection[str], image: bool) -> dict[str, str] | None:
    """A value we rendered, checked: a configured engine and an ID of the right kind."""
    try:
        data = json.loads(value) if len(value) <= _MAX_VALUE else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    data = {key: value for key, value in data.items() if key != "n"}  # a row index: unused
    if not all(isinstance(v, str) for v in data.values()):
        return None
    if data.get("engine") not in engines:
        return None
    if not (_IMAGE_ID if image else _CONTAINER_ID).match(data.get("id", "")):
        return None
    return data


def card_command(action_id: str, value: str, engines: Collection[str]) -> ParsedCommand | None:
    """The command a card button stands for, or None if it is not one of ours."""
    image = action_id in _IMAGE_ACTIONS
    data = _decode(value, engines=engines, image=image)
    if data is None:
        return None
    object_id = data["id"]
    operations: dict[str, Callable[[], Operation]] = {
        CONTAINER_LOGS_ACTION: lambda: ShowLogs(container=object_id, tail=CARD_LOG_LINES),
        CONTAINER_INSPECT_ACTION: lambda: Inspect(targets=(object_id,), type=InspectType.CONTAINER),
        CONTAINER_RESTART_ACTION: lambda: ChangeContainers(
            action=ContainerAction.RESTART, containers=(object_id,)
        ),
        CONTAINER_STOP_ACTION: lambda: ChangeContainers(
            action=ContainerAction.STOP, containers=(object_id,)
        ),
        CONTAINER_REMOVE_ACTION: lambda: ChangeContainers(
            action=ContainerAction.REMOVE, containers=(object_id,)
        ),
        CONTAINER_UPGRADE_ACTION: lambda: UpgradeContainers(containers=(object_id,)),
        IMAGE_PULL_ACTION: lambda: Pull(image=parse_image_reference(data.get("ref", ""))),
        IMAGE_REMOVE_ACTION: lambda: RemoveImages(images=(object_id,)),
    }
    make = operations.get(action_id)
    if make is None:
        return None
    try:
        return ParsedCommand(operation=make(), engine=data["engine"])
    except (ChatOpsError, ValueError):  # a reference that does not parse: not ours
        return None


def picked(action: dict[str, Any], engines: Collection[str]) -> PickedObject | None:
    """The object a menu pick names, or None if the pick is not one of ours."""
    action_id = str(action.get("action_id", ""))
    if action_id not in PICK_ACTIONS:
        return None
    option = action.get("selected_option") or {}
    data = _decode(
        str(option.get("value", "")), engines=engines, image=action_id == PICK_IMAGE_ACTION
    )
    if data is None:
        return None
    label = str((option.get("text") or {}).get("text", ""))[:200] or data["id"][:12]
    return picked_object(action_id, engine=data["engine"], object_id=data["id"], label=label)


class ObjectActions(ClickListener):
    """Bolt listener for the listing menus and the cards' buttons: a pick is answered here
    with its card; a card's button is the command it stands for."""

    def order(
        self, body: dict[str, Any], action: dict[str, Any], respond: Respond | None
    ) -> CommandOrder | None:
        action_id = str(action.get("action_id", ""))
        if action_id in PICK_ACTIONS:
            obj = picked(action, self._engines)
            if obj is None:
                raise _stale()
            if respond is not None:
                text, blocks = object_card(obj)
                respond(
                    text=text,
                    blocks=[block.to_dict() for block in blocks],
                    response_type="ephemeral",
                    replace_original=False,
                )
            return None
        command = card_command(action_id, str(action.get("value", "")), self._engines)
        if command is None:
            raise _stale()
        return click_order(body, command)


def _stale() -> ChatOpsError:
    """A menu or button the bot cannot act on (an engine renamed since, a value it did not
    render): said, never silently ignored."""
    return ChatOpsError(
        "This menu or button is no longer valid (the engine may have been renamed or "
        "removed since). List again and pick from the new answer."
    )
