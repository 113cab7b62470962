"""[[freeze]] windows from Slack, against the real engine: a change inside a window is refused
with the reason and the end, a read is not, and the same change outside the window runs;
scheduled housekeeping skips a frozen engine and says so, and cleans one the window does not
hold; the Home tab shows the window in force."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import docker
import pytest

from tests.conftest import TEST_IMAGE, Sandbox, SlackBot, serve_bot
from tests.fakes.fake_slack import FakeSlack
from tests.scenarios.test_housekeeping import exists, exited
from tests.scenarios.test_slack_home import open_home
from tests.scenarios.test_updates import push_marked, run

# A window in force for the whole test, whenever it runs; it holds one of two engines that
# are the same sandbox, so the same stop on the other one is the positive control.
START = datetime.now(UTC) - timedelta(hours=1)
END = START + timedelta(hours=3)


def engines(sandbox: Sandbox) -> dict[str, dict[str, object]]:
    """Two engine names for the same sandbox: ``prod`` is frozen, ``local`` is the control."""
    return {
        "local": {"url": sandbox.docker_host, "default": True},
        "prod": {"url": sandbox.docker_host},
    }


@pytest.fixture
def frozen_bot(sandbox: Sandbox, fake_slack: FakeSlack) -> Iterator[SlackBot]:
    service = serve_bot(
        sandbox,
        fake_slack,
        roles={"viewer": ["*"], "operator": ["U0OPS"], "admin": ["U0ADMIN", "U0ADMIN2"]},
        # Outside a window an operator's rm waits for an admin; inside, it is refused.
        approvals={"required_for": ["rm"], "approvers": ["admin"]},
        engines=engines(sandbox),
        freeze=[
            {
                "reason": "release in progress",
                "start": START.isoformat(),
                "end": END.isoformat(),
                "engines": ["prod"],
                "actions": ["stop", "restart", "rm"],
            }
        ],
    )
    yield SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    service.stop()


def answer(bot: SlackBot, text: str, *, user: str, name: str) -> str:
    bot.command(text, name=name, user_id=user, channel_id="C0OPS")
    return json.dumps(bot.responses(name)[0])


def test_a_stop_inside_a_window_is_refused_and_reads_are_not(
    frozen_bot: SlackBot, api: docker.APIClient
) -> None:
    box = frozen_bot.sandbox
    name = box.name("held")
    api.start(
        api.create_container(TEST_IMAGE, command=["sleep", "60"], name=name, labels=box.labels)
    )
    refused = answer(frozen_bot, f"-c prod stop -t 0 {name}", user="U0OPS", name="stop-prod")
    assert (
        f"changes are frozen until {END:%Y-%m-%d %H:%M} UTC: release in progress ([[freeze]])"
        in refused
    )
    assert api.inspect_container(name)["State"]["Running"] is True
    admin = answer(frozen_bot, f"-c prod stop -t 0 {name}", user="U0ADMIN", name="stop-admin")
    # An admin's stop may wait for another admin, but not with -t: the plan keeps no timeout.
    assert "cannot wait for an approval" in admin and "ask without `-t`" in admin
    assert api.inspect_container(name)["State"]["Running"] is True
    listing = answer(frozen_bot, "-c prod ps", user="U0OPS", name="ps-prod")
    assert name in listing and "frozen until" not in listing
    # Positive control: the same stop where no window holds it runs.
    stopped = answer(frozen_bot, f"-c local stop -t 0 {name}", user="U0OPS", name="stop-local")
    assert "Stopped" in stopped and "frozen until" not in stopped
    assert api.inspect_container(name)["State"]["Running"] is False


def test_an_admin_may_ask_inside_a_window_and_another_admin_approves(
    frozen_bot: SlackBot, api: docker.APIClient
) -> None:
    from tests.scenarios.test_slack_approvals import click

    box = frozen_bot.sandbox
    name = box.name("frozen-rm")
    api.create_container(TEST_IMAGE, command=["true"], name=name, labels=box.labels)
    refused = answer(frozen_bot, f"-c prod rm {name}", user="U0OPS", name="rm-ops")
    assert "changes are frozen until" in refused and "Waiting for approval" not in refused
    before = len(frozen_bot.fake.of("chat.postMessage"))
    asked = answer(frozen_bot, f"-c prod rm {name}", user="U0ADMIN", name="rm-admin")
    assert "Waiting for approval" in asked and "another admin" in asked
    posted = frozen_bot.fake.wait_for("chat.postMessage", count=before + 1)[-1]
    approval_id = int(posted.body["text"].rsplit("#", 1)[1])
    click(frozen_bot, approve=True, approval_id=approval_id, user="U0ADMIN", name="self")
    assert "another admin has to approve it" in json.dumps(frozen_bot.responses("self")[0])
    click(frozen_bot, approve=True, approval_id=approval_id, user="U0OPS", name="ops")
    assert "only an admin may approve it" in json.dumps(frozen_bot.responses("ops")[0])
    assert exists(api, name)
    click(frozen_bot, approve=True, approval_id=approval_id, user="U0ADMIN2", name="other")
    frozen_bot.fake.wait_for(
        "chat.update", where=lambda c: f"#{approval_id}: done" in str(c.body.get("text"))
    )
    assert not exists(api, name)


def test_an_admins_stop_inside_a_window_waits_for_another_admin(
    frozen_bot: SlackBot, api: docker.APIClient
) -> None:
    from tests.scenarios.test_slack_approvals import click

    box = frozen_bot.sandbox
    name = box.name("frozen-stop")
    # It exits on SIGTERM: the approved stop need not wait out its 10 s grace period.
    serve = ["sh", "-c", "trap 'exit 0' TERM; sleep 60 & wait"]
    api.start(api.create_container(TEST_IMAGE, command=serve, name=name, labels=box.labels))
    before = len(frozen_bot.fake.of("chat.postMessage"))
    asked = answer(frozen_bot, f"-c prod stop {name}", user="U0ADMIN", name="stop-admin")
    assert "Waiting for approval" in asked and "another admin" in asked
    assert api.inspect_container(name)["State"]["Running"] is True
    posted = frozen_bot.fake.wait_for("chat.postMessage", count=before + 1)[-1]
    approval_id = int(posted.body["text"].rsplit("#", 1)[1])
    click(frozen_bot, approve=True, approval_id=approval_id, user="U0ADMIN", name="self-stop")
    assert "another admin has to approve it" in json.dumps(frozen_bot.responses("self-stop")[0])
    assert api.inspect_container(name)["State"]["Running"] is True
    click(frozen_bot, approve=True, approval_id=approval_id, user="U0ADMIN2", name="other-stop")
    frozen_bot.fake.wait_for(
        "chat.update", where=lambda c: f"#{approval_id}: done" in str(c.body.get("text"))
    )
    assert api.inspect_container(name)["State"]["Running"] is False


def test_the_home_tab_shows_the_window_in_force(frozen_bot: SlackBot) -> None:
    home = json.dumps(open_home(frozen_bot, "U0OPS"), ensure_ascii=False)
    assert (
        f"Frozen until {END:%Y-%m-%d %H:%M} UTC: release in progress · `prod` · "
        "`restart`, `rm`, `stop`"
    ) in home


# Housekeeping removes every dead container on the shared engine: alone.
@pytest.mark.serial
def test_scheduled_housekeeping_skips_a_frozen_engine_and_says_so(
    sandbox: Sandbox, fake_slack: FakeSlack, api: docker.APIClient
) -> None:
    service = serve_bot(
        sandbox,
        fake_slack,
        roles={"viewer": ["*"], "operator": ["U0OPS"], "admin": ["U0ADMIN"]},
        engines=engines(sandbox),
        freeze=[
            {
                "reason": "release in progress",
                "start": START.isoformat(),
                "end": END.isoformat(),
                "engines": ["prod"],
                "actions": ["cleanup"],
            }
        ],
        # 03:00 daily: a run is always due within the last day, and the job itself fires
        # only at 03:00 (the test asks for the due run itself).
        cleanup={
            "schedule": "0 3 * * *",
            "container_grace": "0s",
            "image_grace": "0s",
            "notify_channel": "C0HOUSE",
            "quiet_when_empty": False,
        },
    )
    bot = SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    try:
        victim = exited(api, sandbox, "frozen-victim")
        skip = f"skipped on prod: frozen (release in progress) until {END:%Y-%m-%d %H:%M} UTC"
        assert service.housekeeping.run_due("prod") is True
        [told] = fake_slack.wait_for("chat.postMessage", where=lambda c: skip in str(c.body))
        assert told.body["channel"] == "C0HOUSE"
        assert told.body["text"] == f"Scheduled cleanup {skip}"
        assert exists(api, victim)
        bot.command("cleanup status", name="status", user_id="U0OPS", channel_id="C0OPS")
        assert skip in json.dumps(bot.responses("status")[0])
        # Positive control: the same housekeeping on the engine the window does not hold runs.
        assert service.housekeeping.run_due("local") is True
        [report] = fake_slack.wait_for(
            "chat.postMessage", where=lambda c: "Removed" in str(c.body.get("text"))
        )
        assert report.body["channel"] == "C0HOUSE" and victim in json.dumps(report.body["blocks"])
        assert not exists(api, victim)
    finally:
        service.stop()


# [notifications] channel starts the engine-event watchers: alone.
@pytest.mark.serial
def test_the_scheduled_update_check_skips_a_frozen_engine_and_says_so(
    sandbox: Sandbox, fake_slack: FakeSlack, api: docker.APIClient
) -> None:
    moving = f"{sandbox.registry}/chatops-test/frz-moving-{sandbox.session}"
    push_marked(api, sandbox, moving, "1")
    web = run(api, sandbox, f"{moving}:latest")["Name"].lstrip("/")
    push_marked(api, sandbox, moving, "2")  # the tag moves; web still runs the first
    service = serve_bot(
        sandbox,
        fake_slack,
        engines=engines(sandbox),
        freeze=[
            {
                "reason": "upgrade week",
                "start": START.isoformat(),
                "end": END.isoformat(),
                "engines": ["prod"],
                "actions": ["upgrade"],
            }
        ],
        upgrades={"check_schedule": "0 3 * * *"},  # the test runs the check itself
        notifications={"channel": "C0NOTE"},
    )
    try:
        assert service.update_checks is not None
        service.update_checks.run()
        skip = (
            "The update check skipped on prod: frozen (upgrade week) "
            f"until {END:%Y-%m-%d %H:%M} UTC"
        )
        posts = [c.body for c in fake_slack.of("chat.postMessage") if c.body["channel"] == "C0NOTE"]
        assert [post["text"] for post in posts].count(skip) == 1
        # The control: the same container on the engine the window does not hold is told.
        told = [post for post in posts if web in json.dumps(post.get("blocks"))]
        assert len(told) == 1 and "local" in json.dumps(told[0])
        service.update_checks.run()  # the same window: not told again
        again = [c.body["text"] for c in fake_slack.of("chat.postMessage")]
        assert again.count(skip) == 1
    finally:
        service.stop()
