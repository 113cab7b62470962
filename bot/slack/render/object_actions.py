"""Acting on what a listing shows: a menu of the listed objects, then a card of buttons.

Table cells cannot hold buttons, and 100 rows of buttons would break the 50-block limit, so
a ``ps`` or ``images`` answer ends with one select menu of its rows (at most 100 options).
Picking one answers privately with a card for that object: Logs, Inspect, Restart, Stop,
Remove (containers) or Pull again, Remove (images). Every value carries the engine and the
object's full ID, so a click acts on the object shown, not on whatever has its name by then;
destructive buttons ask Slack's ``confirm`` first.
"""

from __future__ import annotations

import json
from typing import assert_never

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    Option,
    StaticSelectElement,
)

from bot.core.plans import ObjectKind
from bot.core.results import ContainerList, ImageList
from bot.core.views import PickedObject
from bot.render.humanize import short_id
from bot.slack.render.block_kit import MAX_TABLE_ROWS, bounded, code, escape, section

PICK_CONTAINER_ACTION = "chatops_pick_container"
PICK_IMAGE_ACTION = "chatops_pick_image"
PICK_ACTIONS = (PICK_CONTAINER_ACTION, PICK_IMAGE_ACTION)

CONTAINER_LOGS_ACTION = "chatops_container_logs"
CONTAINER_INSPECT_ACTION = "chatops_container_inspect"
CONTAINER_RESTART_ACTION = "chatops_container_restart"
CONTAINER_STOP_ACTION = "chatops_container_stop"
CONTAINER_REMOVE_ACTION = "chatops_container_remove"
CONTAINER_UPGRADE_ACTION = "chatops_container_upgrade"
IMAGE_PULL_ACTION = "chatops_image_pull"
IMAGE_REMOVE_ACTION = "chatops_image_remove"
CARD_ACTIONS = (
    CONTAINER_LOGS_ACTION,
    CONTAINER_INSPECT_ACTION,
    CONTAINER_RESTART_ACTION,
    CONTAINER_STOP_ACTION,
    CONTAINER_REMOVE_ACTION,
    CONTAINER_UPGRADE_ACTION,
    IMAGE_PULL_ACTION,
    IMAGE_REMOVE_ACTION,
)
CARD_LOG_LINES = 100  # what a card's Logs button asks for

MAX_OPTIONS = 100  # a static select holds at most 100 options
MAX_OPTION_VALUE = 150  # Slack's limit on an option's value
MAX_OPTION_TEXT = 75  # ... and on its text


def option_value(*, engine: str, object_id: str, index: int | None = None) -> str:
    """What a menu option carries (at most 150 characters, so no repo:tag: the option's
    text is the label); ``index``: the row, where one object has several rows."""
    data: dict[str, object] = {"engine": engine, "id": object_id}
    if index is not None:
        data["n"] = index
    return json.dumps(data, separators=(",", ":"))


def card_value(obj: PickedObject) -> str:
    """What a card's buttons carry (up to 2,000 characters)."""
    data = {"engine": obj.engine, "id": obj.object_id, "label": bounded(obj.label, 200)}
    if obj.reference is not None:
        data["ref"] = obj.reference
    return json.dumps(data, separators=(",", ":"))


def listing_picker(result: ContainerList | ImageList, *, engine: str) -> Block | None:
    """The select menu of a listing's rows (those its table shows), or None if none."""
    if result.quiet or not result.rows:
        return None
    entries: list[tuple[str, str, str | None]] = []  # (object ID, label, image reference)
    if isinstance(result, ContainerList):
        for row in result.rows[: MAX_TABLE_ROWS - 1]:
            entries.append((row.id, row.names[0] if row.names else short_id(row.id), None))
        action_id, placeholder = PICK_CONTAINER_ACTION, "Act on a container…"
    else:
        for image in result.rows[: MAX_TABLE_ROWS - 1]:
            tagged = image.repository is not None and image.tag is not None
            reference = f"{image.repository}:{image.tag}" if tagged else None
            entries.append((image.id, reference or f"<none> {short_id(image.id)}", reference))
        action_id, placeholder = PICK_IMAGE_ACTION, "Act on an image…"
    options = []
    images = isinstance(result, ImageList)
    for index, (object_id, label, _reference) in enumerate(entries[:MAX_OPTIONS]):
        # An image listed under several tags has one option per tag, all with its ID: the row
        # number keeps the values distinct, so Slack returns the option that was picked.
        value = option_value(engine=engine, object_id=object_id, index=index if images else None)
        if len(value) > MAX_OPTION_VALUE:
            continue  # an engine name too long to carry: not offered rather than cut
        options.append(Option(value=value, text=bounded(label, MAX_OPTION_TEXT)))
    if not options:
        return None
    return ActionsBlock(
        block_id=f"pick-{action_id}",
        elements=[
            StaticSelectElement(placeholder=placeholder, action_id=action_id, options=options)
        ],
    )


