"""Which available updates were told: ``bot.service.update_checks.SeenUpdates`` in the
database, so each new digest is posted once, by one replica."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.state.tables import update_notices


class SqlSeenUpdates:
    def __init__(
        self, *, engine: Engine, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._db = engine
        self._clock = clock

    def claim(self, engine: str, container_id: str, digest: str) -> bool:
        """True the first time anyone claims this digest for this container."""
        try:
            with self._db.begin() as connection:
                connection.execute(
                    insert(update_notices).values(
                        engine=engine,
                        container_id=container_id,
                        digest=digest,
                        noticed_at=self._clock(),
                    )
                )
        except IntegrityError:
            return False
        return True
