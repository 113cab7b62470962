"""Scheduled housekeeping and [[freeze]] windows: a frozen engine is neither cleaned nor sent a
proposal, the skip is recorded and told; an unfrozen engine's run goes on (the control)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.freezes import HOUSEKEEPING_ACTION, Freeze, FreezeCalendar
from bot.core.results import CleanupReport
from bot.housekeeping.runs import SqlCleanupRuns
from bot.housekeeping.scheduler import EngineSchedule, HousekeepingScheduler
from bot.state.database import open_database

NOW = datetime(2026, 12, 7, 3, 0, 5, tzinfo=UTC)  # just after the 03:00 run is due
RELEASE = Freeze(
    reason="release <!channel>",
    start=NOW - timedelta(hours=1),
    end=NOW + timedelta(hours=2),
    engines=frozenset({"prod"}),
)
SKIPPED = "skipped on prod: frozen (release <!channel>) until 2026-12-07 05:00 UTC"


class Recorder:
    def __init__(self) -> None:
        self.cleaned: list[tuple[str, bool]] = []
        self.proposed: list[str] = []
        self.reports: list[tuple[str, CleanupReport]] = []
        self.told: list[tuple[str, str]] = []

    def housekeep(self, engine: str, dry_run: bool) -> CleanupReport:
        self.cleaned.append((engine, dry_run))
        return CleanupReport(engine=engine, dry_run=dry_run)

    def propose(self, schedule: EngineSchedule, window: timedelta) -> str:
        self.proposed.append(schedule.engine)
        return "proposed"


def scheduler(
    tmp_path: Path,
    recorder: Recorder,
    *,
    freezes: tuple[Freeze, ...],
    dry_run: bool = False,
    veto_window: timedelta | None = None,
    channel: str | None = "C0HOUSE",
) -> HousekeepingScheduler:
    calendar = FreezeCalendar(freezes=freezes, clock=lambda: NOW)
    return HousekeepingScheduler(
        schedules=[
            EngineSchedule(
                engine=name,
                crontab="0 3 * * *",
                timezone="UTC",
                dry_run=dry_run,
                notify_channel=channel,
                quiet_when_empty=False,
                veto_window=veto_window,
            )
            for name in ("prod", "lab")
        ],
        runs=SqlCleanupRuns(engine=open_database(f"sqlite:///{tmp_path}/runs.db")),
        housekeep=recorder.housekeep,
        notify=lambda channel, report: recorder.reports.append((channel, report)),
        propose=recorder.propose,
        frozen=lambda engine: calendar.holding(engine, HOUSEKEEPING_ACTION),
        tell=lambda channel, text: recorder.told.append((channel, text)),
        clock=lambda: NOW,
    )


@pytest.mark.parametrize(
    ("freezes", "engine", "dry_run", "veto", "cleaned", "proposed", "told"),
    [
        # Frozen: nothing runs, nothing is proposed, the channel is told.
        ((RELEASE,), "prod", False, None, [], [], True),
        ((RELEASE,), "prod", False, timedelta(minutes=10), [], [], True),
        # A preview removes nothing: not frozen, like `cleanup --dry-run` from chat.
        ((RELEASE,), "prod", True, None, [("prod", True)], [], False),
        # Positive controls: the engine the window does not name, and no window at all.
        ((RELEASE,), "lab", False, None, [("lab", False)], [], False),
        ((), "prod", False, None, [("prod", False)], [], False),
        ((), "prod", False, timedelta(minutes=10), [], ["prod"], False),
        # A window that holds only other actions.
        (
            (Freeze(reason="r", start=RELEASE.start, end=RELEASE.end, actions=frozenset({"rm"})),),
            "prod",
            False,
            None,
            [("prod", False)],
            [],
            False,
        ),
    ],
)
def test_a_scheduled_run_skips_a_frozen_engine(
    tmp_path: Path,
    freezes: tuple[Freeze, ...],
    engine: str,
    dry_run: bool,
    veto: timedelta | None,
    cleaned: list[tuple[str, bool]],
    proposed: list[str],
    told: bool,
) -> None:
    recorder = Recorder()
    housekeeping = scheduler(tmp_path, recorder, freezes=freezes, dry_run=dry_run, veto_window=veto)
    assert housekeeping.run_due(engine) is True
    assert recorder.cleaned == cleaned and recorder.proposed == proposed
    assert recorder.told == ([("C0HOUSE", f"Scheduled cleanup {SKIPPED}")] if told else [])
    if told:
        assert recorder.reports == []  # no report of a run that did not happen
    assert housekeeping.run_due(engine) is False  # that scheduled time is done either way


def test_a_skip_is_in_cleanup_status_and_told_only_where_there_is_a_channel(
    tmp_path: Path,
) -> None:
    recorder = Recorder()
    housekeeping = scheduler(tmp_path, recorder, freezes=(RELEASE,), channel=None)
    assert housekeeping.run_due("prod") and housekeeping.run_due("lab")
    assert recorder.told == [] and recorder.cleaned == [("lab", False)]
    rows = {engine: last for engine, _, last in housekeeping.status().engines}
    assert rows["prod"] == f"2026-12-07 03:00 UTC: {SKIPPED}"
    assert rows["lab"] == "2026-12-07 03:00 UTC: removed 0, 0B"
