"""Housekeeping against the real engine, and from Slack.

Time is the engine's clock, injected: grace periods pass because the test says so, never by
waiting. Each engine-side test applies only the part of the plan it made (the sandbox engine is
shared); what is planned is checked in full.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import docker
import pytest

from bot.core.cleanup import CLEANUP, CleanupRules, parse_engine_time, run_cleanup
from bot.core.plans import Plan
from bot.engine.docker_engine import DockerEngine, EngineLimits
from bot.housekeeping.runs import SqlCleanupRuns
from bot.housekeeping.scheduler import EngineSchedule, HousekeepingScheduler
from bot.slack.delivery import post_cleanup_report
from bot.slack.web import make_web_client
from bot.state.database import open_database
from tests.conftest import TEST_IMAGE, Sandbox, SlackBot, import_image, serve_bot
from tests.fakes.fake_slack import FakeSlack

# A cleanup here takes every dead container on the shared engine, other tests' too: alone.
pytestmark = pytest.mark.serial

GRACE = timedelta(seconds=2)
RULES = CleanupRules(container_grace=GRACE, image_grace=GRACE, exclude=("*-excluded",))


def later(delta: timedelta = GRACE + timedelta(seconds=1)) -> Callable[[], datetime]:
    """A clock ``delta`` ahead of the engine's: what stopped just now is past its grace."""
    return lambda: datetime.now(UTC) + delta


def engine_with(
    rules: CleanupRules, clock: Callable[[], datetime], sandbox: Sandbox
) -> DockerEngine:
    return DockerEngine(
        name="sandbox",
        url=sandbox.docker_host,
        limits=EngineLimits(),
        cleanup_rules=rules,
        clock=clock,
    )


def only(plan: Plan, sandbox: Sandbox, *ids: str) -> Plan:
    """The part of ``plan`` that is this run's (named by it, or one of ``ids``)."""
    prefix = sandbox.name("")
    return Plan(
        action=CLEANUP,
        items=tuple(
            item for item in plan.items if item.target.startswith(prefix) or item.id in ids
        ),
    )


def exited(api: docker.APIClient, sandbox: Sandbox, stem: str, **labels: str) -> str:
    name = sandbox.name(stem)
    api.create_container(TEST_IMAGE, command=["true"], name=name, labels=sandbox.labels | labels)
    api.start(name)
    api.wait(name, timeout=30)
    return name


def exists(api: docker.APIClient, name: str) -> bool:
    try:
        api.inspect_container(name)
        return True
    except docker.errors.NotFound:
        return False


def test_cleanup_takes_what_is_dead_long_enough_and_nothing_else(
    sandbox: Sandbox, api: docker.APIClient
) -> None:
    old = exited(api, sandbox, "old")
    kept = exited(api, sandbox, "kept", **{"chatops.keep": "true"})
    excluded = exited(api, sandbox, "hk-excluded")
    never_started = sandbox.name("never")
    api.create_container(TEST_IMAGE, command=["true"], name=never_started, labels=sandbox.labels)
    repository = f"chatops-test/hk-{sandbox.session}"
    old_image = import_image(api, sandbox, repository=repository, content=b"v1")
    user = sandbox.name("image-user")
    api.create_container(
        f"{repository}:latest",
        command=["x"],
        name=user,
        labels=sandbox.labels | {"chatops.keep": "true"},
    )
    import_image(api, sandbox, repository=repository, content=b"v2")  # old_image now dangling
    unused = import_image(api, sandbox, repository=f"{repository}-b", content=b"b1")
    import_image(api, sandbox, repository=f"{repository}-b", content=b"b2")  # unused: dangling
    # Created long ago, died just now: still in its grace period.
    late = sandbox.name("died-late")
    api.create_container(TEST_IMAGE, command=["true"], name=late, labels=sandbox.labels)
    api.start(late)
    api.wait(late, timeout=30)
    # The clock stops when `late` stopped, and the grace is the time since `late` was created:
    # everything made before `late` is past its grace, as `late` would be if its creation
    # counted; only its stop time keeps it. (Engine times: the engine's clock, not ours.)
    doc = api.inspect_container(late)
    created, stopped = (
        parse_engine_time(doc["Created"]),
        parse_engine_time(doc["State"]["FinishedAt"]),
    )
    assert created is not None and stopped is not None and stopped > created
    grace = stopped - created
    rules = CleanupRules(container_grace=grace, image_grace=grace, exclude=RULES.exclude)

    engine = engine_with(rules, lambda: stopped, sandbox)
    preview = run_cleanup(engine, dry_run=True)
    planned = {item.target for item in preview.removed}
    assert {old, never_started} <= planned
    assert not {kept, excluded, late} & planned
    assert unused[7:19] in planned and old_image[7:19] not in planned  # used by `user`
    assert all(exists(api, name) for name in (old, never_started))  # the dry run removed nothing

    report = engine.apply_cleanup(only(engine.plan_cleanup(), sandbox, unused))
    assert not exists(api, old) and not exists(api, never_started)
    assert all(exists(api, name) for name in (kept, excluded, late, user))
    with pytest.raises(docker.errors.ImageNotFound):
        api.inspect_image(unused)
    api.inspect_image(old_image)
    assert report.space_reclaimed > 0 and not report.errors
    engine.close()


