"""Acting on a listing from Slack: pick a row of `ps`/`images`, click a button on its card.

Real engine, signed `block_actions` payloads built from the elements the bot rendered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from tests.conftest import SIGNING_SECRET, TEST_IMAGE, Sandbox, SlackBot, serving, shared_slack_bot
from tests.fakes.fake_slack import block_actions_body, post_signed

ROLES = {"viewer": ["*"], "operator": ["U0OPS"], "admin": ["U0ADMIN"]}
# What the stopped containers run: a shell that ends on SIGTERM (as PID 1 it would otherwise
# ignore it, and every stop would take the engine's 10 s timeout).
STOPPABLE = "trap 'exit 0' TERM; {}sleep 300 & wait"


@pytest.fixture(scope="module")
def served(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackBot]:
    """One bot for the module: each test has every answer it clicks for before it ends."""
    database = tmp_path_factory.mktemp("actions") / "a.db"
    with serving(
        sandbox,
        roles=ROLES,
        chatops_database_url=f"sqlite:///{database}",
        approvals={"required_for": ["rm", "rmi"], "approvers": ["admin"]},
    ) as bot:
        yield bot


@pytest.fixture
def acting_bot(served: SlackBot) -> SlackBot:
    return shared_slack_bot(served)


def element(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    for block in message.get("blocks", []):
        for item in block.get("elements", []):
            if item.get("action_id") == action_id:
                return dict(item)
    raise AssertionError(f"no {action_id} in {json.dumps(message)[:2000]}")


def act(
    bot: SlackBot, action: dict[str, Any], *, user: str, name: str, ephemeral: bool = False
) -> dict[str, Any]:
    """Post ``action`` as Slack would; the bot's answer to response URL ``name``."""
    body = block_actions_body(
        action_id=str(action["action_id"]),
        value=str(action.get("value", "")),
        user_id=user,
        response_url=bot.fake.response_url(name),
        action=action,
        ephemeral=ephemeral,
    )
    assert post_signed(bot.events_url, body, secret=SIGNING_SECRET).status_code == 200
    return bot.responses(name)[0]


def pick(
    bot: SlackBot, listing: dict[str, Any], label: str, *, user: str, name: str
) -> dict[str, Any]:
    """Choose ``label`` in the listing's menu; the card the bot answers with."""
    menu = next(
        element(listing, action_id)
        for action_id in ("chatops_pick_container", "chatops_pick_image")
        if action_id in json.dumps(listing)
    )
    [option] = [o for o in menu["options"] if o["text"]["text"] == label]
    action = {
        "type": "static_select",
        "action_id": menu["action_id"],
        "block_id": "pick",
        "selected_option": option,
        "action_ts": "1700000001.000000",
    }
    card = act(bot, action, user=user, name=name)
    assert card["response_type"] == "ephemeral" and card.get("replace_original") is False
    return card


def button(card: dict[str, Any], action_id: str) -> dict[str, Any]:
    found = element(card, action_id)
    return {**found, "type": "button", "block_id": "object-card", "action_ts": "1700000002.0"}


def test_ps_menu_card_buttons_run_as_the_clicker(
    acting_bot: SlackBot, sandbox: Sandbox, api: docker.APIClient
) -> None:
    name = sandbox.name("act-ps")
    script = STOPPABLE.format("echo hello from act; ")
    api.start(
        api.create_container(TEST_IMAGE, ["sh", "-c", script], name=name, labels=sandbox.labels)
    )
    container_id = api.inspect_container(name)["Id"]
    acting_bot.command(f"ps --filter label={sandbox.labels_filter()}", name="ps")
    listing = acting_bot.responses("ps")[0]
    menu = element(listing, "chatops_pick_container")
    assert menu["type"] == "static_select" and len(menu["options"]) <= 100
    # The option carries the engine and the full ID, not the name.
    [option] = [o for o in menu["options"] if o["text"]["text"] == name]
    assert json.loads(option["value"]) == {"engine": "default", "id": container_id}

    card = pick(acting_bot, listing, name, user="U0VIEWER", name="card")
    assert name in json.dumps(card)
    stop = button(card, "chatops_container_stop")
    assert stop["confirm"]["title"]["text"] == "Stop?"  # destructive: Slack asks first
    assert "confirm" in button(card, "chatops_container_remove")

    logs = act(
        acting_bot,
        button(card, "chatops_container_logs"),
        user="U0VIEWER",
        name="logs",
        ephemeral=True,
    )
    assert "hello from act" in json.dumps(logs)

    refused = act(acting_bot, stop, user="U0VIEWER", name="refused", ephemeral=True)
    assert "not allowed" in json.dumps(refused).lower()
    assert api.inspect_container(name)["State"]["Running"]

    stopped = act(acting_bot, stop, user="U0OPS", name="stopped", ephemeral=True)
    assert "Stopped" in json.dumps(stopped), stopped
    assert not api.inspect_container(name)["State"]["Running"]

    # Remove is destructive: it waits for an approver, as the typed `rm` would.
    waiting = act(
        acting_bot,
        button(card, "chatops_container_remove"),
        user="U0OPS",
        name="remove",
        ephemeral=True,
    )
    assert "Waiting for approval" in json.dumps(waiting)
    api.inspect_container(name)  # still there


