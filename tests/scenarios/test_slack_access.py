"""Access control and the run policy, from Slack, against the real engine."""

from __future__ import annotations

import json
from collections.abc import Iterator

import docker
import pytest

from tests.conftest import TEST_IMAGE, Sandbox, SlackBot, serve_bot
from tests.fakes.fake_slack import FakeSlack


@pytest.fixture
def guarded_bot(sandbox: Sandbox, fake_slack: FakeSlack) -> Iterator[SlackBot]:
    fake_slack.usergroups["S0PLATFORM"] = ["U0OPS"]
    service = serve_bot(
        sandbox,
        fake_slack,
        roles={"viewer": ["*"], "operator": ["S0PLATFORM"], "admin": ["U0ADMIN"]},
        approvals={"required_for": ["rm", "rmi", "prune"], "approvers": ["admin"]},
        run_policy={"default_memory": "64m"},
        engines={
            "local": {"url": sandbox.docker_host, "default": True},
            "prod": {"url": sandbox.docker_host, "channels": ["C0PROD"]},
        },
    )
    yield SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    service.stop()


def answer(bot: SlackBot, text: str, *, user: str, channel: str = "C0OPS", name: str) -> str:
    bot.command(text, name=name, user_id=user, channel_id=channel)
    posted = bot.responses(name)[0]
    return json.dumps(posted)


def test_viewers_may_look_but_not_run(guarded_bot: SlackBot, api: docker.APIClient) -> None:
    box = guarded_bot.sandbox
    api.create_container(TEST_IMAGE, command=["true"], name=box.name("seen"), labels=box.labels)
    assert '"table"' in answer(guarded_bot, "ps -a", user="U0ANYONE", name="look")
    name = box.name("denied")
    text = answer(
        guarded_bot,
        f"run -d --name {name} {box.label_args()} {TEST_IMAGE} sleep 60",
        user="U0ANYONE",
        name="run",
    )
    assert "`run` needs the operator role ([roles] operator); you are viewer" in text
    assert '"response_type": "ephemeral"' in text
    assert api.containers(all=True, filters={"name": name}) == []


def test_group_members_operate_with_default_limits(
    guarded_bot: SlackBot, api: docker.APIClient
) -> None:
    box = guarded_bot.sandbox
    name = box.name("grouped")
    text = answer(
        guarded_bot,
        f"run -d --name {name} {box.label_args()} {TEST_IMAGE} sleep 60",
        user="U0OPS",
        name="run",
    )
    assert f"Started container `{name}`" in text
    assert api.inspect_container(name)["HostConfig"]["Memory"] == 64 * 2**20
    answer(guarded_bot, f"stop -t 0 {name}", user="U0OPS", name="stop")
    lookups = guarded_bot.fake.of("usergroups.users.list")
    assert [call.body["usergroup"] for call in lookups] == ["S0PLATFORM"]  # cached


def test_risky_options_are_refused_naming_the_setting(
    guarded_bot: SlackBot, api: docker.APIClient
) -> None:
    box = guarded_bot.sandbox
    name = box.name("privileged")
    text = answer(
        guarded_bot,
        f"run -d --privileged -v /var/run/docker.sock:/var/run/docker.sock --name {name} "
        f"{box.label_args()} {TEST_IMAGE} sleep 60",
        user="U0OPS",
        name="risky",
    )
    assert "`--privileged` is refused (allow it with [run_policy] allow_privileged = true)" in text
    assert "allow_docker_socket = true" in text
    assert api.containers(all=True, filters={"name": name}) == []


def test_destructive_actions_wait_for_approval(
    guarded_bot: SlackBot, api: docker.APIClient
) -> None:
    box = guarded_bot.sandbox
    name = box.name("keep")
    api.create_container(TEST_IMAGE, command=["true"], name=name, labels=box.labels)
    text = answer(guarded_bot, f"rm {name}", user="U0ADMIN", name="rm")
    assert "`rm` needs approval by admin" in text
    api.inspect_container(name)  # still there


def test_engines_bound_to_channels(guarded_bot: SlackBot) -> None:
    elsewhere = answer(guarded_bot, "-c prod ps", user="U0ANYONE", name="other")
    assert "engine `prod` may only be used from C0PROD" in elsewhere
    bound = answer(guarded_bot, "-c prod ps -a", user="U0ANYONE", channel="C0PROD", name="bound")
    assert '"table"' in bound