def test_only_the_plan_is_applied(sandbox: Sandbox, api: docker.APIClient) -> None:
    planned_name = exited(api, sandbox, "planned")
    restarted = exited(api, sandbox, "restarted")
    engine = engine_with(RULES, later(), sandbox)
    plan = Plan(
        action=CLEANUP,
        items=tuple(
            item for item in engine.plan_cleanup().items if item.target in (planned_name, restarted)
        ),
    )
    assert len(plan.items) == 2
    newcomer = exited(api, sandbox, "newcomer")  # appears after the plan
    api.start(restarted)  # runs again after the plan: must be skipped
    api.wait(restarted, timeout=30)
    report = engine.apply_cleanup(plan)
    assert [item.target for item in report.removed] == [planned_name]
    assert [(item.target, why) for item, why in report.skipped] == [
        (restarted, "ran again since the plan")
    ]
    assert exists(api, newcomer) and exists(api, restarted)
    engine.close()


@pytest.fixture
def housekeeping_bot(sandbox: Sandbox, fake_slack: FakeSlack) -> SlackBot:
    return SlackBot(
        service=serve_bot(
            sandbox,
            fake_slack,
            roles={"viewer": ["*"], "operator": ["U0OPS"], "admin": ["U0ADMIN", "U0SECOND"]},
            approvals={"required_for": ["cleanup"], "approvers": ["admin"]},
            # No grace: what this test stops is a candidate at once (grace periods are the
            # engine tests' above, with an injected clock).
            cleanup={
                "schedule": "0 3 * * 0",
                "container_grace": "0s",
                "image_grace": "0s",
                "notify_channel": "C0HOUSE",
                "quiet_when_empty": False,
            },
        ),
        fake=fake_slack,
        sandbox=sandbox,
    )


def test_cleanup_from_slack(housekeeping_bot: SlackBot, api: docker.APIClient) -> None:
    bot = housekeeping_bot
    try:
        victim = exited(api, bot.sandbox, "slack-victim")
        bot.command("cleanup --dry-run", name="preview", user_id="U0ANYONE")
        preview = json.dumps(bot.responses("preview")[0])
        assert "Would remove" in preview and victim in preview
        assert exists(api, victim)

        bot.command("cleanup status", name="status", user_id="U0ANYONE")
        status = json.dumps(bot.responses("status")[0])
        assert ("0 3 * * 0 (UTC), next" in status and "Sun" not in status) or "next" in status

        before = len(bot.fake.of("chat.postMessage"))
        bot.command("cleanup", name="ask", user_id="U0OPS")
        assert "Waiting for approval" in json.dumps(bot.responses("ask")[0])
        posted = bot.fake.wait_for("chat.postMessage", count=before + 1)[-1]
        assert victim in json.dumps(posted.body["blocks"])
        approval_id = posted.body["text"].rsplit("#", 1)[1]
        from tests.scenarios.test_slack_approvals import click

        click(bot, approve=True, approval_id=int(approval_id), user="U0ADMIN", name="go")
        # The cleanup takes every dead container and dangling image on the shared engine,
        # which after a whole suite's run is hundreds (seen: over 30 s on a fresh CI machine).
        bot.fake.wait_for(
            "chat.update", where=lambda c: "done" in str(c.body.get("text")), timeout=240
        )
        assert not exists(api, victim)

    finally:
        bot.service.stop()


