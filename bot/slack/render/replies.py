"""Slack rendering: replies -> Block Kit messages that stay within Slack's limits.

Everything that came from a user or an engine is escaped for mrkdwn (``&``, ``<``, ``>``), so
a container name or a log line can never mention ``@channel`` or a user. What does not fit in
a message travels as a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, assert_never

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    HeaderBlock,
    PlainTextObject,
    SectionBlock,
    TableBlock,
)
from slack_sdk.models.blocks.basic_components import RawTextObject

from bot.core import results
from bot.core.approvals import ApprovalRecord
from bot.core.pipeline import Reply
from bot.core.plans import ObjectKind
from bot.core.trace_ids import current_trace_id
from bot.errors import ParseError
from bot.render import columns
from bot.render.humanize import human_size, short_id
from bot.render.notes import events_note, stats_note
from bot.render.notes import table as text_table
from bot.slack.render.block_kit import (
    MAX_BLOCKS,
    MAX_CELL_TEXT,
    MAX_FALLBACK_TEXT,
    MAX_FIELD_TEXT,
    MAX_FIELDS,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    MAX_TABLE_CHARACTERS,
    MAX_TABLE_COLUMNS,
    MAX_TABLE_ROWS,
    bounded,
    code,
    code_block,
    context,
    escape,
    escaped_within,
    mention,
    mrkdwn,
    section,
)
from bot.slack.render.object_actions import listing_picker
from bot.slack.render.silences import silence_line, until_text

APPROVE_ACTION = "chatops_approve"
REJECT_ACTION = "chatops_reject"
_ACTION_VERBS = {
    "rm": "Removed",
    "rmi": "Removed image",
    "start": "Started",
    "stop": "Stopped",
    "restart": "Restarted",
    "pause": "Paused",
    "unpause": "Unpaused",
    "volume rm": "Removed volume",
    "upgrade": "Upgraded",
    "rollback": "Rolled back",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class SlackFile:
    """Content too long for a message, delivered as a file beside it."""

    filename: str
    content: str
    title: str


@dataclass(frozen=True, kw_only=True, slots=True)
class SlackMessage:
    text: str  # notification / fallback text
    blocks: list[dict[str, Any]]
    files: tuple[SlackFile, ...] = field(default=())


def plan_text(record: ApprovalRecord) -> str:
    """The exact objects an approval request covers."""
    items = [f"• {item.kind} {code(item.description)}" for item in record.plan.items[:30]]
    more = len(record.plan.items) - len(items)
    if more > 0:
        items.append(f"… and {more} more")
    body = "\n".join(items) or "_nothing matches now_"
    return bounded(f"*Plan on {code(record.engine)}:*\n{body}", MAX_SECTION_TEXT)


_STATE_LINES = {
    "pending": ":hourglass: Waiting for approval",
    "approved": ":white_check_mark: Approved",
    "executing": ":gear: Approved; running",
    "done": ":white_check_mark: Done",
    "failed": ":x: Failed",
    "rejected": ":no_entry: Rejected",
    "expired": ":alarm_clock: Expired; nothing was done",
    "cancelled": ":leftwards_arrow_with_hook: Cancelled by the requester; nothing was done",
    "withdrawn": ":leftwards_arrow_with_hook: Withdrawn; nothing was done",
    "interrupted": ":warning: Interrupted while running; not run again",
    "tampered": ":rotating_light: Failed its integrity check; never run",
}


def approval_request_blocks(
    record: ApprovalRecord, *, approvers: str, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The request as approvers see it; with Approve/Reject buttons while it is pending."""
    kind = "Scheduled cleanup" if record.auto_run else "Approval request"
    title = escape(bounded(f"{kind} #{record.id}", MAX_HEADER_TEXT))
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=title)),
        section(
            f"The housekeeping schedule will run {code('/docker ' + record.shown_command)} "
            f"on {code(record.engine)}."
            if record.auto_run
            else f"{mention(record.requester)} asks to run "
            f"{code('/docker ' + record.shown_command)} on {code(record.engine)}."
        ),
        section(plan_text(record)),
    ]
    state = record.state.value
    status = _STATE_LINES[state]
    if record.approvers:
        status += " · approved by " + ", ".join(mention(user) for user in record.approvers)
    if record.outcome:
        status += f" · {escape(bounded(record.outcome, 1500))}"
    if state == "pending" and record.auto_run:
        status = (
            f":hourglass: Runs at {record.expires_at:%H:%M} UTC unless someone cancels it "
            f"({escape(approvers)})"
        )
    elif state == "pending":
        status += f" · approvers: {escape(approvers)} · expires {record.expires_at:%H:%M} UTC"
    else:
        status += f" · {(now or datetime.now(UTC)):%Y-%m-%d %H:%M} UTC"
    blocks.append(context(status))
    if state == "pending":
        blocks.append(
            ActionsBlock(
                block_id=f"approval-{record.id}-{len(record.approvers)}",
                elements=[
                    ButtonElement(
                        text="Run now" if record.auto_run else "Approve",
                        action_id=APPROVE_ACTION,
                        value=str(record.id),
                        style="primary",
                    ),
                    ButtonElement(
                        text="Cancel" if record.auto_run else "Reject",
                        action_id=REJECT_ACTION,
                        value=str(record.id),
                        style="danger",
                    ),
                ],
            )
        )
    return [block.to_dict() for block in blocks]


