"""`logs`: tails, since, timestamps and the bound on output."""

from __future__ import annotations

from datetime import datetime, timedelta

import docker

from bot.config import engine_directory
from bot.core.pipeline import Pipeline
from bot.core.policy import AllowEverything
from bot.core.results import LogsResult
from bot.errors import NotFound
from tests.conftest import TEST_IMAGE, BotDriver, Sandbox, make_settings

SCRIPT = "i=1; while [ $i -le 30 ]; do echo line-$i; i=$((i+1)); done; echo to-stderr >&2"


def test_logs_tail_and_stderr(bot: BotDriver, sandbox: Sandbox) -> None:
    name = sandbox.name("logs")
    bot.ok(f"run --name {name} {sandbox.label_args()} {TEST_IMAGE} sh -c '{SCRIPT}'")
    everything = bot.ok(f"logs {name}").splitlines()
    # stdout keeps its order; stderr may interleave anywhere (the engine copies each apart).
    assert [line for line in everything if line != "to-stderr"] == [
        f"line-{i}" for i in range(1, 31)
    ]
    assert "to-stderr" in everything
    assert len(bot.ok(f"logs --tail 2 {name}").splitlines()) == 2
    stamped = bot.ok(f"logs -t -n 1 {name}").strip()
    assert stamped[:4].isdigit() and "T" in stamped[:20]


def test_logs_since(bot: BotDriver, sandbox: Sandbox, api: docker.APIClient) -> None:
    name = sandbox.name("logs-since")
    bot.ok(f"run --name {name} {sandbox.label_args()} {TEST_IMAGE} echo old-line")
    # Points in time around the line, from the engine's own clock: nothing waits for time.
    finished = api.inspect_container(name)["State"]["FinishedAt"][:19] + "Z"
    after = datetime.fromisoformat(finished.replace("Z", "+00:00")) + timedelta(seconds=2)
    assert bot.ok(f"logs --since {after.strftime('%Y-%m-%dT%H:%M:%SZ')} {name}").strip() == ""
    assert "old-line" in bot.ok(f"logs --since 1h {name}")


def test_logs_are_bounded(sandbox: Sandbox) -> None:
    directory = engine_directory(make_settings(sandbox.docker_host, logs_max_lines=10))
    driver = BotDriver(pipeline=Pipeline(engines=directory, policy=AllowEverything()))
    name = sandbox.name("logs-big")
    driver.ok(f"run --name {name} {sandbox.label_args()} {TEST_IMAGE} sh -c '{SCRIPT}'")
    reply = driver.run(f"logs {name}")
    assert isinstance(reply.result, LogsResult)
    assert reply.result.truncated
    assert len(reply.result.text.splitlines()) == 10
    assert "output shortened" in driver.out.getvalue()
    directory.close()


def test_logs_of_missing_container(bot: BotDriver) -> None:
    reply = bot.handle("logs ghost-container-xyz")
    assert isinstance(reply.error, NotFound)
