"""``bot.core.notices.silences.SilenceStore`` in the database (SQLite or PostgreSQL): written by
whichever process runs ``silence`` (or a Silence button), read by whichever streams the
engine's events and by the Home tab. Rows stay after they end: who silenced what is kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Engine

from bot.core.notices.silences import SKEW, Silence
from bot.state.database import as_utc
from bot.state.tables import silences


class SqlSilenceStore:
    def __init__(
        self, *, engine: Engine, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._db = engine
        self._clock = clock

    def add(self, *, engine: str, pattern: str, user: str, duration: timedelta) -> Silence:
        now = self._clock()
        until = now + duration
        with self._db.begin() as connection:
            row_id = connection.execute(
                insert(silences)
                .values(
                    engine=engine,
                    pattern=pattern,
                    created_by=user,
                    created_at=now,
                    until=until,
                )
                .returning(silences.c.id)
            ).scalar_one()
        return Silence(
            id=int(row_id),
            engine=engine,
            pattern=pattern,
            created_by=user,
            created_at=now,
            until=until,
        )

    def end(self, silence_id: int, *, user: str) -> Silence | None:
        now = self._clock()
        with self._db.begin() as connection:
            ended = connection.execute(
                update(silences)
                .where(
                    silences.c.id == silence_id,
                    silences.c.ended_at.is_(None),
                    silences.c.until > now,
                )
                .values(ended_at=now, ended_by=user)
            ).rowcount
            if not ended:
                return None
            row = connection.execute(select(silences).where(silences.c.id == silence_id)).one()
        return _silence(row)

    def active(self, *, engine: str | None = None, at: datetime | None = None) -> list[Silence]:
        when = at or self._clock()
        query = select(silences).where(
            silences.c.until > when,
            silences.c.created_at <= when + SKEW,
            or_(silences.c.ended_at.is_(None), silences.c.ended_at > when),
        )
        if engine is not None:
            query = query.where(silences.c.engine == engine)
        with self._db.connect() as connection:
            rows = connection.execute(query.order_by(silences.c.id)).all()
        # The exact test is Silence.active's (SQLite compares the stored text).
        return [s for s in (_silence(row) for row in rows) if s.active(when)]


def _silence(row: Any) -> Silence:
    return Silence(
        id=int(row.id),
        engine=row.engine,
        pattern=row.pattern,
        created_by=row.created_by,
        created_at=as_utc(row.created_at),
        until=as_utc(row.until),
        ended_at=as_utc(row.ended_at) if row.ended_at is not None else None,
        ended_by=row.ended_by,
    )
