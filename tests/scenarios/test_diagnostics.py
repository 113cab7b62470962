"""Read-only diagnostics on the real engine: stats, top, port, system df, volume and network
listings, past events, ``ps`` port ranges and human sizes in inspect summaries."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
from collections.abc import Iterator

import docker
import pytest
import requests

from bot.core.results import (
    DiskUsageResult,
    EventList,
    InspectResult,
    NetworkList,
    StatsResult,
    TopResult,
    VolumeList,
)
from bot.engine.docker_engine import went_away
from bot.errors import Conflict, NotFound
from tests.conftest import TEST_IMAGE, BotDriver, Sandbox, SlackBot

_BUSY = "sh -c 'while :; do :; done'"


@pytest.fixture
def stats_pair(sandbox: Sandbox, api: docker.APIClient) -> Iterator[tuple[str, str]]:
    """The names of a busy and an idle container, removed after the test: the busy loop would
    otherwise spin one of the machine's cores until the session ends."""
    names = sandbox.name("stats-busy"), sandbox.name("stats-idle")
    yield names
    for name in names:
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_container(name, force=True)


def test_stats_one_snapshot_like_docker_stats(
    bot: BotDriver, sandbox: Sandbox, api: docker.APIClient, stats_pair: tuple[str, str]
) -> None:
    busy, idle = stats_pair
    bot.ok(f"run -d --name {busy} {sandbox.label_args()} {TEST_IMAGE} {_BUSY}")
    bot.ok(f"run -d --name {idle} {sandbox.label_args()} -m 64m {TEST_IMAGE} sleep 300")

    started = time.monotonic()
    reply = bot.handle(f"stats --no-stream {busy} {idle}")
    elapsed = time.monotonic() - started
    assert isinstance(reply.result, StatsResult), reply.error
    rows = {row.name: row for row in reply.result.rows}
    assert set(rows) == {busy, idle}
    assert rows[busy].id == api.inspect_container(busy)["Id"]
    # A busy loop shows up between the two one-shot samples.
    assert rows[busy].cpu_percent > 1.0
    assert rows[idle].memory_limit == 64 * 2**20
    assert 0 < rows[idle].memory_usage < rows[idle].memory_limit
    assert 0 < rows[idle].memory_percent < 100
    assert all(row.sampled and row.pids >= 1 for row in rows.values())
    assert elapsed < 15, "two containers are sampled concurrently, not one by one"

    printed = bot.ok(f"stats {idle}")  # without --no-stream: the same one snapshot
    header, line = printed.splitlines()
    assert re.split(r"\s{3,}", header) == [
        "CONTAINER ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET I/O",
        "BLOCK I/O",
        "PIDS",
    ]
    assert re.search(r"\d+(\.\d+)?[KM]iB / 64MiB", line), line

    running = bot.handle("stats")
    assert isinstance(running.result, StatsResult)
    assert {busy, idle} <= {row.name for row in running.result.rows}

    missing = bot.handle(f"stats {idle} ghost-container-xyz")
    assert isinstance(missing.error, NotFound)
    assert "ghost-container-xyz" in str(missing.error)


def test_a_container_removed_during_its_stats_read_is_left_out(
    sandbox: Sandbox, api: docker.APIClient
) -> None:
    """Removed while the engine samples it, a container's stats answer is cut short: an empty
    body, which docker-py reports as a JSON error, not a 404 (seen on this engine). Stats of
    all running containers leaves such a container out instead of failing as if the engine
    were unreachable; one still there fails the request as before."""
    cut_short = requests.exceptions.JSONDecodeError("Expecting value", "", 0)
    gone = sandbox.name("stats-gone")
    api.create_container(TEST_IMAGE, ["sleep", "300"], name=gone, labels=sandbox.labels)
    ident = api.inspect_container(gone)["Id"]
    api.remove_container(ident, force=True)
    assert went_away(api, ident, cut_short)
    # Positive control: the same error for a container that is still there is not "gone".
    alive = sandbox.name("stats-alive")
    api.create_container(TEST_IMAGE, ["sleep", "300"], name=alive, labels=sandbox.labels)
    assert not went_away(api, api.inspect_container(alive)["Id"], cut_short)


