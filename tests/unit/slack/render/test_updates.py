"""Available updates in Slack: escaped, bounded, and each Upgrade button the upgrade command
on its exact container."""

from __future__ import annotations

import json

from bot.core.operations import UpgradeContainers
from bot.core.results import UpdateRow
from bot.slack.object_actions import card_command
from bot.slack.render.updates import updates_message

HOSTILE = "<!channel> & <@U1>"


def test_updates_are_escaped_bounded_and_their_buttons_upgrade_the_exact_container() -> None:
    rows = tuple(
        UpdateRow(
            container=f"{HOSTILE}-{index}",
            reference="registry.example/app:latest",
            current_digest=None,
            available_digest="sha256:" + "2" * 64,
            container_id=f"{index:064x}",
        )
        for index in range(60)
    )
    text, blocks = updates_message("prod", rows, (("r/x:1", HOSTILE),))
    # What people see: every text (a button's value is data Slack hands back, never shown).
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    dumped = json.dumps([b for b in blocks if b["type"] != "actions"])
    dumped += json.dumps([{k: v for k, v in e.items() if k != "value"} for e in buttons])
    assert "<!channel>" not in dumped and "<@U1>" not in dumped and "&lt;!channel&gt;" in dumped
    assert len(blocks) <= 50 and "more: `updates` lists them all" in dumped
    first = card_command(buttons[0]["action_id"], buttons[0]["value"], ("prod",))
    assert first is not None and first.operation == UpgradeContainers(containers=(f"{0:064x}",))
    assert text == "60 update(s) available on prod"
