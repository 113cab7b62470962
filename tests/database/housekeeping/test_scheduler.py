"""The housekeeping scheduler over a real database: one run per scheduled time across
replicas, one make-up run after downtime, quiet when there was nothing to do."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.core.plans import ObjectKind, PlanItem
from bot.core.results import CleanupReport
from bot.housekeeping.runs import SqlCleanupRuns
from bot.housekeeping.scheduler import EngineSchedule, HousekeepingScheduler
from bot.state.database import open_database

DAILY = EngineSchedule(
    engine="local",
    crontab="0 3 * * *",
    timezone="UTC",
    dry_run=False,
    notify_channel="C0OPS",
    quiet_when_empty=True,
)
REMOVED = PlanItem(
    kind=ObjectKind.CONTAINER, id="c1", target="old", description="old (exited, 2kB)", size=2000
)


class Recorder:
    def __init__(self, report: CleanupReport | None = None) -> None:
        self.runs: list[tuple[str, bool]] = []
        self.notes: list[tuple[str, CleanupReport]] = []
        self.report = report or CleanupReport(engine="local", dry_run=False, removed=(REMOVED,))

    def housekeep(self, engine: str, dry_run: bool) -> CleanupReport:
        self.runs.append((engine, dry_run))
        return self.report

    def notify(self, channel: str, report: CleanupReport) -> None:
        self.notes.append((channel, report))


def scheduler(
    url: str, recorder: Recorder, now: datetime, schedule: EngineSchedule = DAILY
) -> HousekeepingScheduler:
    return HousekeepingScheduler(
        schedules=[schedule],
        runs=SqlCleanupRuns(engine=open_database(url)),
        housekeep=recorder.housekeep,
        notify=recorder.notify,
        clock=lambda: now,
    )


def test_two_replicas_run_a_scheduled_cleanup_once(database_url: str) -> None:
    recorder = Recorder()
    now = datetime(2026, 11, 29, 3, 0, 5, tzinfo=UTC)
    first, second = scheduler(database_url, recorder, now), scheduler(database_url, recorder, now)
    assert first.run_due("local") is True
    assert second.run_due("local") is False
    assert first.run_due("local") is False  # a retry of the same scheduled time
    assert recorder.runs == [("local", False)]
    [(channel, report)] = recorder.notes
    assert channel == "C0OPS" and report.removed == (REMOVED,)
    status = second.status().engines[0]
    assert status[0] == "local" and "next 2026-11-30 03:00" in status[1]
    assert "removed 1, 2kB" in status[2]


def test_missed_runs_after_downtime_run_once(database_url: str) -> None:
    recorder = Recorder()
    before = datetime(2026, 11, 26, 3, 0, 1, tzinfo=UTC)
    assert scheduler(database_url, recorder, before).run_due("local")
    three_days_later = before + timedelta(days=3, hours=5)
    restarted = scheduler(database_url, recorder, three_days_later)
    assert restarted.catch_up("local") is True
    assert restarted.catch_up("local") is False
    assert len(recorder.runs) == 2


def test_first_start_does_not_run_at_once(database_url: str) -> None:
    recorder = Recorder()
    assert (
        scheduler(database_url, recorder, datetime(2026, 11, 29, 12, tzinfo=UTC)).catch_up("local")
        is False
    )
    assert recorder.runs == []
    # The control: the next scheduled time runs.
    assert scheduler(database_url, recorder, datetime(2026, 11, 30, 3, 0, 5, tzinfo=UTC)).run_due(
        "local"
    )
    assert recorder.runs == [("local", False)]


def test_quiet_when_nothing_was_done(database_url: str) -> None:
    recorder = Recorder(CleanupReport(engine="local", dry_run=False))
    now = datetime(2026, 11, 29, 3, 0, 5, tzinfo=UTC)
    assert scheduler(database_url, recorder, now).run_due("local")
    assert recorder.notes == []
    assert recorder.runs == [("local", False)]  # it ran; it only kept quiet
    # The control: the same empty run is reported when quiet_when_empty is off.
    loud = replace(DAILY, engine="other", quiet_when_empty=False)
    assert scheduler(database_url, recorder, now, loud).run_due("other")
    assert [channel for channel, _ in recorder.notes] == ["C0OPS"]


def test_a_failing_run_is_recorded_not_fatal(database_url: str) -> None:
    def broken(engine: str, dry_run: bool) -> CleanupReport:
        raise RuntimeError("engine exploded")

    recorder = Recorder()
    now = datetime(2026, 11, 29, 3, 0, 5, tzinfo=UTC)
    runs = SqlCleanupRuns(engine=open_database(database_url))
    failing = HousekeepingScheduler(
        schedules=[DAILY], runs=runs, housekeep=broken, notify=recorder.notify, clock=lambda: now
    )
    assert failing.run_due("local")
    assert "1 error(s)" in failing.status().engines[0][2]
    assert recorder.notes[0][1].errors == ("engine exploded",)