def credit_line(requester: str, text: str, engine: str | None) -> str:
    """``@someone ran `/docker rm web` on `prod``` (a mention only for a well-formed ID)."""
    who = mention(requester)
    where = f" on {code(engine)}" if engine else ""
    return f"{who} ran {code('/docker ' + text)}{where}"


def render_slack(
    reply: Reply, *, requester: str | None = None, now: datetime | None = None
) -> SlackMessage:
    """The Slack message for ``reply``. ``requester`` (a user ID) is credited when given."""
    now = now or datetime.now(UTC)
    blocks: list[Block] = []
    files: list[SlackFile] = []
    if requester and reply.text:
        blocks.append(context(credit_line(requester, reply.text, reply.engine)))
    blocks.extend(context(f":information_source: {escape(note)}") for note in reply.warnings)
    if reply.error is not None:
        blocks.append(section(f":warning: {escape(str(reply.error))}"))
        if isinstance(reply.error, ParseError) and reply.error.usage:
            blocks.append(context(f"Usage: {code(reply.error.usage)}"))
        trace = current_trace_id()
        if trace is not None and not isinstance(reply.error, ParseError):
            # What to quote to whoever runs the bot: its log lines carry the same ID.
            blocks.append(context(f"Request ID {code(trace)}"))
        fallback = f"Error: {reply.error}"
    elif reply.result is not None:
        fallback = _result_blocks(reply.result, blocks, files, now=now)
        if reply.engine and isinstance(reply.result, results.ContainerList | results.ImageList):
            picker = listing_picker(reply.result, engine=reply.engine)
            if picker is not None:
                blocks.append(picker)
    else:
        fallback = "Done."
    if len(blocks) > MAX_BLOCKS:
        blocks = [*blocks[: MAX_BLOCKS - 1], context("(more was left out)")]
    return SlackMessage(
        # The fallback text is parsed for mentions in notifications: escaped like the rest.
        text=escaped_within(fallback, MAX_FALLBACK_TEXT),
        blocks=[block.to_dict() for block in blocks],
        files=tuple(files),
    )


