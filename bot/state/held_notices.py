"""``bot.core.notices.quiet_hours.HeldNotices`` in the database (SQLite or PostgreSQL): the
replica that streams an engine holds its notices during quiet hours; whichever replica flushes
first after them takes a channel's rows (deleted as they are read: one digest) and posts it.
A restart during the hours loses nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.core.notices.classify import Occurrence
from bot.core.notices.rules import NoticeKind
from bot.state.tables import held_notices


class SqlHeldNotices:
    def __init__(self, *, engine: Engine) -> None:
        self._db = engine

    def hold(self, *, channel: str, occurrence: Occurrence, at: datetime) -> None:
        key = (
            held_notices.c.channel == channel,
            held_notices.c.engine == occurrence.engine,
            held_notices.c.name == occurrence.name,
            held_notices.c.kind == occurrence.kind.value,
        )
        # Count up the row if there is one, else add it; two writers adding at once meet at
        # the unique constraint, and the loser counts up the winner's row.
        for _attempt in range(3):
            with self._db.begin() as connection:
                counted = connection.execute(
                    update(held_notices).where(*key).values(count=held_notices.c.count + 1)
                ).rowcount
                if counted:
                    return
            try:
                with self._db.begin() as connection:
                    connection.execute(
                        insert(held_notices).values(
                            channel=channel,
                            engine=occurrence.engine,
                            name=occurrence.name,
                            kind=occurrence.kind.value,
                            count=1,
                            first_at=at,
                        )
                    )
                return
            except IntegrityError:
                continue
        raise RuntimeError("could not hold a notice: the row kept changing")

    def channels(self) -> list[str]:
        with self._db.connect() as connection:
            found = connection.execute(select(held_notices.c.channel).distinct()).scalars()
            return sorted(str(channel) for channel in found)

    def take(self, channel: str) -> dict[tuple[str, str, NoticeKind], int]:
        with self._db.begin() as connection:
            rows = connection.execute(
                delete(held_notices)
                .where(held_notices.c.channel == channel)
                .returning(
                    held_notices.c.engine,
                    held_notices.c.name,
                    held_notices.c.kind,
                    held_notices.c.count,
                )
            ).all()
        taken: dict[tuple[str, str, NoticeKind], int] = {}
        for engine, name, kind, count in rows:
            taken[(str(engine), str(name), NoticeKind(kind))] = int(count)
        return taken
