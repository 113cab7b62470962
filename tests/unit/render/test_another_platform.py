"""A second chat platform needs one folder: its renderer, over neutral results and the shared
pieces of ``bot.render``. Shown here with an HTML renderer (a web chat, say) written against
``bot.core`` and ``bot.render`` alone, beside the two real ones, for every kind of result."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import assert_never, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.console.text import render_result
from bot.core import results
from bot.core.command import ParsedCommand
from bot.core.operations import ListContainers
from bot.core.pipeline import Reply
from bot.render import columns
from bot.render.humanize import human_size, short_id
from bot.render.notes import events_note, stats_note
from bot.slack.render.replies import render_slack

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _lines(lines: list[str]) -> str:
    return "<pre>" + html.escape("\n".join(lines)) + "</pre>"


def render_html(result: results.Result) -> str:
    """The whole of the new platform's renderer: one case per result, checked by mypy."""
    match result:
        case results.ContainerList():
            return _table(columns.CONTAINER_HEADERS, columns.container_table(result, now=NOW))
        case results.ImageList():
            return _table(columns.image_headers(result), columns.image_table(result, now=NOW))
        case results.PullResult():
            return _lines([f"Pulled {result.reference} ({human_size(result.size or 0)})"])
        case results.RunResult():
            return _lines([f"{result.name} {short_id(result.container_id)}", result.output])
        case results.ActionResult():
            return _lines([f"{o.target}: {'ok' if o.ok else o.detail}" for o in result.outcomes])
        case results.LogsResult():
            return _lines([result.text])
        case results.InspectResult():
            return _lines([json.dumps([item.document for item in result.items], default=str)])
        case results.StatsResult():
            notes = [stats_note(result)]
            return _table(columns.STATS_HEADERS, columns.stats_table(result)) + _lines(notes)
        case results.TopResult():
            return _table(result.titles, columns.top_table(result))
        case results.PortList():
            return _lines(columns.port_lines(result))
        case results.DiskUsageResult():
            return _table(columns.DISK_USAGE_HEADERS, columns.disk_usage_table(result))
        case results.VolumeList():
            return _table(columns.VOLUME_HEADERS, columns.volume_table(result))
        case results.NetworkList():
            return _table(columns.NETWORK_HEADERS, columns.network_table(result))
        case results.EventList():
            events = [columns.event_line(event) for event in result.events]
            return _lines([*events, events_note(result)])
        case results.PruneResult():
            return _lines([f"Deleted {result.kind}: {d}" for d in result.deleted])
        case results.HelpResult():
            return _lines([result.usage, *(f"{e.name}: {e.summary}" for e in result.entries)])
        case results.ApprovalRequested():
            return _lines([f"#{result.record.id} waits for {result.approvers}"])
        case results.ApprovalList():
            return _lines([f"#{record.id} {record.shown_command}" for record in result.records])
        case results.ApprovalUpdate():
            return _lines([result.message])
        case results.AuditList():
            return _lines([f"{entry.id} {entry.event} {entry.command}" for entry in result.entries])
        case results.AccessAnswer():
            return _lines([f"{result.user_id} {result.sentence()}"])
        case results.SilenceList():
            return _lines([f"#{s.id} {s.pattern} until {s.ends_at}" for s in result.silences])
        case results.SilenceUpdate():
            return _lines([f"#{result.silence.id} {result.silence.pattern} {result.ended}"])
        case results.CleanupReport():
            return _lines([f"{item.kind} {item.target}" for item in result.removed])
        case results.CleanupStatus():
            return _table(("ENGINE", "SCHEDULE", "LAST RESULT"), list(result.engines))
        case results.UpdateList():
            rows = columns.update_table(result, now=NOW)
            return _table(columns.UPDATE_HEADERS, rows) + _lines(columns.update_notes(result))
        case results.ServiceList():
            return _table(columns.SERVICE_HEADERS, columns.service_table(result))
        case results.TaskList():
            return _table(columns.TASK_HEADERS, columns.task_table(result))
        case _:
            assert_never(result)


_DOCUMENTS = st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3)
_INSPECT = st.builds(
    results.InspectResult,
    items=st.lists(st.builds(results.InspectItem, document=_DOCUMENTS), max_size=3).map(tuple),
)
RESULT_TYPES: tuple[type, ...] = get_args(results.Result)
# Results carry times as the engine and the database give them: aware, in UTC. (No other test
# draws from types, so registering here changes nothing else.)
st.register_type_strategy(
    datetime,
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)


def results_of(kind: type) -> st.SearchStrategy[results.Result]:
    """Results of one type, drawn from the type (a new result type joins by itself)."""
    return _INSPECT if kind is results.InspectResult else st.from_type(kind)


def test_every_result_type_is_rendered_below() -> None:
    assert (
        len(RESULT_TYPES) >= 22
        and results.ContainerList in RESULT_TYPES
        and results.CleanupStatus in RESULT_TYPES
    )


@pytest.mark.parametrize("kind", RESULT_TYPES, ids=lambda kind: kind.__name__)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_platform_renders_every_result(kind: type, data: st.DataObject) -> None:
    result = data.draw(results_of(kind))
    assert type(result) is kind
    reply = Reply(text="ps", command=ParsedCommand(operation=ListContainers()), result=result)
    page = render_html(result)
    assert page.startswith(("<table>", "<pre>"))
    assert "<script" not in page.replace("&lt;script", "")
    assert isinstance(render_result(result, now=NOW), str)
    message = render_slack(reply, requester="U0ALICE", now=NOW)
    assert 1 <= len(message.blocks) <= 50 and len(message.text) <= 3000


def test_the_new_platform_needs_neither_slack_nor_the_console() -> None:
    # Its renderer uses bot.core and bot.render alone; bot.render's own boundary (no platform)
    # is in test_import_boundaries.
    source = Path(__file__).read_text()
    renderer = source[source.index("def _table") : source.index("_DOCUMENTS =")]
    assert "render_html" in renderer
    assert "slack" not in renderer.lower() and "console" not in renderer.lower()
