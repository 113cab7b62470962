"""Scheduled housekeeping runs in the database: claims (one replica per run) and results."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.state.database import as_utc
from bot.state.tables import cleanup_runs


class SqlCleanupRuns:
    """The ``cleanup_runs`` table: one row per (engine, scheduled time), claimed by one replica."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine

    def claim(self, engine: str, scheduled_for: datetime, *, replica: str) -> bool:
        """True for exactly one caller per (engine, scheduled time), across all replicas."""
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    insert(cleanup_runs).values(
                        engine=engine, scheduled_for=scheduled_for, claimed_by=replica, result=""
                    )
                )
        except IntegrityError:
            return False
        return True

    def finish(self, engine: str, scheduled_for: datetime, *, result: str, at: datetime) -> None:
        """Record the result of the run claimed for ``scheduled_for``, finished ``at``."""
        with self._engine.begin() as connection:
            connection.execute(
                update(cleanup_runs)
                .where(
                    cleanup_runs.c.engine == engine, cleanup_runs.c.scheduled_for == scheduled_for
                )
                .values(finished_at=at, result=result)
            )

    def last(self, engine: str) -> tuple[datetime, str] | None:
        """The newest run's scheduled time and result (empty while it runs)."""
        with self._engine.connect() as connection:
            row = connection.execute(
                select(cleanup_runs.c.scheduled_for, cleanup_runs.c.result)
                .where(cleanup_runs.c.engine == engine)
                .order_by(cleanup_runs.c.scheduled_for.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return as_utc(row[0]), str(row[1])
