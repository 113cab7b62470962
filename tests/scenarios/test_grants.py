"""[[grants]] from Slack, against the real engine: a person with no operator role restarts the
containers a grant names and not others (the refusal names the grant that came closest), runs
an image a grant allows and must ask an approver to remove their own container; `can` answers
for them without running anything."""

from __future__ import annotations

import json
from collections.abc import Iterator

import docker
import pytest

from tests.conftest import TEST_IMAGE, Sandbox, SlackBot, serve_bot
from tests.fakes.fake_slack import FakeSlack


@pytest.fixture
def granting_bot(sandbox: Sandbox, fake_slack: FakeSlack) -> Iterator[SlackBot]:
    stem = sandbox.name("pay")
    service = serve_bot(
        sandbox,
        fake_slack,
        roles={"viewer": ["*"], "operator": ["U0OPS"], "admin": ["U0ADMIN"]},
        approvals={"required_for": ["rm"], "approvers": ["admin"]},
        grants=[
            {"who": ["U0DEV"], "actions": ["restart"], "containers": [f"{stem}-web-*"]},
            {"who": ["U0DEV"], "actions": ["run"], "images": ["chatops-test/busybox:*"]},
            {"who": ["U0DEV"], "actions": ["rm", "stop"], "own": True},
        ],
    )
    yield SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    service.stop()


def answer(bot: SlackBot, text: str, *, user: str, name: str) -> str:
    bot.command(text, name=name, user_id=user, channel_id="C0OPS")
    return json.dumps(bot.responses(name)[0])


def started_at(api: docker.APIClient, name: str) -> str:
    return str(api.inspect_container(name)["State"]["StartedAt"])


def running(api: docker.APIClient, box: Sandbox, stem: str) -> str:
    name = box.name(stem)
    api.start(
        api.create_container(TEST_IMAGE, command=["sleep", "120"], name=name, labels=box.labels)
    )
    return name


def test_a_grant_covers_its_containers_only(granting_bot: SlackBot, api: docker.APIClient) -> None:
    box = granting_bot.sandbox
    web, db = running(api, box, "pay-web-1"), running(api, box, "pay-db")
    before_web, before_db = started_at(api, web), started_at(api, db)

    refused = answer(granting_bot, f"restart -t 0 {db}", user="U0DEV", name="restart-db")
    assert f"your grant #1 covers containers `{box.name('pay')}-web-*`, not {db}" in refused
    assert "`restart` needs the operator role" in refused
    assert started_at(api, db) == before_db
    # Both targets at once: one is not covered, so nothing runs.
    both = answer(granting_bot, f"restart -t 0 {web} {db}", user="U0DEV", name="restart-both")
    assert f"not {db}" in both and started_at(api, web) == before_web
    # Positive control: the container the grant names restarts.
    done = answer(granting_bot, f"restart -t 0 {web}", user="U0DEV", name="restart-web")
    assert "Restarted" in done and "Not allowed" not in done
    assert started_at(api, web) != before_web
    # Without a grant for it, the action is refused as the role says.
    stop = answer(granting_bot, f"stop -t 0 {web}", user="U0DEV", name="stop-web")
    assert "your grant #3 covers containers you ran, not" in stop
    assert api.inspect_container(web)["State"]["Running"] is True


def test_own_containers_and_images(granting_bot: SlackBot, api: docker.APIClient) -> None:
    box = granting_bot.sandbox
    mine = box.name("dev-own")
    labels = " ".join(f"-l {key}={value}" for key, value in box.labels.items())
    ran = answer(
        granting_bot,
        f"run -d --name {mine} {labels} {TEST_IMAGE} sleep 120",
        user="U0DEV",
        name="run-own",
    )
    assert "Not allowed" not in ran
    assert api.inspect_container(mine)["Config"]["Labels"]["chatops.owner"] == "U0DEV"
    # An image no grant names is refused.
    other = answer(
        granting_bot, f"run -d {labels} {box.registry}/other:1 true", user="U0DEV", name="run-x"
    )
    assert "your grant #2 covers images `chatops-test/busybox:*`, not" in other
    # Their own container: stop runs, rm waits for an approver (approvals still apply).
    stopped = answer(granting_bot, f"stop -t 0 {mine}", user="U0DEV", name="stop-own")
    assert "Stopped" in stopped
    waiting = answer(granting_bot, f"rm {mine}", user="U0DEV", name="rm-own")
    assert "Waiting for approval" in waiting
    assert api.inspect_container(mine)["Name"] == f"/{mine}"
    # Someone else's container is not theirs.
    theirs = running(api, box, "not-dev")
    refused = answer(granting_bot, f"stop -t 0 {theirs}", user="U0DEV", name="stop-theirs")
    assert "your grant #3 covers containers you ran, not" in refused
    assert api.inspect_container(theirs)["State"]["Running"] is True


def test_can_answers_without_running_anything(
    granting_bot: SlackBot, api: docker.APIClient
) -> None:
    box = granting_bot.sandbox
    web, db = running(api, box, "pay-web-2"), running(api, box, "pay-db-2")
    before = started_at(api, web)
    may = answer(granting_bot, f"can <@U0DEV|dev> restart {web}", user="U0ADMIN", name="can-1")
    assert "may run `restart" in may and "grant #1" in may
    assert started_at(api, web) == before
    may_not = answer(granting_bot, f"can U0DEV restart {db}", user="U0ADMIN", name="can-2")
    assert "may not run" in may_not and f"not {db}" in may_not
    by_role = answer(granting_bot, f"can U0OPS restart {db}", user="U0ADMIN", name="can-3")
    assert "may run" in by_role and "operator via U0OPS" in by_role
    # `can` is for admins.
    asked = answer(granting_bot, f"can U0DEV restart {web}", user="U0OPS", name="can-4")
    assert "`can` needs the admin role" in asked
