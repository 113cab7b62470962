"""The scheduled update check: ``[upgrades] check_schedule`` runs each engine's check (the
service's ``UpdateChecks.check``) on its crontab, in this process."""

from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

from bot.housekeeping.schedule import cron_trigger

log = logging.getLogger(__name__)


class UpdateCheckScheduler:
    def __init__(
        self,
        *,
        crontab: str,
        timezone: str,
        engines: list[str],
        check: Callable[[str], object],
    ) -> None:
        self._crontab = crontab
        self._timezone = timezone
        self._engines = engines
        self._check = check
        self._scheduler = BackgroundScheduler(timezone=timezone)

    def start(self) -> None:
        self._scheduler.add_job(
            self.run,
            trigger=cron_trigger(self._crontab, timezone=self._timezone),
            id="update-check",
            coalesce=True,
            max_instances=1,
        )
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def run(self) -> None:
        """Check every engine; one that fails does not keep the others from being checked."""
        for engine in self._engines:
            try:
                self._check(engine)
            except Exception:  # the check tells the team of its own failures; this is a bug
                log.exception("the update check of %s failed", engine)
