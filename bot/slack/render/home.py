"""The bot's Home tab: the engines, any change freeze, the requests waiting, the silences,
housekeeping, and what you may do.

Rendered for the person who opens it from plain values (``HomeState``); within the Home tab's
100 blocks. Engine details and commands come from configuration and engines: escaped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DividerBlock,
    HeaderBlock,
    PlainTextObject,
)

from bot.core.approval_records import ApprovalRecord
from bot.core.freezes import Outlook, Window, when
from bot.core.views import HomeState
from bot.slack.render.block_kit import (
    bounded,
    code,
    context,
    escape,
    escaped_within,
    mention,
    section,
)
from bot.slack.render.replies import APPROVE_ACTION, REJECT_ACTION
from bot.slack.render.silences import silence_line

MAX_HOME_BLOCKS = 100
MAX_REQUESTS_SHOWN = 15  # each takes up to three blocks
MAX_FREEZES_SHOWN = 5  # windows in force at once, each one line
MAX_SILENCES_SHOWN = 20  # one block for them all


def home_view(state: HomeState, *, now: datetime | None = None) -> dict[str, Any]:
    """The ``views.publish`` view for ``state``."""
    now = now or datetime.now(UTC)
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text="Docker ChatOps"))]
    blocks += _you(state)
    if not state.roles:
        return {"type": "home", "blocks": [block.to_dict() for block in blocks]}
    blocks += [DividerBlock(), section("*Engines*")]
    for engine in state.engines:
        icon = ":large_green_circle:" if engine.ok else ":red_circle:"
        detail = (
            escape(engine.version)
            if engine.ok and engine.version
            else ("answers" if engine.ok else "unreachable")
        )
        default = " (default)" if engine.default else ""
        blocks.append(section(f"{icon} {code(engine.name)}{default} · {detail}"))
    if state.freezes is not None:
        blocks += [DividerBlock(), *_freezes(state.freezes)]
    blocks += [DividerBlock(), section(f"*Waiting for approval* ({len(state.pending)})")]
    if not state.pending:
        blocks.append(context("No request is waiting."))
    for record in state.pending[:MAX_REQUESTS_SHOWN]:
        blocks += _request(record, state)
    if len(state.pending) > MAX_REQUESTS_SHOWN:
        more = len(state.pending) - MAX_REQUESTS_SHOWN
        blocks.append(context(f"…and {more} more: `{escape(state.command)} approvals` lists them."))
    blocks += [DividerBlock(), section(f"*Silenced* ({len(state.silences)})")]
    if not state.silences:
        blocks.append(context("No container is silenced."))
    else:
        lines = [silence_line(silence) for silence in state.silences[:MAX_SILENCES_SHOWN]]
        if len(state.silences) > MAX_SILENCES_SHOWN:
            more = len(state.silences) - MAX_SILENCES_SHOWN
            lines.append(f"…and {more} more: `{escape(state.command)} silences` lists them.")
        blocks.append(section(bounded("\n".join(lines), 3000)))
    blocks += [DividerBlock(), section("*Housekeeping*")]
    status = state.housekeeping
    if status is None or not status.engines:
        blocks.append(context("No housekeeping schedule is configured."))
    else:
        for name, schedule, last in status.engines:
            blocks.append(section(f"{code(name)} · {escape(schedule)}\nLast run: {escape(last)}"))
    blocks.append(context(f"Updated {now:%Y-%m-%d %H:%M} UTC · open the tab again to refresh"))
    if len(blocks) > MAX_HOME_BLOCKS:
        blocks = [*blocks[: MAX_HOME_BLOCKS - 1], context("(more was left out)")]
    return {"type": "home", "blocks": [block.to_dict() for block in blocks]}


def _you(state: HomeState) -> list[Block]:
    role = state.roles[-1] if state.roles else None
    who = (
        f"You ({mention(state.user_id)}) are *{role}*."
        if role
        else (
            f"You ({mention(state.user_id)}) hold no role here: ask an admin to add you "
            "under [roles] in the bot's configuration."
        )
    )
    lines = [who]
    if state.allowed:
        lines.append("You may run: " + ", ".join(code(name) for name in state.allowed))
    if state.with_approval:
        lines.append("After an approval: " + ", ".join(code(name) for name in state.with_approval))
    if state.may_approve:
        lines.append("You may approve other people's requests.")
    lines.append(f"Type `{escape(state.command)} help` in a channel, or mention the bot.")
    return [section(bounded("\n".join(lines), 3000))]


def _freezes(outlook: Outlook) -> list[Block]:
    """The [[freeze]] windows in force now, and the next one to open."""
    lines = [
        f":no_entry: Frozen until {escape(when(window.end))}: {_window(window)}"
        for window in outlook.in_force[:MAX_FREEZES_SHOWN]
    ]
    if len(outlook.in_force) > MAX_FREEZES_SHOWN:
        lines.append(f"…and {len(outlook.in_force) - MAX_FREEZES_SHOWN} more in force")
    if outlook.upcoming is not None:
        window = outlook.upcoming
        lines.append(
            f":calendar: Next: {escape(when(window.start))} to {escape(when(window.end))}: "
            f"{_window(window)}"
        )
    blocks: list[Block] = [section("*Change freeze*")]
    if lines:
        blocks.append(section(bounded("\n".join(lines), 3000)))
    else:
        blocks.append(context("No window is in force or coming."))
    return blocks


def _window(window: Window) -> str:
    engines = ", ".join(code(name) for name in sorted(window.engines)) or "every engine"
    actions = ", ".join(code(name) for name in sorted(window.actions)) or "every change"
    return f"{escaped_within(window.reason, 300)} · {engines} · {actions}"


def _request(record: ApprovalRecord, state: HomeState) -> list[Block]:
    who = "housekeeping" if record.auto_run else mention(record.requester)
    text = (
        f"*#{record.id}* {code('docker ' + record.shown_command)} on {code(record.engine)} · "
        f"asked by {who} · expires {record.expires_at:%H:%M} UTC"
    )
    blocks: list[Block] = [section(text)]
    if state.may_approve and record.requester != state.user_id and not record.auto_run:
        value = str(record.id)
        blocks.append(
            ActionsBlock(
                block_id=f"home-request-{record.id}",
                elements=[
                    ButtonElement(
                        text="Approve",
                        action_id=APPROVE_ACTION,
                        value=value,
                        style="primary",
                        confirm=ConfirmObject(
                            title="Approve?",
                            confirm="Approve",
                            deny="Cancel",
                            text=escape(
                                bounded(f"docker {record.shown_command} on {record.engine}", 300)
                            ),
                        ),
                    ),
                    ButtonElement(
                        text="Reject", action_id=REJECT_ACTION, value=value, style="danger"
                    ),
                ],
            )
        )
    return blocks
