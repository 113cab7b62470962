"""Housekeeping runs on the in-memory engine: grace periods pass on an injected clock.

What goes and what stays (stop time, keep label, excludes, images in use), that exactly the
plan is applied, and a scheduled run reported, without dockerd and without waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.cleanup import CleanupRules, run_cleanup
from bot.core.operations import ChangeContainers, ContainerAction
from bot.core.results import CleanupReport
from bot.engine.fake import FakeClock, FakeEngine, FakeEngineDirectory
from bot.housekeeping.runs import SqlCleanupRuns
from bot.housekeeping.scheduler import EngineSchedule, HousekeepingScheduler
from bot.state.database import open_database

START = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
RULES = CleanupRules(container_grace=DAY, image_grace=DAY, exclude=("db-*", "vendor/*"))
KEEP = {"chatops.keep": "true"}


def act(engine: FakeEngine, action: ContainerAction, *containers: str) -> None:
    engine.execute(ChangeContainers(action=action, containers=containers))


def names(engine: FakeEngine) -> set[str]:
    return {container.name for container in engine.containers.values()}


def targets(report: CleanupReport) -> list[str]:
    return [item.target for item in report.removed]


def arranged() -> tuple[FakeEngine, FakeClock, dict[str, str]]:
    """Objects a day and an hour old, but for ``late``: created as long ago, stopped an hour
    ago. Returns the engine, its clock and the IDs of the images that matter."""
    clock = FakeClock(now=START)
    engine = FakeEngine(clock=clock, cleanup_rules=RULES)
    images = {
        "used": engine.add_image("app:1").id,
        "dangling": engine.add_image("scratch:1", size=5000).id,
        "kept": engine.add_image(size=300, labels=KEEP).id,
    }
    images["tagged"] = engine.add_image("scratch:1").id  # takes the tag: the first one dangles
    for name in ("old", "kept", "db-main", "web", "late"):
        engine.add_container(name, "app:1", labels=KEEP if name == "kept" else None)
    engine.add_container("never", "app:1", size=700)  # created, never started
    act(engine, ContainerAction.START, "old", "kept", "db-main", "web")
    act(engine, ContainerAction.STOP, "old", "kept", "db-main")
    clock.advance(DAY)
    act(engine, ContainerAction.START, "late")
    act(engine, ContainerAction.STOP, "late")
    clock.advance(timedelta(hours=1))
    return engine, clock, images


def test_what_goes_and_what_stays() -> None:
    engine, _, images = arranged()
    preview = run_cleanup(engine, dry_run=True)
    assert preview.dry_run
    assert targets(preview) == ["old", "never", images["dangling"][7:19]]
    assert preview.space_reclaimed == 700 + 5000
    assert names(engine) == {"old", "kept", "db-main", "web", "late", "never"}  # only a preview

    report = run_cleanup(engine, dry_run=False)
    assert targets(report) == targets(preview) and not report.skipped and not report.errors
    # Kept: the label, the exclude pattern, running, stopped within its grace (created long
    # ago), and images in use, tagged, or labelled.
    assert names(engine) == {"kept", "db-main", "web", "late"}
    assert set(engine.images) == {images["used"], images["tagged"], images["kept"]}


def test_nothing_goes_within_the_grace_period_and_what_is_due_goes_after() -> None:
    clock = FakeClock(now=START)
    engine = FakeEngine(clock=clock, cleanup_rules=RULES)
    engine.add_image("app:1")
    engine.add_container("old", "app:1")
    act(engine, ContainerAction.START, "old")
    act(engine, ContainerAction.STOP, "old")
    clock.advance(DAY - timedelta(seconds=1))
    assert run_cleanup(engine, dry_run=False).empty and names(engine) == {"old"}
    clock.advance(timedelta(seconds=1))  # the control: a second later it is due
    assert targets(run_cleanup(engine, dry_run=False)) == ["old"]
    assert names(engine) == set()


def test_unused_tagged_images_go_only_when_asked_and_excludes_hold() -> None:
    asked = CleanupRules(
        container_grace=DAY,
        image_grace=DAY,
        exclude=RULES.exclude,
        unused_images_after=timedelta(days=30),
    )
    for rules, goes in ((RULES, []), (asked, ["app:old"])):
        clock = FakeClock(now=START)
        engine = FakeEngine(clock=clock, cleanup_rules=rules)
        engine.add_image("app:old")
        engine.add_image("vendor/tool:1")  # as old, but excluded
        clock.advance(timedelta(days=31))
        engine.add_image("app:new")  # unused, but young
        assert targets(run_cleanup(engine, dry_run=False)) == goes
    assert {tag for image in engine.images.values() for tag in image.tags} == {
        "vendor/tool:1",
        "app:new",
    }


def test_exactly_the_plan_is_applied() -> None:
    engine, clock, images = arranged()
    plan = engine.plan_cleanup()
    engine.add_container("newcomer", "app:1")  # appears after the plan; due by the next run
    clock.advance(DAY)
    act(engine, ContainerAction.START, "old")
    act(engine, ContainerAction.STOP, "old")  # ran again since the plan
    engine.add_container("user", images["dangling"])  # the planned image is in use now

    report = engine.apply_cleanup(plan)
    assert targets(report) == ["never"]
    assert [(item.target, why) for item, why in report.skipped] == [
        ("old", "ran again since the plan"),
        (images["dangling"][7:19], "now used by a container"),
    ]
    assert {"old", "newcomer", "user"} <= names(engine) and images["dangling"] in engine.images


def test_a_scheduled_run_on_the_fake_engine_runs_and_reports_once(tmp_path: Path) -> None:
    engine, clock, images = arranged()  # now 04:00, an hour past today's 03:00
    notes: list[tuple[str, CleanupReport]] = []
    directory = FakeEngineDirectory(engine)
    scheduler = HousekeepingScheduler(
        schedules=[
            EngineSchedule(
                engine="fake",
                crontab="0 3 * * *",
                timezone="UTC",
                dry_run=False,
                notify_channel="C0OPS",
                quiet_when_empty=True,
            )
        ],
        runs=SqlCleanupRuns(engine=open_database(f"sqlite:///{tmp_path}/runs.db")),
        housekeep=lambda name, dry_run: run_cleanup(directory.get(name), dry_run=dry_run),
        notify=lambda channel, report: notes.append((channel, report)),
        clock=clock,
    )
    assert scheduler.run_due("fake") is True
    assert scheduler.run_due("fake") is False  # the same scheduled time runs once
    [(channel, report)] = notes
    assert channel == "C0OPS" and targets(report) == ["old", "never", images["dangling"][7:19]]
    assert "removed 3, 5.7kB" in scheduler.status().engines[0][2]
    assert names(engine) == {"kept", "db-main", "web", "late"}
