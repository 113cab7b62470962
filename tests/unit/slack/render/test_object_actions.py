"""The listing menus and the object cards stay within Block Kit's limits and escape names."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.core.pipeline import Reply
from bot.core.results import ContainerList, ContainerRow, ImageList, ImageRow
from bot.slack.render.object_actions import (
    PICK_CONTAINER_ACTION,
    PICK_IMAGE_ACTION,
    listing_picker,
    object_card,
    picked_object,
)
from bot.slack.render.replies import render_slack

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def container(index: int, name: str | None = None) -> ContainerRow:
    return ContainerRow(
        id=f"{index:064x}",
        image="busybox",
        command="sh",
        created=NOW,
        status="Up",
        state="running",
        ports=(),
        names=(name or f"c{index}",),
    )


def test_the_menu_holds_at_most_100_options_of_at_most_150_characters() -> None:
    rows = tuple(container(i, "x" * 300 if i == 3 else None) for i in range(250))
    picker = listing_picker(ContainerList(rows=rows), engine="prod").to_dict()  # type: ignore[union-attr]
    [menu] = picker["elements"]
    assert menu["action_id"] == PICK_CONTAINER_ACTION
    assert 0 < len(menu["options"]) <= 99  # the rows the table shows
    for option in menu["options"]:
        assert len(option["value"]) <= 150 and len(option["text"]["text"]) <= 75
        assert json.loads(option["value"])["engine"] == "prod"


def test_no_menu_for_quiet_or_empty_listings_or_without_an_engine() -> None:
    assert listing_picker(ContainerList(rows=(container(1),), quiet=True), engine="e") is None
    assert listing_picker(ContainerList(rows=()), engine="e") is None
    listing = ContainerList(rows=(container(1),))
    without = json.dumps(render_slack(Reply(text="ps", result=listing)).blocks)
    with_engine = json.dumps(render_slack(Reply(text="ps", engine="e", result=listing)).blocks)
    assert PICK_CONTAINER_ACTION not in without and PICK_CONTAINER_ACTION in with_engine


def test_image_menu_labels_and_pull_only_for_tagged_images() -> None:
    rows = (
        ImageRow(
            id="sha256:" + "a" * 64,
            repository="nginx",
            tag="1.27",
            digest=None,
            created=NOW,
            size=1,
        ),
        ImageRow(
            id="sha256:" + "b" * 64, repository=None, tag=None, digest=None, created=NOW, size=1
        ),
    )
    menu = listing_picker(ImageList(rows=rows), engine="e").to_dict()["elements"][0]  # type: ignore[union-attr]
    assert menu["action_id"] == PICK_IMAGE_ACTION
    labels = [o["text"]["text"] for o in menu["options"]]
    assert labels == ["nginx:1.27", "<none> bbbbbbbbbbbb"]
    tagged = picked_object(PICK_IMAGE_ACTION, engine="e", object_id=rows[0].id, label=labels[0])
    cut = picked_object(PICK_IMAGE_ACTION, engine="e", object_id=rows[0].id, label="nginx:1…")
    assert tagged.reference == "nginx:1.27" and cut.reference is None
    dangling = picked_object(PICK_IMAGE_ACTION, engine="e", object_id=rows[1].id, label=labels[1])
    pulls = [
        b
        for obj in (tagged, dangling)
        for b in json.dumps([x.to_dict() for x in object_card(obj)[1]]).split('"action_id"')
        if "chatops_image_pull" in b
    ]
    assert len(pulls) == 1


def test_an_image_under_several_tags_has_distinct_values() -> None:
    image_id = "sha256:" + "c" * 64
    rows = tuple(
        ImageRow(
            id=image_id,
            repository="registry.example.com/team/" + "x" * 40,
            tag=tag,
            digest=None,
            created=NOW,
            size=1,
        )
        for tag in ("latest", "1.2", "1.2.3-very-long-tag-" + "y" * 30)
    )
    menu = listing_picker(ImageList(rows=rows), engine="e").to_dict()["elements"][0]  # type: ignore[union-attr]
    values = [o["value"] for o in menu["options"]]
    assert len(values) == 3 and len(set(values)) == 3
    assert all(len(value) <= 150 for value in values)


def test_the_card_escapes_what_the_engine_named() -> None:
    obj = picked_object(
        PICK_CONTAINER_ACTION, engine="e", object_id="f" * 64, label="<!channel> & <@U123>"
    )
    _, blocks = object_card(obj)
    dicts = [block.to_dict() for block in blocks]
    for button in dicts[1]["elements"]:
        button.pop("value")  # carried back to the bot, never shown
    shown = json.dumps(dicts)
    assert "<!channel>" not in shown and "<@U123>" not in shown
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt;" in shown
