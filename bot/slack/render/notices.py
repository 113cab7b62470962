"""Team notifications as Slack messages: one incident, a storm's summary, a thread reply.

Every name, image, log line and health output comes from the engine: escaped, bounded, and
the log in a fence-safe code block, so none of it can mention anyone or break the layout.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    SectionBlock,
)

from bot.core.notices.classify import Occurrence
from bot.core.notices.incidents import IncidentView, SummaryView
from bot.core.notices.intents import HOUSEKEEPING, Cause
from bot.core.notices.rules import NoticeKind
from bot.render.humanize import short_id
from bot.slack.render.block_kit import (
    MAX_FALLBACK_TEXT,
    bounded,
    code,
    code_block,
    context,
    escape,
    mention,
    mrkdwn,
    section,
)
from bot.slack.render.silences import silenced_note

NOTICE_LOGS_ACTION = "chatops_notice_logs"
NOTICE_RESTART_ACTION = "chatops_notice_restart"
NOTICE_INSPECT_ACTION = "chatops_notice_inspect"
# Silence buttons: one click silences the container (its name) for that long.
NOTICE_SILENCE_ACTIONS = {
    "chatops_notice_silence_1h": timedelta(hours=1),
    "chatops_notice_silence_24h": timedelta(hours=24),
}
# What a Silence button's value may name (Docker's rule for container names).
SILENCEABLE_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}\Z")
NOTICE_ACTIONS = (
    NOTICE_LOGS_ACTION,
    NOTICE_RESTART_ACTION,
    NOTICE_INSPECT_ACTION,
    *NOTICE_SILENCE_ACTIONS,
)
NOTICE_LOG_LINES = 100  # what the Logs button asks for
_DETAIL_BUDGET = 1_500  # characters of log or health output in a notice

_HEADLINES = {
    NoticeKind.CRASH: (":x:", "exited with an error"),
    NoticeKind.OOM: (":boom:", "was killed for lack of memory (OOM)"),
    NoticeKind.RESTART_LOOP: (":repeat:", "is restarting in a loop"),
    NoticeKind.UNHEALTHY: (":face_with_thermometer:", "is unhealthy"),
}
_SHORT = {
    NoticeKind.CRASH: "exited",
    NoticeKind.OOM: "OOM-killed",
    NoticeKind.RESTART_LOOP: "restart loop",
    NoticeKind.UNHEALTHY: "unhealthy",
}


def when(time_ns: int) -> str:
    """A time each reader sees in their own zone (with a UTC fallback)."""
    seconds = time_ns // 1_000_000_000
    fallback = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"<!date^{seconds}^{{date_short_pretty}} {{time_secs}}|{fallback}>"


_DURING = {
    "stop": "a stop",
    "restart": "a restart",
    "rm": "a removal",
    "upgrade": "an upgrade",
    "rollback": "a rollback",
}


def during(cause: Cause, *, plain: bool = False) -> str:
    """``during a restart by @dana`` (``plain``: unescaped, the user's ID as text, for the
    fallback text, which is escaped whole)."""
    if cause.action == HOUSEKEEPING or cause.user == HOUSEKEEPING:
        return "during housekeeping"
    what = _DURING.get(cause.action, cause.action)
    if plain:
        return f"during {what} by @{cause.user}"
    return f"during {escape(what)} by {mention(cause.user)}"


def button_value(engine: str, container_id: str, name: str | None = None) -> str:
    value = {"engine": engine, "container": container_id}
    if name is not None:  # the Silence buttons silence the container's name
        value["name"] = name
    return json.dumps(value, separators=(",", ":"))


def incident_message(view: IncidentView) -> tuple[str, list[dict[str, Any]]]:
    """The fallback text and blocks of one incident's message."""
    icon, verb = _HEADLINES.get(view.kind, (":warning:", str(view.kind)))
    name = view.name or short_id(view.container_id)
    headline = f"{icon} {code(name)} {verb} on {code(view.engine)}"
    if view.during is not None:
        headline += f" {during(view.during)}"
    facts = [f"*Image:* {code(view.image)}", f"*Container:* {code(short_id(view.container_id))}"]
    if view.exit_code is not None:
        facts.append(f"*Exit code:* {view.exit_code}")
    if view.kind is NoticeKind.RESTART_LOOP and view.restarts:
        facts.append(f"*Restarts:* {view.restarts} within the loop window")
    blocks: list[Block] = [section(headline), section(" · ".join(facts))]
    details = view.details
    if details is not None and details.health_output.strip():
        body, _ = code_block(details.health_output[-_DETAIL_BUDGET:], budget=_DETAIL_BUDGET)
        blocks.append(section(f"*Last health check:*\n{body}"))
    if details is not None and details.log_tail.strip():
        body, _ = code_block(details.log_tail[-_DETAIL_BUDGET:], budget=_DETAIL_BUDGET)
        blocks.append(section(f"*Last log lines:*\n{body}"))
    elif details is not None and details.missing:
        blocks.append(context("The container was removed before its log could be read."))
    times = f"{when(view.first_ns)}"
    if view.count > 1:
        times = (
            f"{view.count} times · first {when(view.first_ns)} · last {when(view.last_ns)}"
            " · each one in the thread"
        )
    blocks.append(context(times))
    if view.silenced is not None:
        blocks.append(context(silenced_note(view.silenced)))
    blocks.append(_buttons(view))
    text = f"{name} {verb} on {view.engine}"
    if view.during is not None:
        text += f" {during(view.during, plain=True)}"
    if view.exit_code is not None:
        text += f" (exit code {view.exit_code})"
    if view.count > 1:
        text += f", {view.count} times"
    if view.silenced is not None:
        until = view.silenced.ends_at.astimezone(UTC)
        text += f"; silenced by @{view.silenced.created_by} until {until:%H:%M} UTC"
    return escape(bounded(text, MAX_FALLBACK_TEXT)), [block.to_dict() for block in blocks]