def test_the_click_acts_on_the_object_listed_not_on_its_name(
    acting_bot: SlackBot, sandbox: Sandbox, api: docker.APIClient
) -> None:
    name = sandbox.name("act-same-name")
    first = api.create_container(TEST_IMAGE, ["sleep", "300"], name=name, labels=sandbox.labels)
    api.start(first)
    acting_bot.command(f"ps --filter name={name}", name="ps")
    card = pick(acting_bot, acting_bot.responses("ps")[0], name, user="U0OPS", name="card")
    # Meanwhile the name moves to another container.
    api.remove_container(first, force=True)
    second = api.create_container(TEST_IMAGE, ["sleep", "300"], name=name, labels=sandbox.labels)
    api.start(second)
    answer = act(
        acting_bot,
        button(card, "chatops_container_stop"),
        user="U0OPS",
        name="stop",
        ephemeral=True,
    )
    assert "Stopped" not in json.dumps(answer)
    assert api.inspect_container(second)["State"]["Running"]


def test_images_menu_offers_pull_again_and_remove(
    acting_bot: SlackBot, sandbox: Sandbox, api: docker.APIClient
) -> None:
    reference = f"{sandbox.registry}/chatops-test/act-{sandbox.session}:v1"
    repository, tag = reference.rsplit(":", 1)
    api.tag(TEST_IMAGE, repository, tag)
    try:
        for line in api.push(repository, tag=tag, stream=True, decode=True):
            assert "error" not in line, line
        acting_bot.command(f"images {repository}", name="images")
        listing = acting_bot.responses("images")[0]
        card = pick(acting_bot, listing, reference, user="U0OPS", name="card")
        image_id = api.inspect_image(reference)["Id"]
        pull = button(card, "chatops_image_pull")
        assert json.loads(pull["value"])["id"] == image_id
        body = block_actions_body(
            action_id=pull["action_id"],
            value=pull["value"],
            user_id="U0OPS",
            response_url=acting_bot.fake.response_url("pull"),
            action=pull,
            ephemeral=True,
        )
        assert post_signed(acting_bot.events_url, body, secret=SIGNING_SECRET).status_code == 200
        # A pull shows its progress in the channel, and its result in place of the progress.
        done = acting_bot.fake.wait_for(
            "chat.update", where=lambda c: "up to date" in json.dumps(c.body).lower()
        )
        assert "<@U0OPS>" in json.dumps(done[0].body)
        refused = act(acting_bot, pull, user="U0VIEWER", name="pull-viewer", ephemeral=True)
        assert "not allowed" in json.dumps(refused).lower()
        remove = button(card, "chatops_image_remove")
        assert remove["style"] == "danger" and "confirm" in remove
        waiting = act(acting_bot, remove, user="U0ADMIN", name="rmi", ephemeral=True)
        assert "Waiting for approval" in json.dumps(waiting)
        api.inspect_image(reference)  # still there
    finally:
        api.remove_image(reference)


def test_tampered_values_do_nothing(
    acting_bot: SlackBot, sandbox: Sandbox, api: docker.APIClient
) -> None:
    name = sandbox.name("act-tamper")
    api.start(
        api.create_container(
            TEST_IMAGE, ["sh", "-c", STOPPABLE.format("")], name=name, labels=sandbox.labels
        )
    )
    container_id = api.inspect_container(name)["Id"]
    for value in (
        json.dumps({"engine": "elsewhere", "id": container_id}),
        json.dumps({"engine": "default", "id": name}),  # a name, not an ID
        json.dumps({"engine": "default", "id": container_id[:12]}),
        "not json",
    ):
        action = {
            "type": "button",
            "action_id": "chatops_container_stop",
            "value": value,
            "block_id": "object-card",
            "action_ts": "1",
        }
        body = block_actions_body(
            action_id="chatops_container_stop",
            value=value,
            user_id="U0OPS",
            response_url=acting_bot.fake.response_url("tampered"),
            action=action,
        )
        assert post_signed(acting_bot.events_url, body, secret=SIGNING_SECRET).status_code == 200
    # Positive control: the same click with the rendered value stops it.
    good = {
        "type": "button",
        "action_id": "chatops_container_stop",
        "block_id": "object-card",
        "value": json.dumps({"engine": "default", "id": container_id, "label": name}),
        "action_ts": "1",
    }
    act(acting_bot, good, user="U0OPS", name="good", ephemeral=True)
    assert not api.inspect_container(name)["State"]["Running"]
    # Each tampered click was answered, privately, and did nothing.
    refused = acting_bot.responses("tampered", count=4)
    assert len(refused) == 4 and all("no longer valid" in json.dumps(r) for r in refused)
