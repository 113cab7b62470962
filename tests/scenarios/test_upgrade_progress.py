"""An upgrade asked in a channel shows its pull as it goes, in one message that ends saying the
upgrade waits for an approver (the request itself is told to the requester alone); an upgrade
with nothing newer to pull posts no progress at all."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import docker
import pytest

from tests.conftest import TEST_IMAGE, Sandbox, SlackBot, build_and_push, serve_bot
from tests.fakes.fake_slack import FakeSlack


def push(api: docker.APIClient, sandbox: Sandbox, repository: str, version: str) -> str:
    """A build of ``version`` with a layer of its own (so that pulling it downloads a layer,
    whatever else the engine holds), pushed as ``repository:latest``; its image ID."""
    dockerfile = (
        f"FROM {TEST_IMAGE}\n"
        f"LABEL chatops-test.session={sandbox.session}\n"
        f"RUN echo {version} {uuid.uuid4().hex} > /version\n"
        'CMD ["sh", "-c", "trap \'exit 0\' TERM; sleep 3600 & wait"]\n'
    )
    build_and_push(api, dockerfile=dockerfile, repository=repository)
    return str(api.inspect_image(f"{repository}:latest")["Id"])


@pytest.fixture
def upgrading_bot(sandbox: Sandbox, fake_slack: FakeSlack) -> Iterator[SlackBot]:
    service = serve_bot(
        sandbox,
        fake_slack,
        roles={"viewer": ["*"], "operator": ["U0OPS"], "admin": ["U0ADMIN"]},
        approvals={"required_for": ["upgrade"], "approvers": ["admin"]},
        slack_changes_in_channel=True,
    )
    yield SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    service.stop()


def running(api: docker.APIClient, sandbox: Sandbox, *, move: bool) -> str:
    repository = f"{sandbox.registry}/chatops-test/upp-{sandbox.session}-{uuid.uuid4().hex[:6]}"
    push(api, sandbox, repository, "v1")
    name = sandbox.name(f"upp-{uuid.uuid4().hex[:6]}")
    api.start(api.create_container(f"{repository}:latest", name=name, labels=sandbox.labels))
    if move:
        push(api, sandbox, repository, "v2")
        api.remove_image(f"{repository}:latest")  # only the registry has v2: it is pulled
    return name


def progress_messages(bot: SlackBot, name: str) -> list[str]:
    return [
        json.dumps(call.body)
        for call in bot.fake.of("chat.postMessage")
        if "Pulling" in json.dumps(call.body) and name in json.dumps(call.body)
    ]


def test_the_upgrade_s_pull_is_shown_and_ends_waiting_for_an_approver(
    upgrading_bot: SlackBot, api: docker.APIClient
) -> None:
    name = running(api, upgrading_bot.sandbox, move=True)
    upgrading_bot.command(f"upgrade {name}", name="up", user_id="U0OPS", channel_id="C0OPS")
    waiting = json.dumps(upgrading_bot.responses("up")[0])
    assert "Waiting for approval" in waiting and '"ephemeral"' in waiting
    [shown] = progress_messages(upgrading_bot, name)
    assert f"the image of {name}" in shown and '"channel": "C0OPS"' in shown
    ended = upgrading_bot.fake.wait_for(
        "chat.update", where=lambda c: "waits for an approver" in json.dumps(c.body)
    )[-1]
    assert ended.body["channel"] == "C0OPS" and "#" not in str(ended.body.get("text"))


def test_an_upgrade_with_nothing_to_pull_shows_no_progress(
    upgrading_bot: SlackBot, api: docker.APIClient
) -> None:
    name = running(api, upgrading_bot.sandbox, move=False)
    upgrading_bot.command(f"upgrade {name}", name="same", user_id="U0OPS", channel_id="C0OPS")
    assert "up to date" in json.dumps(upgrading_bot.responses("same")[0])
    assert progress_messages(upgrading_bot, name) == []