def test_top_shows_the_processes(bot: BotDriver, sandbox: Sandbox) -> None:
    name, done = sandbox.name("top"), sandbox.name("top-done")
    bot.ok(f"run -d --name {name} {sandbox.label_args()} {TEST_IMAGE} sleep 321")
    reply = bot.handle(f"top {name}")
    assert isinstance(reply.result, TopResult), reply.error
    assert "PID" in reply.result.titles
    assert any("sleep 321" in " ".join(process) for process in reply.result.processes)
    printed = bot.ok(f"container top {name}")
    assert "PID" in printed.splitlines()[0] and "sleep 321" in printed

    bot.ok(f"run --name {done} {sandbox.label_args()} {TEST_IMAGE} true")
    stopped = bot.handle(f"top {done}")
    assert isinstance(stopped.error, Conflict) and "is not running" in str(stopped.error)
    refused = bot.handle(f"top {name} aux")
    assert refused.error is not None and "ps options are not accepted" in str(refused.error)


def test_port_lists_published_ports(
    bot: BotDriver, sandbox: Sandbox, api: docker.APIClient
) -> None:
    name = sandbox.name("port")
    bot.ok(
        f"run -d --name {name} {sandbox.label_args()} -p 127.0.0.1::80 -p 127.0.0.1::53/udp "
        f"{TEST_IMAGE} sleep 300"
    )
    tcp = api.port(name, 80)[0]["HostPort"]
    udp = api.inspect_container(name)["NetworkSettings"]["Ports"]["53/udp"][0]["HostPort"]

    printed = bot.ok(f"port {name}").splitlines()
    assert printed == [f"53/udp -> 127.0.0.1:{udp}", f"80/tcp -> 127.0.0.1:{tcp}"]
    assert bot.ok(f"port {name} 80").strip() == f"127.0.0.1:{tcp}"
    assert bot.ok(f"port {name} 53/udp").strip() == f"127.0.0.1:{udp}"
    reply = bot.handle(f"port {name} 81")
    assert isinstance(reply.error, NotFound)
    assert str(reply.error) == f"No public port '81/tcp' published for {name}"
    gone = bot.handle("port ghost-container-xyz")
    assert isinstance(gone.error, NotFound)


