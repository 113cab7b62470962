"""`inspect`: containers and images, with environment values redacted."""

from __future__ import annotations

import json

from bot.core.results import InspectResult
from bot.errors import NotFound
from tests.conftest import TEST_IMAGE, BotDriver, Sandbox


def test_inspect_container_redacts_environment(bot: BotDriver, sandbox: Sandbox) -> None:
    name = sandbox.name("insp")
    bot.ok(
        f"run -d --name {name} {sandbox.label_args()} -e API_TOKEN=hunter2 {TEST_IMAGE} sleep 300"
    )
    reply = bot.handle(f"inspect {name}")
    assert isinstance(reply.result, InspectResult)
    item = reply.result.items[0]
    assert item.kind == "container" and item.name == name
    assert "API_TOKEN=<redacted>" in item.document["Config"]["Env"]
    summary = dict(item.summary)
    assert summary["Status"] == "running" and summary["Name"] == name
    assert "API_TOKEN" in summary["Environment"]
    printed = bot.ok(f"inspect {name}")
    assert "hunter2" not in printed
    assert json.loads(printed)[0]["Name"] == f"/{name}"


def test_inspect_image_and_types(bot: BotDriver) -> None:
    reply = bot.handle(f"inspect {TEST_IMAGE}")
    assert isinstance(reply.result, InspectResult)
    assert reply.result.items[0].kind == "image"
    assert TEST_IMAGE in dict(reply.result.items[0].summary)["Tags"]
    as_container = bot.handle(f"container inspect {TEST_IMAGE}")
    assert isinstance(as_container.error, NotFound)
    assert "No such container" in str(as_container.error)


def test_inspect_some_missing(bot: BotDriver) -> None:
    reply = bot.run(f"inspect {TEST_IMAGE} ghost-object-xyz")
    assert isinstance(reply.result, InspectResult)
    assert reply.result.missing == ("ghost-object-xyz",)
    assert "Error: No such object: ghost-object-xyz" in bot.out.getvalue()
    assert isinstance(bot.handle("inspect ghost-object-xyz").error, NotFound)
