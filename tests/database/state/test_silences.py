"""Silences in the database (both databases): what one replica stores, another reads; they
expire on time, end when unsilenced, and stay on record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.core.notices.silences import silencing
from bot.state.database import open_database
from bot.state.silences import SqlSilenceStore
from bot.state.tables import silences

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
WEB = "ab12cd34ef56" + "0" * 52


def test_a_silence_stored_by_one_replica_holds_in_another_until_it_ends(
    database_url: str,
) -> None:
    now = [T0]
    writing = SqlSilenceStore(engine=open_database(database_url), clock=lambda: now[0])
    reading = SqlSilenceStore(engine=open_database(database_url), clock=lambda: now[0])
    web = writing.add(engine="prod", pattern="web*", user="U0OPS", duration=HOUR)
    api = writing.add(engine="staging", pattern="api", user="U0OPS", duration=3 * HOUR)
    assert web.until == T0 + HOUR
    assert reading.active() == [web, api]
    assert reading.active(engine="prod") == [web]

    def silenced(at: datetime) -> int | None:
        found = silencing(
            reading.active(engine="prod", at=at),
            engine="prod",
            name="web-2",
            container_id=WEB,
            at=at,
        )
        return found.id if found else None

    assert silenced(T0 + timedelta(minutes=59)) == web.id
    assert silenced(T0 + HOUR) is None  # expired on time
    assert silenced(T0 - timedelta(minutes=1)) is None  # not made yet
    # Ended by another replica: from then on it holds nowhere, and is kept on record.
    now[0] = T0 + timedelta(minutes=10)
    ended = reading.end(web.id, user="U0ADMIN")
    assert ended is not None and (ended.ended_at, ended.ended_by) == (now[0], "U0ADMIN")
    assert writing.end(web.id, user="U0ADMIN") is None
    assert writing.active() == [api]
    assert silenced(T0 + timedelta(minutes=5)) == web.id  # as it was then
    assert silenced(T0 + timedelta(minutes=11)) is None
    now[0] = T0 + 3 * HOUR
    assert reading.active() == []
    assert reading.end(api.id, user="U0OPS") is None  # expired: nothing to end
    with open_database(database_url).connect() as connection:
        rows = connection.execute(select(silences.c.id, silences.c.ended_by)).all()
    assert sorted((row.id, row.ended_by) for row in rows) == [(web.id, "U0ADMIN"), (api.id, None)]
