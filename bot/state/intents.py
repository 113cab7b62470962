"""``bot.core.notices.intents.IntentLog`` in the database (SQLite or PostgreSQL): written by
whichever process acts, read by whichever streams the engine's events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from bot.core.notices.intents import SKEW, TTL, Intent
from bot.state.database import as_utc
from bot.state.tables import intents

# Kept this long after they end: a replay of missed events (at most an hour) still finds them.
KEEP = timedelta(hours=1)


class SqlIntentLog:
    def __init__(
        self, *, engine: Engine, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._db = engine
        self._clock = clock

    def begin(self, *, engine: str, action: str, targets: tuple[str, ...], user: str) -> int:
        now = self._clock()
        with self._db.begin() as connection:
            # Rows no replay can need any more go as new ones come.
            connection.execute(delete(intents).where(intents.c.started_at < now - TTL - KEEP))
            row = connection.execute(
                insert(intents)
                .values(
                    engine=engine,
                    action=action,
                    targets=list(targets),
                    user_id=user,
                    started_at=now,
                )
                .returning(intents.c.id)
            ).scalar_one()
        return int(row)

    def end(self, intent_id: int) -> None:
        now = self._clock()
        with self._db.begin() as connection:
            connection.execute(
                update(intents)
                .where(intents.c.id == intent_id, intents.c.finished_at.is_(None))
                .values(finished_at=now)
            )

    def around(self, engine: str, *, at: datetime) -> list[Intent]:
        # Started by then (give or take the skew) and not long before; the exact window is
        # Intent.covers's.
        with self._db.connect() as connection:
            rows = connection.execute(
                select(intents).where(
                    intents.c.engine == engine,
                    intents.c.started_at <= at + SKEW,
                    intents.c.started_at >= at - TTL - SKEW,
                )
            ).all()
        found = [
            Intent(
                id=int(row.id),
                engine=row.engine,
                action=row.action,
                targets=tuple(str(t) for t in row.targets),
                user=row.user_id,
                started_at=as_utc(row.started_at),
                finished_at=as_utc(row.finished_at) if row.finished_at is not None else None,
            )
            for row in rows
        ]
        return [intent for intent in found if intent.started_at - SKEW <= at <= intent.ends_at]
