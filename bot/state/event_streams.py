"""Where each engine's event stream resumes, and which process streams it (a lease)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.state.tables import event_streams


class SqlStreamCursors:
    """``bot.service.notices.StreamCursors`` in the database (SQLite or PostgreSQL)."""

    def __init__(self, *, engine: Engine) -> None:
        self._db = engine

    def claim(self, engine: str, *, owner: str, now: datetime, lease: timedelta) -> bool:
        """Take or renew the stream of ``engine`` for ``owner`` until ``now + lease``; False
        while another owner's lease runs."""
        until = now + lease
        with self._db.begin() as connection:
            taken = connection.execute(
                update(event_streams)
                .where(event_streams.c.engine == engine)
                .where(
                    or_(
                        event_streams.c.owner.is_(None),
                        event_streams.c.owner == owner,
                        event_streams.c.lease_until < now,
                    )
                )
                .values(owner=owner, lease_until=until)
            ).rowcount
        if taken:
            return True
        try:
            with self._db.begin() as connection:
                connection.execute(
                    insert(event_streams).values(engine=engine, owner=owner, lease_until=until)
                )
        except IntegrityError:
            return False  # the row exists: someone else holds it
        return True

    def release(self, engine: str, *, owner: str) -> None:
        with self._db.begin() as connection:
            connection.execute(
                update(event_streams)
                .where(event_streams.c.engine == engine, event_streams.c.owner == owner)
                .values(owner=None, lease_until=None)
            )

    def cursor(self, engine: str) -> int | None:
        with self._db.connect() as connection:
            value = connection.execute(
                select(event_streams.c.cursor_ns).where(event_streams.c.engine == engine)
            ).scalar_one_or_none()
        return int(value) if value is not None else None

    def advance(self, engine: str, *, owner: str, cursor_ns: int) -> None:
        """Record the last event handled (only the owner moves the cursor)."""
        with self._db.begin() as connection:
            connection.execute(
                update(event_streams)
                .where(event_streams.c.engine == engine, event_streams.c.owner == owner)
                .values(cursor_ns=cursor_ns)
            )