def _result_blocks(
    result: results.Result, blocks: list[Block], files: list[SlackFile], *, now: datetime
) -> str:
    """Append the blocks for ``result``; return the fallback text."""
    match result:
        case results.ContainerList():
            if result.quiet:
                ids = columns.quiet_ids([row.id for row in result.rows], no_trunc=result.no_trunc)
                return _id_list("containers", ids, blocks, files)
            headers = columns.CONTAINER_HEADERS
            rows = columns.container_table(result, now=now)
            return _listing("container", headers, rows, blocks, files)
        case results.ImageList():
            if result.quiet:
                ids = columns.quiet_ids([row.id for row in result.rows], no_trunc=result.no_trunc)
                return _id_list("images", ids, blocks, files)
            headers = columns.image_headers(result)
            return _listing("image", headers, columns.image_table(result, now=now), blocks, files)
        case results.PullResult():
            return _pull(result, blocks)
        case results.RunResult():
            return _run(result, blocks, files)
        case results.ActionResult():
            return _action(result, blocks)
        case results.LogsResult():
            return _logs(result, blocks, files)
        case results.InspectResult():
            return _inspect(result, blocks, files)
        case results.StatsResult():
            count = _listing(
                "container", columns.STATS_HEADERS, columns.stats_table(result), blocks, files
            )
            note = stats_note(result)
            if note:
                blocks.append(context(escape(note)))
            return f"stats: {count}"
        case results.TopResult():
            blocks.append(context(f"Processes of {code(result.container)}"))
            return _listing("process", result.titles, columns.top_table(result), blocks, files)
        case results.PortList():
            return _ports(result, blocks)
        case results.DiskUsageResult():
            headers = columns.DISK_USAGE_HEADERS
            _listing("type", headers, columns.disk_usage_table(result), blocks, files)
            return "Disk usage"
        case results.VolumeList():
            if result.quiet:
                return _id_list("volumes", [row.name for row in result.rows], blocks, files)
            headers = columns.VOLUME_HEADERS
            return _listing("volume", headers, columns.volume_table(result), blocks, files)
        case results.NetworkList():
            if result.quiet:
                ids = columns.quiet_ids([row.id for row in result.rows], no_trunc=result.no_trunc)
                return _id_list("networks", ids, blocks, files)
            headers = columns.NETWORK_HEADERS
            return _listing("network", headers, columns.network_table(result), blocks, files)
        case results.EventList():
            return _events(result, blocks, files)
        case results.PruneResult():
            return _prune(result, blocks)
        case results.HelpResult():
            return _help(result, blocks)
        case results.ApprovalRequested():
            record = result.record
            blocks.append(
                section(
                    f":hourglass: Waiting for approval: request *#{record.id}* "
                    f"({escape(result.approvers)}). Expires {record.expires_at:%H:%M} UTC; "
                    f"withdraw it with {code(f'/docker cancel {record.id}')}."
                )
            )
            blocks.append(section(plan_text(record)))
            return f"Waiting for approval: request #{record.id}"
        case results.ApprovalList():
            if not result.records:
                blocks.append(section("No pending approval requests."))
                return "No pending approval requests."
            lines = [
                f"*#{r.id}* {code('/docker ' + r.shown_command)} on {code(r.engine)} "
                f"by {mention(r.requester)}, expires {r.expires_at:%H:%M} UTC"
                if r.intact
                else f"*#{r.id}* :rotating_light: failed its integrity check; it will never run"
                for r in result.records[:40]
            ]
            blocks.append(section("\n".join(lines)))
            return f"{len(result.records)} pending approval request(s)"
        case results.ApprovalUpdate():
            blocks.append(section(escape(result.message)))
            return result.message
        case results.AccessAnswer():
            line = f"{mention(result.user_id)} {escape(result.sentence())}"
            blocks.append(section(line))
            return f"{result.user_id} {result.sentence()}"
        case results.AuditList():
            rows = [
                (
                    str(e.id),
                    f"{e.at:%m-%d %H:%M:%S}",
                    e.event,
                    e.actor,
                    e.engine or "",
                    e.command,
                    e.detail[:60],
                )
                for e in result.entries
            ]
            headers = ("ID", "TIME (UTC)", "EVENT", "ACTOR", "ENGINE", "COMMAND", "DETAIL")
            text = text_table(headers, rows) if rows else "The audit log is empty."
            _tail_with_file(
                SlackFile(filename="audit.txt", content=text, title="Audit log"), blocks, files
            )
            return f"{len(rows)} audit entries"
        case results.SilenceList():
            return _silences(result, blocks)
        case results.SilenceUpdate():
            return _silence_update(result, blocks)
        case results.CleanupReport():
            return _cleanup(result, blocks)
        case results.CleanupStatus():
            lines = [
                f"*{escape(engine)}*: {escape(schedule)} · last: {escape(last)}"
                for engine, schedule, last in result.engines
            ]
            blocks.append(section("\n".join(lines) or "No engines."))
            return "Housekeeping status"
        case results.UpdateList():
            rows = columns.update_table(result, now=now)
            text = _listing("update", columns.UPDATE_HEADERS, rows, blocks, files) if rows else ""
            notes = columns.update_notes(result)
            if notes:
                blocks.append(context(escape("\n".join(notes))))
            return text or notes[0]
        case results.ServiceList():
            rows = columns.service_table(result)
            return _listing("service", columns.SERVICE_HEADERS, rows, blocks, files)
        case results.TaskList():
            rows = columns.task_table(result)
            return _listing("task", columns.TASK_HEADERS, rows, blocks, files)
        case _:
            assert_never(result)