def picked_object(action_id: str, *, engine: str, object_id: str, label: str) -> PickedObject:
    """The object a menu pick names. An image's label is the repo:tag the bot listed (Slack
    returns the picked option as rendered; the row number in its value makes it the one
    picked), unless it was dangling or cut to fit: then there is nothing to pull again. The
    reference is parsed again, and the pull policy applied, when the button is clicked."""
    kind = ObjectKind.IMAGE if action_id == PICK_IMAGE_ACTION else ObjectKind.CONTAINER
    reference = None
    if kind is ObjectKind.IMAGE and not label.startswith("<none>") and not label.endswith("…"):
        reference = label
    return PickedObject(
        engine=engine, kind=kind, object_id=object_id, label=label, reference=reference
    )


def object_card(obj: PickedObject) -> tuple[str, list[Block]]:
    """The private card for one picked object: what it is, and its buttons."""
    value = card_value(obj)
    label = bounded(obj.label, 200)  # code() escapes it
    where = f"on {code(obj.engine)}"
    match obj.kind:
        case ObjectKind.CONTAINER:
            text, buttons = _container_card(obj, value, label, where)
        case ObjectKind.IMAGE:
            text, buttons = _image_card(obj, value, label, where)
        case ObjectKind.VOLUME:
            # No listing offers volumes to pick (yet): the card says what it is, no buttons.
            text, buttons = f"Volume {code(label)} {where}", []
        case ObjectKind.SERVICE:
            text, buttons = f"Service {code(label)} {where}", []
        case _:
            assert_never(obj.kind)
    blocks: list[Block] = [section(text)]
    if buttons:  # Slack refuses an actions block without elements
        blocks.append(ActionsBlock(block_id="object-card", elements=buttons))
    return escape(f"{obj.kind} {bounded(obj.label, 200)}"), blocks


def _container_card(
    obj: PickedObject, value: str, label: str, where: str
) -> tuple[str, list[ButtonElement]]:
    text = f"Container {code(label)} ({short_id(obj.object_id)}) {where}"
    return text, [
        ButtonElement(text="Logs", action_id=CONTAINER_LOGS_ACTION, value=value),
        ButtonElement(text="Inspect", action_id=CONTAINER_INSPECT_ACTION, value=value),
        confirmed_button(
            "Restart",
            CONTAINER_RESTART_ACTION,
            value,
            f"docker restart {obj.label} on {obj.engine}",
        ),
        confirmed_button(
            "Stop", CONTAINER_STOP_ACTION, value, f"docker stop {obj.label} on {obj.engine}"
        ),
        confirmed_button(
            "Upgrade",
            CONTAINER_UPGRADE_ACTION,
            value,
            f"pull the image of {obj.label} on {obj.engine} and replace it if it changed "
            "(approvals apply)",
        ),
        confirmed_button(
            "Remove",
            CONTAINER_REMOVE_ACTION,
            value,
            f"docker rm {obj.label} on {obj.engine} (approvals apply)",
            danger=True,
        ),
    ]


def _image_card(
    obj: PickedObject, value: str, label: str, where: str
) -> tuple[str, list[ButtonElement]]:
    text = f"Image {code(label)} ({short_id(obj.object_id)}) {where}"
    buttons = []
    if obj.reference is not None:
        buttons.append(ButtonElement(text="Pull again", action_id=IMAGE_PULL_ACTION, value=value))
    buttons.append(
        confirmed_button(
            "Remove",
            IMAGE_REMOVE_ACTION,
            value,
            f"docker rmi {short_id(obj.object_id)} ({obj.label}) on {obj.engine} (approvals apply)",
            danger=True,
        )
    )
    return text, buttons


def confirmed_button(
    text: str, action_id: str, value: str, what: str, *, danger: bool = False
) -> ButtonElement:
    """A button that asks Slack's confirm first, saying ``what`` it will do (escaped)."""
    return ButtonElement(
        text=text,
        action_id=action_id,
        value=value,
        style="danger" if danger else None,
        confirm=ConfirmObject(
            title=f"{text}?",
            text=escape(bounded(what, 300)),
            confirm=text,
            deny="Cancel",
            style="danger" if danger else None,
        ),
    )
