"""`ps`: listings of real containers, with filters, quiet and limits."""

from __future__ import annotations

import dataclasses

import docker

from bot.core.operations import ListContainers, ListImages
from bot.core.redaction import REDACTED
from bot.core.results import ContainerList, ImageList
from bot.engine.directory import DockerEngineDirectory
from bot.engine.lean import LeanEngine
from tests.conftest import TEST_IMAGE, BotDriver, Sandbox


def test_ps_lists_running_and_all(bot: BotDriver, sandbox: Sandbox, api: docker.APIClient) -> None:
    up, done = sandbox.name("ps-up"), sandbox.name("ps-done")
    bot.ok(f"run -d --name {up} {sandbox.label_args()} -p 127.0.0.1::80 {TEST_IMAGE} sleep 300")
    bot.ok(f"run --name {done} {sandbox.label_args()} {TEST_IMAGE} true")

    running = bot.ok(f"ps --filter label={sandbox.labels_filter()}")
    assert up in running and done not in running
    header = running.splitlines()[0].split()
    assert header[:2] == ["CONTAINER", "ID"] and header[-1] == "NAMES"
    port = api.port(up, 80)[0]["HostPort"]
    assert f"127.0.0.1:{port}->80/tcp" in running
    assert '"sleep 300"' in running

    everything = bot.ok(f"ps -a --filter label={sandbox.labels_filter()}")
    assert up in everything and done in everything
    assert "Exited (0)" in everything

    quiet = bot.ok(f"ps -aq --filter name={up}").split()
    assert quiet == [api.inspect_container(up)["Id"][:12]]

    reply = bot.handle(f"ps --filter status=exited --filter label={sandbox.labels_filter()}")
    assert isinstance(reply.result, ContainerList)
    assert {name for row in reply.result.rows for name in row.names} >= {done}
    assert all(row.state == "exited" for row in reply.result.rows)


def test_ps_last_and_latest(bot: BotDriver, sandbox: Sandbox) -> None:
    first, second = sandbox.name("ps-first"), sandbox.name("ps-second")
    bot.ok(f"run --name {first} {sandbox.label_args()} {TEST_IMAGE} true")
    bot.ok(f"run --name {second} {sandbox.label_args()} {TEST_IMAGE} true")
    # Filtered to this run: other tests create containers on the shared engine meanwhile
    # (the engine applies the filter before the limit, as `docker ps -l --filter` does).
    mine = f"--filter label={sandbox.labels_filter()}"
    latest = bot.handle(f"ps -l {mine}")
    assert isinstance(latest.result, ContainerList)
    assert [row.names for row in latest.result.rows] == [(second,)]
    last_two = bot.handle(f"ps -n 2 {mine}")
    assert isinstance(last_two.result, ContainerList)
    assert [row.names[0] for row in last_two.result.rows] == [second, first]


def test_listings_make_one_api_call(
    engines: DockerEngineDirectory, bot: BotDriver, sandbox: Sandbox
) -> None:
    """No per-row requests: a listing of many objects is one engine call. (The first `ps`
    reads each container's environment once, to redact it from the commands; it never
    changes, so it is kept.) Filtered to this run: a container another test creates between
    the two listings would be new, and read once."""
    for stem in ("calls-one", "calls-two"):
        bot.ok(f"run --name {sandbox.name(stem)} {sandbox.label_args()} {TEST_IMAGE} true")
    mine = f"ps -a --filter label={sandbox.labels_filter()}"
    engine = engines.get(None)
    engine.ping()  # connect and negotiate the API version first
    bot.handle(mine)
    client = engine._client()
    calls: list[str] = []
    client.hooks["response"].append(lambda response, **_: calls.append(response.request.url))
    for text in (mine, "images -a"):
        calls.clear()
        reply = bot.handle(text)
        assert isinstance(reply.result, ContainerList | ImageList)
        assert len(reply.result.rows) >= 2
        assert len(calls) == 1, calls


def test_exec_lists_as_serve_does(
    engines: DockerEngineDirectory, bot: BotDriver, sandbox: Sandbox
) -> None:
    """`exec` and the console read listings with the standard library (`bot.engine.lean`): on
    the real engine they list, filter and redact as the docker SDK's engine does."""
    secret = "cold-start-secret-value"
    talker = sandbox.name("cold-talker")
    bot.ok(
        f"run --name {talker} {sandbox.label_args()} -e TOKEN={secret} {TEST_IMAGE} echo {secret}"
    )
    bot.ok(f"run --name {sandbox.name('cold-quiet')} {sandbox.label_args()} {TEST_IMAGE} true")
    mine = ("name", sandbox.name("cold-"))
    full = engines.get(None)
    lean = LeanEngine(name=full.name, url=sandbox.docker_host, timeout=20, full=lambda: full)
    for operation in (
        ListContainers(all=True, filters=(mine,)),
        ListContainers(all=True, quiet=True, no_trunc=True, filters=(mine,)),
        ListContainers(filters=(mine,)),
        ListContainers(last=1, filters=(mine,)),
        ListImages(filters=(("reference", "chatops-test/busybox"),)),
    ):
        expected, got = full.execute(operation), lean.execute(operation)
        # A status ("Exited (0) 2 seconds ago") may change between the two listings.
        assert _without_status(got) == _without_status(expected), operation
    listed = lean.execute(ListContainers(all=True, filters=(mine,)))
    assert isinstance(listed, ContainerList) and len(listed.rows) == 2
    shown = {row.names[0]: row.command for row in listed.rows}
    assert shown[talker] == f"echo {REDACTED}"


def _without_status(result: object) -> object:
    if isinstance(result, ContainerList):
        return [dataclasses.replace(row, status="") for row in result.rows]
    return result
