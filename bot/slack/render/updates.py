"""Available updates as a Slack message: one section per container, with an Upgrade button
(approvals apply: it is the `upgrade` command on that exact container)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.core.humanize import short_id
from bot.core.plans import ObjectKind
from bot.core.results import UpdateRow
from bot.core.views import PickedObject
from bot.slack.render.block_kit import MAX_BLOCKS, code, context, escape, section
from bot.slack.render.object_actions import (
    CONTAINER_UPGRADE_ACTION,
    card_value,
    confirmed_button,
)

_PER_ROW = 2  # a section and its button


def _digest(digest: str | None) -> str:
    return short_id(digest) if digest else "never pushed"


def updates_message(
    engine: str, rows: tuple[UpdateRow, ...], failures: tuple[tuple[str, str], ...]
) -> tuple[str, list[dict[str, Any]]]:
    """The fallback text and blocks for one engine's new updates."""
    text = f"{len(rows)} update(s) available on {engine}"
    blocks: list[Block] = [section(f"*Updates available on {code(engine)}*")]
    room = (MAX_BLOCKS - 3) // _PER_ROW
    for row in rows[:room]:
        blocks.append(
            section(
                f"{code(row.container)} follows {code(row.reference)}: runs "
                f"`{_digest(row.current_digest)}`, the registry has "
                f"`{_digest(row.available_digest)}`"
            )
        )
        picked = PickedObject(
            engine=engine,
            kind=ObjectKind.CONTAINER,
            object_id=row.container_id,
            label=row.container,
        )
        button = confirmed_button(
            "Upgrade",
            CONTAINER_UPGRADE_ACTION,
            card_value(picked),
            f"pull {row.reference} and replace {row.container} on {engine} (approvals apply)",
        )
        blocks.append(ActionsBlock(block_id=f"upgrade-{row.container_id[:12]}", elements=[button]))
    if len(rows) > room:
        blocks.append(context(f"…and {len(rows) - room} more: `updates` lists them all."))
    if failures:
        told = "; ".join(f"{reference}: {why}" for reference, why in failures[:5])
        blocks.append(context(escape(f"Not checked, the registry did not answer: {told}"[:2900])))
        if not rows:
            text = f"The update check on {engine} could not ask every registry"
    return escape(text), [block.to_dict() for block in blocks]