def _cleanup(report: results.CleanupReport, blocks: list[Block]) -> str:
    verb = "Would remove" if report.dry_run else "Removed"
    headline = (
        f":broom: {verb} {len(report.removed)} object(s) on {code(report.engine)}, "
        f"{human_size(report.space_reclaimed)}."
    )
    blocks.append(section(headline))
    for kind in ObjectKind:
        names = [code(i.target) for i in report.removed if i.kind is kind]
        if names:
            blocks.append(
                section(bounded(f"*{kind.plural.title()}:* " + ", ".join(names), MAX_SECTION_TEXT))
            )
    if report.skipped:
        skipped = [f"{code(i.target)}: {escape(why)}" for i, why in report.skipped]
        blocks.append(section(bounded("*Skipped:* " + "; ".join(skipped), MAX_SECTION_TEXT)))
    if report.errors:
        errors = "\n".join(f":x: {escape(error)}" for error in report.errors)
        blocks.append(section(bounded(errors, MAX_SECTION_TEXT)))
    return headline.split(" ", 1)[1]


def _listing(
    noun: str,
    headers: tuple[str, ...],
    rows: list[tuple[str, ...]],
    blocks: list[Block],
    files: list[SlackFile],
) -> str:
    count = f"{len(rows)} {noun}{'' if len(rows) == 1 else 's'}"
    if not rows or not headers:
        blocks.append(section(f"No {noun}s."))
        return f"No {noun}s."
    table_rows = [[_cell(title) for title in headers[:MAX_TABLE_COLUMNS]]]
    budget = MAX_TABLE_CHARACTERS - sum(len(cell.text) for cell in table_rows[0])
    for row in rows[: MAX_TABLE_ROWS - 1]:
        cells = [_cell(value) for value in row[:MAX_TABLE_COLUMNS]]
        budget -= sum(len(cell.text) for cell in cells)
        if budget < 0:
            break
        table_rows.append(cells)
    shown = table_rows[1:]
    blocks.append(TableBlock(rows=table_rows))
    cut_columns = any(len(row) > MAX_TABLE_COLUMNS for row in (headers, *rows))
    if len(shown) < len(rows) or cut_columns:
        what = f"Showing {len(shown)} of {count}"
        if cut_columns:
            what += f" and {MAX_TABLE_COLUMNS} of {len(headers)} columns"
        blocks.append(context(f"{what}; the full listing is attached as a file."))
        files.append(
            SlackFile(filename=f"{noun}s.txt", content=text_table(headers, rows), title=count)
        )
    return count


def _cell(text: str) -> RawTextObject:
    return RawTextObject(text=escape(bounded(text, MAX_CELL_TEXT)) or " ")


def _id_list(noun: str, ids: list[str], blocks: list[Block], files: list[SlackFile]) -> str:
    if not ids:
        blocks.append(section(f"No {noun}."))
        return f"No {noun}."
    text, cut = code_block("\n".join(ids))
    blocks.append(section(text))
    if cut:
        files.append(SlackFile(filename=f"{noun}.txt", content="\n".join(ids), title=noun))
    return f"{len(ids)} {noun}"