def _buttons(view: IncidentView) -> ActionsBlock:
    value = button_value(view.engine, view.container_id)
    name = view.name or short_id(view.container_id)
    # Silenced by its name (its next incarnation too); no name Docker would give, no button.
    own = view.name.lstrip("/")
    silenceable = own if SILENCEABLE_NAME.match(own) else None
    return ActionsBlock(
        block_id=f"notice-{view.id}",
        elements=[
            ButtonElement(text="Logs", action_id=NOTICE_LOGS_ACTION, value=value),
            ButtonElement(
                text="Restart",
                action_id=NOTICE_RESTART_ACTION,
                value=value,
                confirm=ConfirmObject(
                    title="Restart the container?",
                    text=escape(bounded(f"docker restart {name} on {view.engine}", 300)),
                    confirm="Restart",
                    deny="Cancel",
                ),
            ),
            ButtonElement(text="Inspect", action_id=NOTICE_INSPECT_ACTION, value=value),
            *(
                ButtonElement(
                    text=f"Silence {int(duration.total_seconds()) // 3600}h",
                    action_id=action_id,
                    value=button_value(view.engine, view.container_id, silenceable),
                )
                for action_id, duration in NOTICE_SILENCE_ACTIONS.items()
                if silenceable is not None
            ),
        ],
    )


def summary_message(view: SummaryView) -> tuple[str, list[dict[str, Any]]]:
    """A storm's one message: which containers, grouped."""
    engines = sorted({incident.engine for incident in view.incidents})
    where = ", ".join(code(engine) for engine in engines)
    headline = (
        f":rotating_light: *{view.total} containers in trouble* on {where} ({view.events} events)"
    )
    rows = []
    for incident in view.incidents:
        line = f"• {code(incident.name or short_id(incident.container_id))} "
        line += _SHORT.get(incident.kind, str(incident.kind))
        if incident.exit_code is not None:
            line += f" (exit {incident.exit_code})"
        if incident.count > 1:
            line += f" ×{incident.count}"
        if incident.silenced is not None:
            line += " (silenced)"
        if len(engines) > 1:
            line += f" on {code(incident.engine)}"
        rows.append(line)
    more = view.total - len(view.incidents)
    if more > 0:
        rows.append(f"… and {more} more")
    blocks: list[Block] = [section(headline), _rows_section(rows)]
    blocks.append(
        context(
            "Grouped into one message to keep this channel readable; "
            "`/docker ps -a --filter status=exited` lists them."
        )
    )
    text = f"{view.total} containers in trouble ({view.events} events)"
    return escape(text), [block.to_dict() for block in blocks]


def _rows_section(rows: list[str]) -> SectionBlock:
    text = ""
    for row in rows:
        if len(text) + len(row) + 1 > 2900:
            text += "\n…"
            break
        text += ("\n" if text else "") + row
    return SectionBlock(text=mrkdwn(text or "_none_"))


def thread_text(occurrences: tuple[Occurrence, ...], more: int) -> str:
    """A thread reply: the repeats since the last one, one per line."""
    lines = []
    for occurrence in occurrences:
        line = f"{when(occurrence.at_ns)} {code(occurrence.name)} "
        line += _SHORT.get(occurrence.kind, str(occurrence.kind))
        if occurrence.exit_code is not None:
            line += f", exit code {occurrence.exit_code}"
        lines.append(line)
    if more:
        lines.append(f"… and {more} more")
    return bounded("\n".join(lines), MAX_FALLBACK_TEXT)


def engine_text(text: str) -> str:
    """An engine notice (unreachable, back), escaped."""
    return bounded(escape(text), MAX_FALLBACK_TEXT)
