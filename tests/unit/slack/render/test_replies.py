"""Block Kit rendering: within Slack's limits at every size, and hostile text made harmless."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.core.command import ParsedCommand
from bot.core.help import build_help
from bot.core.operations import ListContainers
from bot.core.pipeline import Reply
from bot.core.plans import ObjectKind
from bot.core.results import (
    ActionResult,
    ContainerList,
    ContainerRow,
    DiskUsageResult,
    DiskUsageRow,
    EngineEvent,
    EventList,
    ImageList,
    ImageRow,
    InspectItem,
    InspectResult,
    LogsResult,
    NetworkList,
    NetworkRow,
    PortList,
    PruneResult,
    PublishedPort,
    PullResult,
    Result,
    RunResult,
    StatsResult,
    StatsRow,
    TargetOutcome,
    TopResult,
    VolumeList,
    VolumeRow,
)
from bot.errors import ParseError
from bot.slack.render.block_kit import code, code_block, escape
from bot.slack.render.replies import render_slack

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
HOSTILE = "<!channel> & <@U123|boss> `x` ```y``` *bold* " + "z" * 5000


def container(index: int, *, name: str | None = None, command: str = "sleep 1") -> ContainerRow:
    return ContainerRow(
        id=f"{index:012x}" + "0" * 52,
        image="nginx:1.27",
        command=command,
        created=NOW - timedelta(minutes=index),
        status="Up 1 minute",
        state="running",
        ports=(PublishedPort(container_port=80, protocol="tcp", host_ip="::1", host_port=8080),),
        names=(name or f"web-{index}",),
    )


def check_limits(blocks: list[dict[str, Any]]) -> None:
    """Every limit Slack enforces on what we send (slack_sdk checks only some)."""
    assert 0 < len(blocks) <= 50
    for block in blocks:
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= 3000
            for item in block.get("fields", []):
                assert len(item["text"]) <= 2000
            assert len(block.get("fields", [])) <= 10
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "table":
            assert len(block["rows"]) <= 100
            assert all(len(row) <= 20 for row in block["rows"])
    tables = [block for block in blocks if block["type"] == "table"]
    assert len(tables) <= 1


def reply_of(result: Result, text: str = "ps -a") -> Reply:
    return Reply(text=text, command=ParsedCommand(operation=ListContainers()), result=result)


@pytest.mark.parametrize("count", [0, 1, 99, 100, 1000])
def test_container_listings_fit_at_every_size(count: int) -> None:
    rows = tuple(container(i) for i in range(count))
    message = render_slack(reply_of(ContainerList(rows=rows)), now=NOW)
    check_limits(message.blocks)
    tables = [block for block in message.blocks if block["type"] == "table"]
    if count == 0:
        assert not tables and "No containers" in json.dumps(message.blocks)
        return
    shown = len(tables[0]["rows"]) - 1
    assert shown == min(count, 99)
    if count > 99:
        assert f"Showing 99 of {count} containers" in json.dumps(message.blocks)
        [listing] = message.files
        assert len(listing.content.splitlines()) == count + 1
    else:
        assert message.files == ()


@pytest.mark.parametrize("count", [0, 1, 100, 1000])
def test_image_listings_fit_at_every_size(count: int) -> None:
    rows = tuple(
        ImageRow(
            id=f"sha256:{i:064x}",
            repository=f"repo/{i}",
            tag="v1",
            digest=None,
            created=NOW,
            size=i * 1000,
        )
        for i in range(count)
    )
    message = render_slack(reply_of(ImageList(rows=rows), "images"), now=NOW)
    check_limits(message.blocks)
    assert bool(message.files) == (count > 99)


def test_quiet_listing_of_many_ids_is_bounded() -> None:
    rows = tuple(container(i) for i in range(1000))
    message = render_slack(reply_of(ContainerList(rows=rows, quiet=True)), now=NOW)
    check_limits(message.blocks)
    assert len(message.files) == 1


def test_hostile_text_is_escaped_and_bounded_everywhere() -> None:
    results: list[Result] = [
        ContainerList(rows=(container(1, name=HOSTILE, command=HOSTILE),)),
        LogsResult(container="web", text=(HOSTILE + "\n") * 50),
        RunResult(container_id="a" * 64, name="job", detached=False, exit_code=1, output=HOSTILE),
        ActionResult(
            action="rm", outcomes=(TargetOutcome(target=HOSTILE, ok=False, detail=HOSTILE),)
        ),
        InspectResult(
            items=(
                InspectItem(
                    kind=ObjectKind.CONTAINER,
                    id="x",
                    name=HOSTILE,
                    summary=(("Labels", HOSTILE),) * 25,
                    document={},
                ),
            )
        ),
        PullResult(reference=HOSTILE, image_id=None, digest=HOSTILE, size=1, up_to_date=False),
        PruneResult(kind=ObjectKind.CONTAINER, deleted=(HOSTILE,), space_reclaimed=0),
    ]
    for result in results:
        message = render_slack(reply_of(result, text=HOSTILE), requester="U0ALICE", now=NOW)
        check_limits(message.blocks)
        dumped = json.dumps(message.blocks)
        assert "<!channel>" not in dumped and "<@U123" not in dumped
        assert "&lt;!channel&gt;" in dumped
        assert "<@U0ALICE>" in dumped  # the credit is the one mention we make
        assert len(message.text) <= 3000


def test_errors_and_warnings() -> None:
    error = Reply(
        text="ps -x", error=ParseError("Unknown option <!here>", usage="/docker ps [OPTIONS]")
    )
    message = render_slack(error)
    dumped = json.dumps(message.blocks)
    assert "&lt;!here&gt;" in dumped and "/docker ps [OPTIONS]" in dumped
    command = ParsedCommand(operation=ListContainers(), warnings=("Read `-all` <x>",))
    warned = render_slack(Reply(text="ps -all", command=command, result=ContainerList(rows=())))
    assert "Read `-all` &lt;x&gt;" in json.dumps(warned.blocks)


def test_credit_only_mentions_well_formed_ids() -> None:
    message = render_slack(reply_of(ContainerList(rows=())), requester="<!channel>")
    assert "<!channel>" not in json.dumps(message.blocks)


def test_help_fits() -> None:
    for topic in (None, "run", "ps"):
        message = render_slack(Reply(text="help", result=build_help(topic)))
        check_limits(message.blocks)


def test_code_block_keeps_the_tail() -> None:
    text, cut = code_block("\n".join(f"line {i}" for i in range(2000)))
    assert cut and text.endswith("line 1999\n```") and len(text) <= 3000
    small, cut_small = code_block("a < b")
    assert small == "```\na &lt; b\n```" and not cut_small


def test_escape() -> None:
    assert escape("a & <b> c") == "a &amp; &lt;b&gt; c"


# An "&" that starts no entity, or a raw "<" or ">": Slack would read these as markup.
_UNESCAPED = re.compile(r"&(?!amp;|lt;|gt;)|[<>]")
# Text rich in what breaks fences and escapes, and any text at all.
_FENCE_HOSTILE = st.text(alphabet="`&<>;ampltg \n\u200ba", max_size=400) | st.text(max_size=400)


def _unescaped(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@given(_FENCE_HOSTILE, st.integers(min_value=16, max_value=3000))
@example("a ```` b", 3000)
@example("`" * 500, 3000)
@example("&" * 500, 100)
@example("x" * 20 + "&" + "\n" + "`" * 30, 30)
@example("first\n" + "y" * 5000, 3000)
def test_no_text_can_end_or_open_a_fence(text: str, budget: int) -> None:
    block, cut = code_block(text, budget=budget)
    assert block.startswith("```\n") and block.endswith("\n```") and len(block) <= budget
    content = block[len("```\n") : -len("\n```")]
    assert "``" not in content  # no run of backticks of any length survives
    assert not _UNESCAPED.search(content)
    lines = text.rstrip("\n").splitlines()
    if lines and lines[-1].strip():
        assert content.strip(), "the last line, however long, is shown (cut if need be)"
    if not cut and "\u200b" not in text:
        # Nothing lost: the zero-width spaces and the escapes are all that was added.
        assert _unescaped(content.replace("\u200b", "")) == text.rstrip("\n")


def test_four_backticks_do_not_end_the_block() -> None:
    block, _ = code_block("a ```` b")
    assert block == "```\na `\u200b`\u200b`\u200b` b\n```"
    assert block.count("```") == 2  # the fences, nothing else
    message = render_slack(reply_of(LogsResult(container="web", text="x ```` <!here> ``` y")))
    section = next(b for b in message.blocks if b["type"] == "section")
    assert section["text"]["text"].count("```") == 2


@given(_FENCE_HOSTILE)
def test_inline_code_holds_no_backtick(text: str) -> None:
    inline = code(text)
    assert inline.startswith("`") and inline.endswith("`")
    assert "`" not in inline[1:-1]
    assert not _UNESCAPED.search(inline)


def test_text_objects_are_verbatim_and_inline_code_stays_on_one_line() -> None:
    # Slack turns a plain "@channel" into a mention unless the text object is verbatim.
    message = render_slack(
        reply_of(
            PruneResult(kind=ObjectKind.CONTAINER, deleted=("@channel",), space_reclaimed=0),
            text="ps",
        ),
        now=NOW,
    )
    objects = [b["text"] for b in message.blocks if "text" in b and isinstance(b["text"], dict)]
    objects += [e for b in message.blocks for e in b.get("elements", []) if "text" in e]
    assert objects and all(o.get("verbatim") is True for o in objects if o["type"] == "mrkdwn")
    assert code("echo a\n*bold* http://evil") == "`echo a *bold* http://evil`"


# -- diagnostics ----------------------------------------------------------------------------


def _stats_row(index: int, name: str | None = None) -> StatsRow:
    return StatsRow(
        id=f"{index:064x}",
        name=name or f"web-{index}",
        cpu_percent=1.5,
        memory_usage=2**20,
        memory_limit=2**30,
        memory_percent=0.1,
        pids=1,
        sampled=index % 7 != 3,
    )


def _event(index: int, name: str = "web") -> EngineEvent:
    return EngineEvent(
        time_ns=1_795_982_400_000_000_000 + index,
        type="container",
        action="die",
        actor_id="a" * 64,
        attributes=(("exitCode", "3"), ("name", name)),
    )


@pytest.mark.parametrize("count", [0, 1, 50, 99, 100, 600])
def test_diagnostics_fit_at_every_size(count: int) -> None:
    results: list[Result] = [
        StatsResult(rows=tuple(_stats_row(i) for i in range(count)), left_out=count // 10),
        TopResult(
            container="web",
            titles=("UID", "PID", "CMD"),
            processes=tuple(("root", str(i), "sleep 1") for i in range(count)),
        ),
        PortList(
            container="web",
            ports=tuple(
                PublishedPort(
                    container_port=i + 1, protocol="tcp", host_ip="0.0.0.0", host_port=i + 1
                )
                for i in range(count)
            ),
        ),
        VolumeList(rows=tuple(VolumeRow(driver="local", name=f"v{i}") for i in range(count))),
        VolumeList(
            rows=tuple(VolumeRow(driver="local", name=f"v{i}") for i in range(count)), quiet=True
        ),
        NetworkList(
            rows=tuple(
                NetworkRow(id=f"{i:064x}", name=f"n{i}", driver="bridge", scope="local")
                for i in range(count)
            )
        ),
        NetworkList(
            rows=tuple(
                NetworkRow(id=f"{i:064x}", name=f"n{i}", driver="bridge", scope="local")
                for i in range(count)
            ),
            quiet=True,
        ),
        EventList(
            events=tuple(_event(i) for i in range(count)),
            since=NOW - timedelta(minutes=10),
            until=NOW,
            left_out=count // 3,
            stopped_early=count > 500,
        ),
    ]
    for result in results:
        message = render_slack(reply_of(result, "stats"), now=NOW)
        check_limits(message.blocks)
        assert len(message.text) <= 3000


def test_stats_table_and_notes() -> None:
    result = StatsResult(rows=(_stats_row(1), _stats_row(3)), left_out=4)
    dumped = json.dumps(render_slack(reply_of(result, "stats"), now=NOW).blocks)
    for header in ("CONTAINER ID", "CPU %", "MEM USAGE / LIMIT", "NET I/O", "BLOCK I/O", "PIDS"):
        assert header in dumped
    assert "1.50%" in dumped and "1MiB / 1GiB" in dumped and "--" in dumped
    assert "4 more container(s) left out" in dumped


def test_disk_usage_and_empty_results() -> None:
    usage = DiskUsageResult(
        rows=(
            DiskUsageRow(
                type="Images",
                total=1,
                active=1,
                size=1_984_216,
                reclaimable=0,
                reclaimable_percent=0,
            ),
        )
    )
    dumped = json.dumps(render_slack(reply_of(usage, "system df"), now=NOW).blocks)
    assert "RECLAIMABLE" in dumped and "1.984MB" in dumped and "0B (0%)" in dumped
    empty_events = EventList(events=(), since=NOW - timedelta(minutes=10), until=NOW)
    assert "No events from" in json.dumps(render_slack(reply_of(empty_events), now=NOW).blocks)
    no_ports = PortList(container="web", ports=())
    assert "No published ports" in json.dumps(render_slack(reply_of(no_ports), now=NOW).blocks)


def test_hostile_diagnostics_text_is_escaped() -> None:
    results: list[Result] = [
        StatsResult(rows=(_stats_row(1, name=HOSTILE),)),
        TopResult(container=HOSTILE, titles=("PID", "CMD"), processes=(("1", HOSTILE),)),
        PortList(container=HOSTILE, ports=()),
        VolumeList(rows=(VolumeRow(driver=HOSTILE, name=HOSTILE),)),
        NetworkList(rows=(NetworkRow(id="x", name=HOSTILE, driver=HOSTILE, scope="local"),)),
        EventList(events=(_event(1, name=HOSTILE),) * 3, since=NOW, until=NOW),
    ]
    for result in results:
        message = render_slack(reply_of(result, text=HOSTILE), requester="U0ALICE", now=NOW)
        check_limits(message.blocks)
        dumped = json.dumps(message.blocks) + json.dumps(message.text)
        assert "<!channel>" not in dumped and "<@U123" not in dumped


def test_tables_keep_within_slacks_limits() -> None:
    """100 rows with the header, 20 columns, 10,000 characters; the rest in a file."""
    from bot.slack.render.replies import _listing

    blocks: list[Any] = []
    files: list[Any] = []
    headers = tuple(f"C{i}" for i in range(25))
    rows = [tuple("x" * 30 for _ in range(25)) for _ in range(150)]
    _listing("thing", headers, rows, blocks, files)
    [table] = [b.to_dict() for b in blocks if b.to_dict()["type"] == "table"]
    assert len(table["rows"]) <= 100 and all(len(row) <= 20 for row in table["rows"])
    assert sum(len(cell["text"]) for row in table["rows"] for cell in row) <= 10_000
    assert files and "20 of 25 columns" in json.dumps([b.to_dict() for b in blocks])
    # A narrow table that fits is whole, with no file (positive control).
    blocks, files = [], []
    _listing("thing", ("A", "B"), [("a", "b")] * 10, blocks, files)
    assert not files and len(blocks[0].to_dict()["rows"]) == 11
    blocks, files = [], []
    _listing("thing", (), [("a",)], blocks, files)  # no columns at all: no empty table
    assert "table" not in json.dumps([b.to_dict() for b in blocks])
