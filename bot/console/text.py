"""Plain-text rendering for the local console, close to what the Docker CLI prints."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import assert_never

from bot.core import results
from bot.core.pipeline import Reply
from bot.errors import ParseError
from bot.render import columns
from bot.render.humanize import human_size, short_id
from bot.render.notes import events_note, stats_note, table


def render_reply(reply: Reply, *, now: datetime | None = None) -> str:
    """The whole text answer to one request: notes, then the result or the error."""
    lines = [f"Note: {warning}" for warning in reply.warnings]
    if reply.error is not None:
        lines.append(f"Error: {reply.error}")
        if isinstance(reply.error, ParseError) and reply.error.usage:
            lines.append(f"Usage: {reply.error.usage}")
    elif reply.result is not None:
        lines.append(render_result(reply.result, now=now or datetime.now(UTC)))
    return "\n".join(line for line in lines if line)


def render_result(result: results.Result, *, now: datetime) -> str:
    match result:
        case results.ContainerList():
            if result.quiet:
                return "\n".join(
                    columns.quiet_ids([r.id for r in result.rows], no_trunc=result.no_trunc)
                )
            return table(columns.CONTAINER_HEADERS, columns.container_table(result, now=now))
        case results.ImageList():
            if result.quiet:
                return "\n".join(
                    columns.quiet_ids([r.id for r in result.rows], no_trunc=result.no_trunc)
                )
            return table(columns.image_headers(result), columns.image_table(result, now=now))
        case results.PullResult():
            return _pull(result)
        case results.RunResult():
            return _run(result)
        case results.ActionResult():
            return _action(result)
        case results.LogsResult():
            note = (
                "\n(output shortened; use --tail N or --since to choose)"
                if result.truncated
                else ""
            )
            return result.text.rstrip("\n") + note
        case results.InspectResult():
            text = json.dumps([item.document for item in result.items], indent=4, default=str)
            missing = "".join(f"\nError: No such object: {name}" for name in result.missing)
            return text + missing
        case results.StatsResult():
            text = table(columns.STATS_HEADERS, columns.stats_table(result))
            return text + stats_note(result, prefix="\n")
        case results.TopResult():
            return table(result.titles, columns.top_table(result))
        case results.PortList():
            return "\n".join(columns.port_lines(result))
        case results.DiskUsageResult():
            return table(columns.DISK_USAGE_HEADERS, columns.disk_usage_table(result))
        case results.VolumeList():
            if result.quiet:
                return "\n".join(row.name for row in result.rows)
            return table(columns.VOLUME_HEADERS, columns.volume_table(result))
        case results.NetworkList():
            if result.quiet:
                ids = [row.id for row in result.rows]
                return "\n".join(columns.quiet_ids(ids, no_trunc=result.no_trunc))
            return table(columns.NETWORK_HEADERS, columns.network_table(result))
        case results.EventList():
            lines = [columns.event_line(event) for event in result.events]
            note = events_note(result)
            return "\n".join([*lines, *([f"({note})"] if note else [])])
        case results.PruneResult():
            return _prune(result)
        case results.HelpResult():
            return _help(result)
        case results.ApprovalRequested():
            record = result.record
            plan = "\n".join(f"  - {item.kind} {item.description}" for item in record.plan.items)
            return (
                f"Waiting for approval: request #{record.id}, {result.approvers}; expires "
                f"{record.expires_at:%Y-%m-%d %H:%M} UTC. The plan on {record.engine}:\n{plan}"
            )
        case results.ApprovalList():
            if not result.records:
                return "No pending approval requests."
            pending = [
                (f"#{r.id}", r.requester, r.engine, r.shown_command, f"{r.expires_at:%H:%M} UTC")
                if r.intact
                else (f"#{r.id}", "?", "?", "TAMPERED: failed its integrity check; never runs", "")
                for r in result.records
            ]
            return table(("REQUEST", "REQUESTER", "ENGINE", "COMMAND", "EXPIRES"), pending)
        case results.ApprovalUpdate():
            return result.message
        case results.AccessAnswer():
            return f"{result.user_id} {result.sentence()}"
        case results.AuditList():
            rows = [
                (
                    str(e.id),
                    f"{e.at:%Y-%m-%d %H:%M:%S}",
                    e.event,
                    e.actor,
                    e.engine or "",
                    e.command,
                    e.detail[:80],
                )
                for e in result.entries
            ]
            return table(
                ("ID", "TIME (UTC)", "EVENT", "ACTOR", "ENGINE", "COMMAND", "DETAIL"), rows
            )
        case results.SilenceList():
            if not result.silences:
                return "No silences in force."
            silenced = [
                (f"#{s.id}", s.engine, s.pattern, s.created_by, f"{s.ends_at:%Y-%m-%d %H:%M} UTC")
                for s in result.silences
            ]
            return table(("SILENCE", "ENGINE", "CONTAINERS", "BY", "UNTIL"), silenced)
        case results.SilenceUpdate():
            s = result.silence
            if result.ended:
                return f"Silence #{s.id} of {s.pattern} on {s.engine} ended: notices resume."
            return (
                f"Silenced {s.pattern} on {s.engine} until {s.ends_at:%Y-%m-%d %H:%M} UTC "
                f"(silence #{s.id}; `unsilence {s.id}` ends it)."
            )
        case results.CleanupReport():
            return _cleanup(result)
        case results.CleanupStatus():
            return table(("ENGINE", "SCHEDULE", "LAST RESULT"), list(result.engines))
        case results.UpdateList():
            moved = columns.update_table(result, now=now)
            listing = [table(columns.UPDATE_HEADERS, moved)] if moved else []
            return "\n".join([*listing, *columns.update_notes(result)])
        case results.ServiceList():
            return table(columns.SERVICE_HEADERS, columns.service_table(result))
        case results.TaskList():
            return table(columns.TASK_HEADERS, columns.task_table(result))
        case _:
            assert_never(result)


def _cleanup(report: results.CleanupReport) -> str:
    verb = "Would remove" if report.dry_run else "Removed"
    lines = [
        f"{verb} {len(report.removed)} object(s) on {report.engine}, "
        f"{human_size(report.space_reclaimed)}."
    ]
    lines += [f"  {i.kind} {i.target} ({human_size(i.size)})" for i in report.removed]
    lines += [f"  skipped {i.kind} {i.target}: {why}" for i, why in report.skipped]
    lines += [f"  error: {error}" for error in report.errors]
    return "\n".join(lines)


def _pull(result: results.PullResult) -> str:
    if result.quiet:
        return result.reference
    if result.up_to_date:
        head = f"{result.reference} is up to date"
    else:
        head = f"Pulled {result.reference}"
    facts = []
    if result.digest:
        facts.append(f"digest {result.digest}")
    if result.image_id:
        facts.append(f"image {short_id(result.image_id)}")
    if result.size is not None:
        facts.append(human_size(result.size))
    return head + (f" ({', '.join(facts)})" if facts else "")


def _run(result: results.RunResult) -> str:
    if result.detached:
        return f"{result.container_id}\nStarted container {result.name}."
    lines = [result.output.rstrip("\n")] if result.output else []
    if result.output_truncated:
        lines.insert(0, "(only the last lines of the output are shown)")
    if result.timed_out_after is not None:
        lines.append(
            f"Still running after {result.timed_out_after:g}s as {result.name}; "
            f"see `logs {result.name}`, stop it with `stop {result.name}`."
            + (" It will be removed when it exits (--rm)." if result.removes_on_exit else "")
        )
    else:
        removed = ", removed" if result.removed else ""
        lines.append(f"Container {result.name} exited with code {result.exit_code}{removed}.")
    return "\n".join(lines)


def _action(result: results.ActionResult) -> str:
    lines = list(result.details)
    for outcome in result.outcomes:
        if outcome.ok:
            if result.action != "rmi":
                lines.append(
                    f"{outcome.target}: {outcome.detail}" if outcome.detail else outcome.target
                )
        else:
            lines.append(f"Error: {outcome.target}: {outcome.detail}")
    return "\n".join(lines)


def _prune(result: results.PruneResult) -> str:
    title = f"Deleted {result.kind.plural.title()}:"
    body = [title, *result.deleted, ""] if result.deleted else []
    return "\n".join([*body, f"Total reclaimed space: {human_size(result.space_reclaimed)}"])


def _help(result: results.HelpResult) -> str:
    lines = [f"Usage: {result.usage}", "", result.summary]
    if result.entries:
        width = max(len(entry.name) for entry in result.entries)
        lines += ["", f"{result.entries_title}:"]
        lines += [f"  {entry.name.ljust(width)}  {entry.summary}" for entry in result.entries]
    if result.examples:
        lines += ["", "Examples:", *(f"  {example}" for example in result.examples)]
    return "\n".join(lines)
