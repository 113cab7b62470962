"""`start`, `stop`, `restart`, `pause`, `unpause` on real containers."""

from __future__ import annotations

import docker

from bot.core.results import ActionResult
from bot.errors import Conflict, NotFound
from tests.conftest import TEST_IMAGE, BotDriver, Sandbox


def state(api: docker.APIClient, name: str) -> str:
    return str(api.inspect_container(name)["State"]["Status"])


def test_lifecycle(bot: BotDriver, sandbox: Sandbox, api: docker.APIClient) -> None:
    one, two = sandbox.name("life-1"), sandbox.name("life-2")
    for name in (one, two):
        bot.ok(f"run -d --name {name} {sandbox.label_args()} {TEST_IMAGE} sleep 300")

    assert bot.ok(f"pause {one} {two}").split() == [one, two]
    assert state(api, one) == state(api, two) == "paused"
    bot.ok(f"unpause {one} {two}")
    assert state(api, one) == state(api, two) == "running"

    bot.ok(f"stop -t 0 {one} {two}")
    assert state(api, one) == state(api, two) == "exited"
    bot.ok(f"start {one}")
    assert state(api, one) == "running"

    started = api.inspect_container(one)["State"]["StartedAt"]
    bot.ok(f"restart -t 0 {one}")
    assert state(api, one) == "running"
    assert api.inspect_container(one)["State"]["StartedAt"] != started


def test_lifecycle_errors(bot: BotDriver, sandbox: Sandbox) -> None:
    name = sandbox.name("life-err")
    bot.ok(f"run --name {name} {sandbox.label_args()} {TEST_IMAGE} true")
    paused = bot.handle(f"pause {name}")
    assert isinstance(paused.error, Conflict)
    assert "not running" in str(paused.error)
    missing = bot.handle("stop ghost-container-xyz")
    assert isinstance(missing.error, NotFound)
    partial = bot.handle(f"start {name} ghost-container-xyz")
    assert isinstance(partial.result, ActionResult) and partial.result.failed