def _pull(result: results.PullResult, blocks: list[Block]) -> str:
    if result.up_to_date:
        headline = f":white_check_mark: {code(result.reference)} is up to date"
    else:
        headline = f":inbox_tray: Pulled {code(result.reference)}"
    facts = []
    if result.digest:
        facts.append(f"*Digest*\n{code(result.digest)}")
    if result.image_id:
        facts.append(f"*Image ID*\n{code(short_id(result.image_id))}")
    if result.size is not None:
        facts.append(f"*Size*\n{human_size(result.size)}")
    block = section(headline)
    if facts:
        block.fields = [mrkdwn(bounded(fact, MAX_FIELD_TEXT)) for fact in facts]
    blocks.append(block)
    return f"Pulled {result.reference}"


def _run(result: results.RunResult, blocks: list[Block], files: list[SlackFile]) -> str:
    name = code(result.name)
    if result.detached:
        blocks.append(
            section(f":rocket: Started container {name} ({code(short_id(result.container_id))})")
        )
        return f"Started container {result.name}"
    if result.timed_out_after is not None:
        headline = (
            f":hourglass: {name} is still running after {result.timed_out_after:g}s; "
            f"see {code('/docker logs ' + result.name)}, stop it with "
            f"{code('/docker stop ' + result.name)}."
            + (" It will be removed when it exits (`--rm`)." if result.removes_on_exit else "")
        )
    else:
        icon = ":white_check_mark:" if result.exit_code == 0 else ":x:"
        removed = " and was removed" if result.removed else ""
        headline = f"{icon} {name} exited with code {result.exit_code}{removed}."
    blocks.append(section(headline))
    if result.output:
        file = SlackFile(
            filename=f"{result.name}-output.txt",
            content=result.output,
            title=f"Output of {result.name}",
        )
        cut = _tail_with_file(file, blocks, files)
        if cut or result.output_truncated:
            blocks.append(context("Only the last lines of the output are shown."))
    return headline.split(" ", 1)[1]


def _tail_with_file(file: SlackFile, blocks: list[Block], files: list[SlackFile]) -> bool:
    """The tail of ``file`` in a code block; the whole of it as a file if it did not fit."""
    text, cut = code_block(file.content)
    blocks.append(section(text))
    if cut:
        files.append(file)
    return cut


def _action(result: results.ActionResult, blocks: list[Block]) -> str:
    verb = _ACTION_VERBS.get(result.action, result.action)
    done = [code(o.target) for o in result.outcomes if o.ok and not o.detail]
    lines = []
    if done:
        lines.append(f":white_check_mark: {verb} {', '.join(done)}")
    # What an action says of a target it did (an upgrade: the images and how long it took).
    lines += [
        f":white_check_mark: {verb} {code(o.target)}: {escape(o.detail)}"
        for o in result.outcomes
        if o.ok and o.detail
    ]
    lines += [f":x: {code(o.target)}: {escape(o.detail)}" for o in result.outcomes if not o.ok]
    blocks.append(section("\n".join(lines)))
    if result.details:
        text, _ = code_block("\n".join(result.details))
        blocks.append(section(text))
    return f"{verb} {len(done)} of {len(result.outcomes)}"


def _logs(result: results.LogsResult, blocks: list[Block], files: list[SlackFile]) -> str:
    if not result.text.strip():
        blocks.append(section(f"No log output from {code(result.container)}."))
        return "No log output."
    blocks.append(context(f"Logs of {code(result.container)}"))
    file = SlackFile(
        filename=f"{result.container}.log", content=result.text, title=f"Logs of {result.container}"
    )
    if _tail_with_file(file, blocks, files):
        blocks.append(context("Only the last lines fit here; the rest is attached as a file."))
    if result.truncated:
        blocks.append(context("Older lines were left out: use `--tail N` or `--since`."))
    return f"Logs of {result.container}"


