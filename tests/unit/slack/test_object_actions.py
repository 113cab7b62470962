"""Values coming back from Slack's client: only ours, for configured engines and real IDs."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bot.core.operations import (
    ChangeContainers,
    ContainerAction,
    Pull,
    RemoveImages,
    ShowLogs,
    UpgradeContainers,
)
from bot.slack.object_actions import card_command, picked
from bot.slack.render.object_actions import CARD_ACTIONS, PICK_CONTAINER_ACTION

ENGINES = ("prod",)
CONTAINER = "c" * 64
IMAGE = "sha256:" + "d" * 64


def value(**data: str) -> str:
    return json.dumps(data)


def test_each_button_is_the_typed_command_on_the_exact_id() -> None:
    stop = card_command("chatops_container_stop", value(engine="prod", id=CONTAINER), ENGINES)
    assert stop is not None and stop.engine == "prod"
    assert stop.operation == ChangeContainers(action=ContainerAction.STOP, containers=(CONTAINER,))
    logs = card_command("chatops_container_logs", value(engine="prod", id=CONTAINER), ENGINES)
    assert logs is not None and isinstance(logs.operation, ShowLogs)
    rmi = card_command("chatops_image_remove", value(engine="prod", id=IMAGE), ENGINES)
    assert rmi is not None and rmi.operation == RemoveImages(images=(IMAGE,))
    pull = card_command(
        "chatops_image_pull", value(engine="prod", id=IMAGE, ref="nginx:1.27"), ENGINES
    )
    assert pull is not None and isinstance(pull.operation, Pull)
    assert str(pull.operation.image) == "nginx:1.27"
    upgrade = card_command("chatops_container_upgrade", value(engine="prod", id=CONTAINER), ENGINES)
    assert upgrade is not None and upgrade.operation == UpgradeContainers(containers=(CONTAINER,))


def test_tampered_values_are_not_ours() -> None:
    for action_id, data in (
        ("chatops_container_stop", value(engine="other", id=CONTAINER)),
        ("chatops_container_stop", value(engine="prod", id="web")),
        ("chatops_container_stop", value(engine="prod", id=IMAGE)),  # an image ID for a container
        ("chatops_image_remove", value(engine="prod", id=CONTAINER)),
        ("chatops_image_pull", value(engine="prod", id=IMAGE, ref="-rf /")),
        ("chatops_image_pull", value(engine="prod", id=IMAGE)),
        ("chatops_container_stop", "[]"),
        ("chatops_container_stop", value(engine="prod", id=CONTAINER) + " " * 2000),
        ("chatops_unknown", value(engine="prod", id=CONTAINER)),
    ):
        assert card_command(action_id, data, ENGINES) is None, (action_id, data)


@given(st.sampled_from(CARD_ACTIONS), st.text(max_size=300))
def test_any_value_is_a_command_or_nothing(action_id: str, text: str) -> None:
    card_command(action_id, text, ENGINES)  # never raises


@given(st.dictionaries(st.text(max_size=10), st.text(max_size=80) | st.integers(), max_size=4))
def test_any_pick_is_an_object_or_nothing(data: dict[str, object]) -> None:
    option = {"value": json.dumps(data), "text": {"type": "plain_text", "text": "x"}}
    assert picked({"action_id": PICK_CONTAINER_ACTION, "selected_option": option}, ENGINES) is None


def test_a_pick_names_the_object_and_its_label() -> None:
    option = {"value": value(engine="prod", id=CONTAINER), "text": {"text": "web"}}
    obj = picked({"action_id": PICK_CONTAINER_ACTION, "selected_option": option}, ENGINES)
    assert obj is not None and (obj.object_id, obj.label, obj.kind) == (
        CONTAINER,
        "web",
        "container",
    )
