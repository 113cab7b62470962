"""Scheduled housekeeping: each engine's cleanup on its crontab schedule.

APScheduler 3 fires the jobs in this process; what must hold across restarts and replicas
lives in the database: which scheduled runs happened (one replica claims each), their
results, and so whether a run was missed while no replica was up. A missed run is made up
once, however many were missed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from bot.core.freezes import Window, skipped
from bot.core.humanize import human_size
from bot.core.results import CleanupReport, CleanupStatus
from bot.housekeeping.runs import SqlCleanupRuns
from bot.housekeeping.schedule import cron_trigger

log = logging.getLogger(__name__)

Housekeep = Callable[[str, bool], CleanupReport]  # (engine, dry_run) -> report
Notify = Callable[[str, CleanupReport], None]  # (channel, report)
Tell = Callable[[str, str], None]  # (channel, plain text to escape)
Frozen = Callable[[str], Window | None]  # engine -> the [[freeze]] window holding its cleanup


@dataclass(frozen=True, kw_only=True, slots=True)
class EngineSchedule:
    engine: str
    crontab: str
    timezone: str
    dry_run: bool
    notify_channel: str | None
    quiet_when_empty: bool
    veto_window: timedelta | None = None


# Post a plan that runs when the veto window ends unless cancelled; returns a summary.
Propose = Callable[[EngineSchedule, timedelta], str]


class HousekeepingScheduler:
    def __init__(
        self,
        *,
        schedules: list[EngineSchedule],
        runs: SqlCleanupRuns,
        housekeep: Housekeep,
        notify: Notify | None,
        propose: Propose | None = None,
        frozen: Frozen | None = None,
        tell: Tell | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._schedules = {schedule.engine: schedule for schedule in schedules}
        self._runs = runs
        self._housekeep = housekeep
        self._notify = notify
        self._propose = propose
        self._frozen = frozen
        self._tell = tell
        self._clock = clock
        self._replica = uuid.uuid4().hex[:12]
        self._scheduler = BackgroundScheduler(timezone="UTC")

    def start(self) -> None:
        """Make up missed runs (once each engine), then follow the schedules."""
        for schedule in self._schedules.values():
            self.catch_up(schedule.engine)
            self._scheduler.add_job(
                self.run_due,
                trigger=cron_trigger(schedule.crontab, timezone=schedule.timezone),
                args=[schedule.engine],
                id=f"cleanup:{schedule.engine}",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=3600,
            )
        if self._schedules:
            self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def catch_up(self, engine: str) -> bool:
        """Run once now if a scheduled time passed since the last recorded run."""
        schedule = self._schedules[engine]
        last = self._runs.last(engine)
        if last is None:
            return False  # never run: start with the schedule, not with a surprise
        missed = self._latest_due(schedule, after=last[0])
        return missed is not None and self._run(schedule, missed)

    def run_due(self, engine: str) -> bool:
        """The job: run the scheduled time that just came, if no replica has yet."""
        schedule = self._schedules[engine]
        due = self._latest_due(schedule, after=self._clock() - timedelta(days=1))
        return due is not None and self._run(schedule, due)

    def status(self) -> CleanupStatus:
        rows = []
        for schedule in self._schedules.values():
            trigger = cron_trigger(schedule.crontab, timezone=schedule.timezone)
            upcoming = trigger.get_next_fire_time(None, self._clock())
            when = f"{schedule.crontab} ({schedule.timezone}), next {upcoming:%Y-%m-%d %H:%M %Z}"
            if schedule.dry_run:
                when += ", dry run"
            last = self._runs.last(schedule.engine)
            result = f"{last[0]:%Y-%m-%d %H:%M} UTC: {last[1] or 'running'}" if last else "never"
            rows.append((schedule.engine, when, result))
        return CleanupStatus(engines=tuple(rows))

    def _latest_due(self, schedule: EngineSchedule, *, after: datetime) -> datetime | None:
        """The newest fire time in (after, now]: several missed ones count as one."""
        trigger = cron_trigger(schedule.crontab, timezone=schedule.timezone)
        now = self._clock()
        latest = None
        fire = trigger.get_next_fire_time(None, after + timedelta(seconds=1))
        while fire is not None and fire <= now:
            latest = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        return latest.astimezone(UTC) if latest is not None else None

    def _run(self, schedule: EngineSchedule, scheduled_for: datetime) -> bool:
        if not self._runs.claim(schedule.engine, scheduled_for, replica=self._replica):
            return False  # another replica (or an earlier attempt) has it
        window = self._frozen(schedule.engine) if self._frozen is not None else None
        if window is not None and not schedule.dry_run:
            # Neither run nor proposed: the window holds it. The next scheduled time runs (a
            # skipped time is recorded, so it is not made up once the window ends).
            note = skipped(window, engine=schedule.engine)
            log.info("housekeeping %s", note)
            self._runs.finish(schedule.engine, scheduled_for, result=note, at=self._clock())
            if self._tell is not None and schedule.notify_channel:
                self._tell(schedule.notify_channel, f"Scheduled cleanup {note}")
            return True
        if schedule.veto_window is not None and self._propose is not None:
            # The plan waits out the veto window as a request that runs unless cancelled.
            outcome = self._propose(schedule, schedule.veto_window)
            self._runs.finish(schedule.engine, scheduled_for, result=outcome, at=self._clock())
            return True
        try:
            report = self._housekeep(schedule.engine, schedule.dry_run)
        except Exception as err:  # recorded and reported, never fatal to the scheduler
            log.exception("housekeeping of %s failed", schedule.engine)
            report = CleanupReport(
                engine=schedule.engine, dry_run=schedule.dry_run, errors=(str(err),)
            )
        self._runs.finish(schedule.engine, scheduled_for, result=summary(report), at=self._clock())
        quiet = report.empty and schedule.quiet_when_empty
        if self._notify is not None and schedule.notify_channel and not quiet:
            self._notify(schedule.notify_channel, report)
        return True


def summary(report: CleanupReport) -> str:
    verb = "would remove" if report.dry_run else "removed"
    text = f"{verb} {len(report.removed)}, {human_size(report.space_reclaimed)}"
    if report.skipped:
        text += f", skipped {len(report.skipped)}"
    if report.errors:
        text += f", {len(report.errors)} error(s)"
    return text