def _inspect(result: results.InspectResult, blocks: list[Block], files: list[SlackFile]) -> str:
    for item in result.items[:10]:
        title = escape(bounded(f"{item.kind} {item.name}", MAX_HEADER_TEXT - 20))
        blocks.append(HeaderBlock(text=PlainTextObject(text=title)))
        fields = [
            mrkdwn(bounded(f"*{escape(key)}*\n{escape(value)}", MAX_FIELD_TEXT))
            for key, value in item.summary
        ]
        for start in range(0, len(fields), MAX_FIELDS):  # a section holds at most 10 fields
            blocks.append(SectionBlock(fields=fields[start : start + MAX_FIELDS]))
    if result.missing:
        missing = ", ".join(code(name) for name in result.missing)
        blocks.append(context(f":x: No such object: {missing}"))
    documents = [item.document for item in result.items]
    files.append(
        SlackFile(
            filename="inspect.json",
            content=json.dumps(documents, indent=2, default=str),
            title="Full inspect output (secrets redacted)",
        )
    )
    blocks.append(context("The full JSON (secrets redacted) is attached."))
    return f"inspect: {len(result.items)} object(s)"


def _ports(result: results.PortList, blocks: list[Block]) -> str:
    if not result.ports:
        blocks.append(section(f"No published ports on {code(result.container)}."))
        return "No published ports."
    blocks.append(context(f"Published ports of {code(result.container)}"))
    text, _ = code_block("\n".join(columns.port_lines(result)))
    blocks.append(section(text))
    return f"Ports of {result.container}"


def _events(result: results.EventList, blocks: list[Block], files: list[SlackFile]) -> str:
    window = f"{result.since:%Y-%m-%d %H:%M:%S} to {result.until:%H:%M:%S} UTC"
    if not result.events:
        blocks.append(section(f"No events from {window}."))
        return "No events."
    count = f"{len(result.events) + result.left_out} event(s)"
    blocks.append(context(f"{count} from {window}"))
    content = "\n".join(columns.event_line(event) for event in result.events)
    file = SlackFile(filename="events.txt", content=content, title=f"Events from {window}")
    if _tail_with_file(file, blocks, files):
        blocks.append(context("Only the newest events fit here; they are all attached."))
    note = events_note(result)
    if note:
        blocks.append(context(escape(note)))
    return count


def _prune(result: results.PruneResult, blocks: list[Block]) -> str:
    count = len(result.deleted)
    reclaimed = human_size(result.space_reclaimed)
    headline = f":broom: Deleted {count} {result.kind.plural}, reclaimed {reclaimed}."
    blocks.append(section(headline))
    if result.deleted:
        text, _ = code_block("\n".join(short_id(identifier) for identifier in result.deleted))
        blocks.append(section(text))
    return headline.split(" ", 1)[1]


def _help(result: results.HelpResult, blocks: list[Block]) -> str:
    blocks.append(
        section(f"*{escape(result.title)}*: {escape(result.summary)}\n{code(result.usage)}")
    )
    lines = [f"{code(entry.name)} {escape(entry.summary)}" for entry in result.entries]
    if lines:
        blocks.append(section(f"*{result.entries_title}*\n" + "\n".join(lines)))
    if result.examples:
        blocks.append(context("Examples: " + "  ".join(code(e) for e in result.examples)))
    return f"Help: {result.title}"


def _silences(result: results.SilenceList, blocks: list[Block]) -> str:
    if not result.silences:
        blocks.append(section("No silences in force."))
        return "No silences in force."
    lines = [silence_line(s) for s in result.silences[:40]]
    if len(result.silences) > 40:
        lines.append(f"…and {len(result.silences) - 40} more")
    blocks.append(section(bounded("\n".join(lines), MAX_SECTION_TEXT)))
    return f"{len(result.silences)} silence(s) in force"


def _silence_update(result: results.SilenceUpdate, blocks: list[Block]) -> str:
    s = result.silence
    if result.ended:
        text = f"Silence #{s.id} of {s.pattern} on {s.engine} ended: notices resume."
        blocks.append(
            section(
                f":bell: Silence *#{s.id}* of {code(s.pattern)} on {code(s.engine)} ended "
                "(notices resume)."
            )
        )
        return text
    blocks.append(
        section(
            f":no_bell: Silenced {code(s.pattern)} on {code(s.engine)} until "
            f"{until_text(s.ends_at)}: no notices about it meanwhile (silence *#{s.id}*; "
            f"{code(f'/docker unsilence {s.id}')} ends it)."
        )
    )
    return f"Silenced {s.pattern} on {s.engine} until {s.ends_at:%Y-%m-%d %H:%M} UTC"