def _free_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports on 127.0.0.1 (the engine's host)."""
    for first in range(42000, 60000, 97):
        sockets = []
        try:
            for port in range(first, first + count):
                probe = socket.socket()
                sockets.append(probe)
                probe.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for probe in sockets:
                probe.close()
    raise AssertionError("no free port range")


def test_ps_collapses_port_ranges(bot: BotDriver, sandbox: Sandbox) -> None:
    name = sandbox.name("ps-range")
    first = _free_ports(3)
    ports = f"{first}-{first + 2}"
    bot.ok(
        f"run -d --name {name} {sandbox.label_args()} -p 127.0.0.1:{ports}:{ports} "
        f"-p 127.0.0.1::9000 {TEST_IMAGE} sleep 300"
    )
    listed = bot.ok(f"ps --filter name={name}")
    assert f"127.0.0.1:{ports}->{ports}/tcp, 127.0.0.1:" in listed
    assert "->9000/tcp" in listed


def test_system_df(bot: BotDriver, api: docker.APIClient) -> None:
    reply = bot.handle("system df")
    assert isinstance(reply.result, DiskUsageResult), reply.error
    rows = {row.type: row for row in reply.result.rows}
    assert list(rows) == ["Images", "Containers", "Local Volumes", "Build Cache"]
    assert rows["Images"].total >= 1 and rows["Images"].size > 0
    assert rows["Images"].reclaimable <= rows["Images"].size
    printed = bot.ok("system df").splitlines()
    assert re.split(r"\s{3,}", printed[0]) == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    images = re.split(r"\s{3,}", printed[1])
    assert images[0] == "Images" and re.fullmatch(r"[\d.]+[kMG]?B", images[3])
    assert re.fullmatch(r"[\d.]+[kMG]?B \(\d+%\)", images[4])


@pytest.fixture
def volume(sandbox: Sandbox, api: docker.APIClient) -> Iterator[str]:
    """A labelled volume of this run, removed afterwards."""
    name = sandbox.name("vol")
    api.create_volume(name, labels=sandbox.labels)
    yield name
    api.remove_volume(name, force=True)


def test_volume_ls(bot: BotDriver, sandbox: Sandbox, volume: str) -> None:
    reply = bot.handle(f"volume ls --filter label={sandbox.labels_filter()}")
    assert isinstance(reply.result, VolumeList), reply.error
    assert [(row.driver, row.name) for row in reply.result.rows] == [("local", volume)]
    printed = bot.ok(f"volume ls --filter name={volume}").splitlines()
    assert re.split(r"\s{3,}", printed[0]) == ["DRIVER", "VOLUME NAME"]
    assert printed[1].split() == ["local", volume]
    assert bot.ok(f"volume ls -q --filter dangling=true --filter name={volume}").split() == [volume]
    assert bot.ok(f"volume ls -q --filter dangling=false --filter name={volume}").strip() == ""


def test_network_ls(bot: BotDriver, api: docker.APIClient) -> None:
    reply = bot.handle("network ls")
    assert isinstance(reply.result, NetworkList), reply.error
    names = [row.name for row in reply.result.rows]
    assert {"bridge", "host", "none"} <= set(names) and names == sorted(names)
    bridge = api.inspect_network("bridge")["Id"]
    printed = bot.ok("network ls --filter name=bridge").splitlines()
    assert printed[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert printed[1].split() == [bridge[:12], "bridge", "bridge", "local"]
    full = bot.ok("network ls -q --no-trunc --filter driver=bridge --filter name=bridge").split()
    assert full == [bridge]


def test_events_in_a_bounded_past_window(
    bot: BotDriver, sandbox: Sandbox, api: docker.APIClient
) -> None:
    name = sandbox.name("events")
    bot.ok(f"run --name {name} {sandbox.label_args()} {TEST_IMAGE} sh -c 'exit 3'")
    container_id = api.inspect_container(name)["Id"]

    started = time.monotonic()
    reply = bot.handle(f"events --since 5m --filter container={name} --filter event=die")
    assert time.monotonic() - started < 10, "a past window ends at once"
    assert isinstance(reply.result, EventList), reply.error
    [died] = reply.result.events
    assert died.actor_id == container_id and dict(died.attributes)["exitCode"] == "3"
    printed = bot.ok(f"events --since 5m --filter container={name}").splitlines()
    actions = [line.split()[2] for line in printed]
    assert actions[:3] == ["create", "attach", "start"] or actions[:2] == ["create", "start"]
    line = next(line for line in printed if " die " in line)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z container die "
        + container_id
        + r" \(.*exitCode=3, .*image="
        + re.escape(TEST_IMAGE)
        + r", name="
        + name
        + r"\)",
        line,
    ), line
    # A window that ended before the container existed shows nothing of it.
    earlier = bot.handle(f"events --since 1h --until 50m --filter container={name}")
    assert isinstance(earlier.result, EventList) and earlier.result.events == ()
    refused = bot.handle("events --since 2h")
    assert refused.error is not None and "at most 1h" in str(refused.error)


def test_inspect_image_size_is_human(bot: BotDriver) -> None:
    reply = bot.handle(f"inspect --type image {TEST_IMAGE}")
    assert isinstance(reply.result, InspectResult)
    size = dict(reply.result.items[0].summary)["Size"]
    assert re.fullmatch(r"\d+(\.\d+)?[kMG]?B", size), size


def test_stats_table_reaches_slack(slack_bot: SlackBot, api: docker.APIClient) -> None:
    box = slack_bot.sandbox
    name = box.name("slack-stats")
    api.create_container(TEST_IMAGE, command=["sleep", "60"], name=name, labels=box.labels)
    api.start(name)
    slack_bot.command(f"stats --no-stream {name}")
    [posted] = slack_bot.responses()
    table = next(block for block in posted["blocks"] if block["type"] == "table")
    assert [cell["text"] for cell in table["rows"][0]] == [
        "CONTAINER ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET I/O",
        "BLOCK I/O",
        "PIDS",
    ]
    row = [cell["text"] for cell in table["rows"][1]]
    assert row[:2] == [api.inspect_container(name)["Id"][:12], name]
    assert row[2].endswith("%") and " / " in row[3]
    assert "stats" in json.dumps(posted["blocks"])
