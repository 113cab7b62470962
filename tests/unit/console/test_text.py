"""Plain-text rendering of every result type, and of errors and warnings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.console.text import render_reply, render_result
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
    RunResult,
    StatsResult,
    StatsRow,
    TargetOutcome,
    TopResult,
    VolumeList,
    VolumeRow,
)
from bot.errors import NotFound, ParseError
from bot.render.notes import table

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
ID = "f" * 64


def container(**changes: object) -> ContainerRow:
    values: dict[str, object] = {
        "id": ID,
        "image": "nginx:1.27",
        "command": "/docker-entrypoint.sh nginx -g 'daemon off;'",
        "created": NOW - timedelta(hours=2),
        "status": "Up 2 hours",
        "state": "running",
        "ports": (
            PublishedPort(container_port=80, protocol="tcp", host_ip="127.0.0.1", host_port=8080),
            PublishedPort(container_port=443, protocol="tcp"),
        ),
        "names": ("web",),
    }
    values.update(changes)
    return ContainerRow(**values)  # type: ignore[arg-type]


def test_ps_table_matches_docker_layout() -> None:
    text = render_result(ContainerList(rows=(container(),)), now=NOW)
    header, row = text.splitlines()
    assert header.split("   ")[0] == "CONTAINER ID"
    assert row.startswith('ffffffffffff   nginx:1.27   "/docker-entrypoint.…"   2 hours ago')
    # As docker/cli's DisplayablePorts: ranges (and lone ports) first, then other mappings.
    assert "443/tcp, 127.0.0.1:8080->80/tcp" in row
    assert row.endswith("web")


def test_ps_quiet_and_no_trunc() -> None:
    rows = (container(), container(names=("other",)))
    assert render_result(ContainerList(rows=rows, quiet=True), now=NOW) == "ffffffffffff"
    full = render_result(ContainerList(rows=(container(),), no_trunc=True), now=NOW)
    assert ID in full and "daemon off;'" in full


def test_empty_listing_keeps_its_header() -> None:
    assert render_result(ContainerList(rows=()), now=NOW).startswith("CONTAINER ID")


def test_images_table() -> None:
    rows = (
        ImageRow(
            id="sha256:" + "1" * 64,
            repository="nginx",
            tag="1.27",
            digest="sha256:abc",
            created=NOW - timedelta(days=3),
            size=187_000_000,
        ),
        ImageRow(
            id="sha256:" + "2" * 64,
            repository=None,
            tag=None,
            digest=None,
            created=NOW - timedelta(days=30),
            size=1000,
        ),
    )
    text = render_result(ImageList(rows=rows, digests=True), now=NOW)
    lines = [line.split() for line in text.splitlines()]
    assert lines[0] == ["REPOSITORY", "TAG", "DIGEST", "IMAGE", "ID", "CREATED", "SIZE"]
    assert lines[1] == ["nginx", "1.27", "sha256:abc", "111111111111", "3", "days", "ago", "187MB"]
    assert lines[2][:3] == ["<none>", "<none>", "<none>"]


def test_pull_run_action_logs_prune() -> None:
    pulled = PullResult(
        reference="nginx:1.27",
        image_id="sha256:" + "a" * 64,
        digest="sha256:d",
        size=2_000_000,
        up_to_date=False,
    )
    assert render_result(pulled, now=NOW) == (
        "Pulled nginx:1.27 (digest sha256:d, image aaaaaaaaaaaa, 2MB)"
    )
    run = RunResult(container_id=ID, name="job", detached=False, exit_code=2, output="boom\n")
    assert render_result(run, now=NOW) == "boom\nContainer job exited with code 2."
    missing = TargetOutcome(target="b", ok=False, detail="No such container: b")
    action = ActionResult(action="rm", outcomes=(TargetOutcome(target="a", ok=True), missing))
    assert render_result(action, now=NOW) == "a\nError: b: No such container: b"
    logs = LogsResult(container="web", text="x\ny\n", truncated=True)
    assert render_result(logs, now=NOW).startswith("x\ny\n(output shortened")
    prune = PruneResult(kind=ObjectKind.CONTAINER, deleted=("abc",), space_reclaimed=1500)
    assert render_result(prune, now=NOW) == (
        "Deleted Containers:\nabc\n\nTotal reclaimed space: 1.5kB"
    )


def test_inspect_prints_json() -> None:
    item = InspectItem(kind=ObjectKind.IMAGE, id="x", name="x", summary=(), document={"Id": "x"})
    text = render_result(InspectResult(items=(item,)), now=NOW)
    assert json.loads(text) == [{"Id": "x"}]


def test_help_overview_and_command() -> None:
    overview = render_result(build_help(None), now=NOW)
    assert "Commands:" in overview and "  ps " in overview and "Examples:" in overview
    run = render_result(build_help("run"), now=NOW)
    assert run.startswith("Usage: /docker run [OPTIONS] IMAGE [COMMAND] [ARG...]")
    assert "-p, --publish" in run and "--tty" not in run


def test_reply_with_warnings_and_errors() -> None:
    command = ParsedCommand(operation=ListContainers(), warnings=("Read `-all` as `--all`",))
    ok = Reply(text="ps -all", command=command, result=ContainerList(rows=()))
    assert render_reply(ok, now=NOW).startswith("Note: Read `-all` as `--all`\nCONTAINER ID")
    error = Reply(text="ps -x", error=ParseError("Unknown option", usage="/docker ps [OPTIONS]"))
    assert render_reply(error) == "Error: Unknown option\nUsage: /docker ps [OPTIONS]"
    assert render_reply(Reply(text="rm x", error=NotFound("No such container: x"))) == (
        "Error: No such container: x"
    )


def test_table_alignment() -> None:
    assert table(("A", "BB"), [("long", "x")]) == "A      BB\nlong   x"


def test_diagnostics_as_the_docker_cli_prints_them() -> None:
    stats = StatsResult(
        rows=(
            StatsRow(
                id=ID,
                name="web",
                cpu_percent=0.5,
                memory_usage=2**20,
                memory_limit=2**30,
                memory_percent=0.1,
                pids=2,
            ),
        )
    )
    header, row = render_result(stats, now=NOW).splitlines()
    assert header.split("   ") == [
        "CONTAINER ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET I/O",
        "BLOCK I/O",
        "PIDS",
    ]
    assert row.startswith("ffffffffffff   web    0.50%   1MiB / 1GiB ")
    capped = render_result(StatsResult(rows=stats.rows, left_out=3), now=NOW)
    assert capped.endswith(
        "3 more container(s) left out: only the first 1 are sampled; name the ones you want"
    )
    events = EventList(
        events=(
            EngineEvent(
                time_ns=1_795_982_400_000_000_000,
                type="container",
                action="die",
                actor_id="abc",
                attributes=(("exitCode", "3"),),
            ),
        ),
        since=NOW,
        until=NOW,
        left_out=2,
    )
    assert render_result(events, now=NOW).splitlines() == [
        "2026-11-29T20:00:00.000000000Z container die abc (exitCode=3)",
        "(2 older event(s) left out; narrow --since/--until)",
    ]
    volumes = VolumeList(rows=(VolumeRow(driver="local", name="data"),))
    assert render_result(volumes, now=NOW) == "DRIVER   VOLUME NAME\nlocal    data"
    assert render_result(VolumeList(rows=volumes.rows, quiet=True), now=NOW) == "data"
    networks = NetworkList(rows=(NetworkRow(id=ID, name="bridge", driver="bridge", scope="local"),))
    assert render_result(NetworkList(rows=networks.rows, quiet=True), now=NOW) == "f" * 12
    assert render_result(networks, now=NOW).splitlines()[0].split() == [
        "NETWORK",
        "ID",
        "NAME",
        "DRIVER",
        "SCOPE",
    ]
    usage = DiskUsageResult(
        rows=(
            DiskUsageRow(
                type="Local Volumes",
                total=1,
                active=0,
                size=8000,
                reclaimable=8000,
                reclaimable_percent=100,
            ),
        )
    )
    assert render_result(usage, now=NOW).splitlines() == [
        "TYPE            TOTAL   ACTIVE   SIZE   RECLAIMABLE",
        "Local Volumes   1       0        8kB    8kB (100%)",
    ]
    port = PortList(
        container="web",
        ports=(PublishedPort(container_port=80, protocol="tcp", host_ip="::", host_port=8080),),
    )
    assert render_result(port, now=NOW) == "80/tcp -> [::]:8080"
    top = TopResult(container="web", titles=("PID", "CMD"), processes=(("1", "sleep 9"),))
    assert render_result(top, now=NOW) == "PID   CMD\n1     sleep 9"
