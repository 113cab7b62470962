"""Slack event IDs are claimed exactly once, by concurrent claimers too (SQLite, PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.state.database import open_database
from bot.state.slack_events import SqlSeenEvents
from bot.state.tables import slack_events

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_one_claim_of_many_wins(database_url: str) -> None:
    engine = open_database(database_url)
    claimers = [SqlSeenEvents(engine=engine) for _ in range(2)]  # two replicas
    wins: list[bool] = []
    lock = threading.Lock()

    def claim(store: SqlSeenEvents) -> None:
        won = store.first_time("Ev123", now=NOW)
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=claim, args=(claimers[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 7 + [True]
    assert claimers[1].first_time("Ev124", now=NOW)  # another event is new


def test_old_claims_are_dropped_eventually(database_url: str) -> None:
    engine = open_database(database_url)
    store = SqlSeenEvents(engine=engine)
    store.first_time("EvOld", now=NOW - timedelta(days=2))
    for index in range(500):
        store.first_time(f"Ev{index}", now=NOW)
    with engine.connect() as connection:
        ids = connection.execute(select(slack_events.c.event_id)).scalars().all()
        count = connection.execute(select(func.count()).select_from(slack_events)).scalar()
    assert "EvOld" not in ids and count == 500