def test_a_scheduled_run_cleans_and_reports(
    sandbox: Sandbox, api: docker.APIClient, fake_slack: FakeSlack, database_url: str
) -> None:
    victim = exited(api, sandbox, "scheduled-victim")
    engine = engine_with(RULES, later(), sandbox)
    client = make_web_client(token="xoxb-test", base_url=fake_slack.api_url)
    schedule = EngineSchedule(
        engine="sandbox",
        crontab="0 3 * * *",
        timezone="UTC",
        dry_run=False,
        notify_channel="C0HOUSE",
        quiet_when_empty=True,
    )
    at_three = datetime.now(UTC).replace(hour=3, minute=0, second=5, microsecond=0)
    scheduler = HousekeepingScheduler(
        schedules=[schedule],
        runs=SqlCleanupRuns(engine=open_database(database_url)),
        housekeep=lambda name, dry_run: run_cleanup(engine, dry_run=dry_run),
        notify=lambda channel, report: post_cleanup_report(client, channel, report),
        clock=lambda: at_three,
    )
    assert scheduler.run_due("sandbox") is True
    assert not exists(api, victim)
    [report] = fake_slack.wait_for("chat.postMessage")
    assert report.body["channel"] == "C0HOUSE"
    assert victim in json.dumps(report.body["blocks"]) and "Removed" in report.body["text"]
    assert scheduler.run_due("sandbox") is False  # the same scheduled time runs once
    engine.close()


def veto_bot(
    sandbox: Sandbox,
    fake: FakeSlack,
    window: str,
    clock: Callable[[], datetime] | None = None,
) -> SlackBot:
    return SlackBot(
        service=serve_bot(
            sandbox,
            fake,
            clock=clock,
            roles={"viewer": ["*"], "operator": ["U0OPS"], "admin": ["U0ADMIN"]},
            cleanup={
                "schedule": "* * * * *",
                "container_grace": "0s",
                "image_grace": "0s",
                "notify_channel": "C0HOUSE",
                "veto_window": window,
            },
        ),
        fake=fake,
        sandbox=sandbox,
    )


def proposal(bot: SlackBot, victim: str) -> int:
    bot.service.housekeeping.run_due("default")  # or the minute's own job got there first
    posted = bot.fake.wait_for(
        "chat.postMessage", where=lambda c: "Scheduled cleanup" in str(c.body.get("text"))
    )[-1]
    assert posted.body["channel"] == "C0HOUSE"
    blocks = json.dumps(posted.body["blocks"])
    assert victim in blocks and "Run now" in blocks and "Cancel" in blocks
    return int(posted.body["text"].rsplit("#", 1)[1])


def test_a_vetoed_scheduled_cleanup_removes_nothing(
    sandbox: Sandbox, fake_slack: FakeSlack, api: docker.APIClient
) -> None:
    victim = exited(api, sandbox, "veto-kept")
    bot = veto_bot(sandbox, fake_slack, "10m")
    try:
        approval_id = proposal(bot, victim)
        from tests.scenarios.test_slack_approvals import click

        click(bot, approve=False, approval_id=approval_id, user="U0OPS", name="no")
        assert "not an approver" in bot.responses("no")[0]["text"]
        click(bot, approve=False, approval_id=approval_id, user="U0ADMIN", name="cancel")
        bot.fake.wait_for("chat.update", where=lambda c: "rejected" in str(c.body.get("text")))
        assert exists(api, victim)
    finally:
        bot.service.stop()


def test_a_scheduled_cleanup_runs_when_the_veto_window_ends(
    sandbox: Sandbox, fake_slack: FakeSlack, api: docker.APIClient
) -> None:
    victim = exited(api, sandbox, "veto-gone")
    now = [datetime.now(UTC)]
    bot = veto_bot(sandbox, fake_slack, "10m", clock=lambda: now[0])
    try:
        approval_id = proposal(bot, victim)
        bot.service.sweep_approvals()
        assert exists(api, victim)  # the positive control's twin: within the window, it waits
        now[0] += timedelta(minutes=11)  # the window ends (on the bot's clock, not the wall's)
        bot.service.sweep_approvals()
        bot.fake.wait_for(
            "chat.update", where=lambda c: f"#{approval_id}: done" in str(c.body.get("text"))
        )
        assert not exists(api, victim)
    finally:
        bot.service.stop()
