"""Notices held during quiet hours, in the database (both databases): what one replica holds,
another takes once; two replicas holding the same container's notice at once count both."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from bot.core.notices.classify import Occurrence
from bot.core.notices.rules import NoticeKind
from bot.state.database import open_database
from bot.state.held_notices import SqlHeldNotices

NIGHT = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def occurrence(name: str, kind: NoticeKind = NoticeKind.CRASH, engine: str = "prod") -> Occurrence:
    return Occurrence(
        kind=kind, engine=engine, container_id=f"id-{name}", name=name, image="app", at_ns=0
    )


def test_held_by_one_replica_taken_once_by_another(database_url: str) -> None:
    holding = SqlHeldNotices(engine=open_database(database_url))
    taking = SqlHeldNotices(engine=open_database(database_url))
    assert taking.channels() == []
    for name in ("web", "web", "api"):
        holding.hold(channel="C0OPS", occurrence=occurrence(name), at=NIGHT)
    holding.hold(channel="C0OPS", occurrence=occurrence("web", NoticeKind.UNHEALTHY), at=NIGHT)
    holding.hold(channel="C0OPS", occurrence=occurrence("web", engine="staging"), at=NIGHT)
    holding.hold(channel="C0DEV", occurrence=occurrence("x"), at=NIGHT)
    assert taking.channels() == ["C0DEV", "C0OPS"]
    assert taking.take("C0OPS") == {
        ("prod", "web", NoticeKind.CRASH): 2,
        ("prod", "api", NoticeKind.CRASH): 1,
        ("prod", "web", NoticeKind.UNHEALTHY): 1,
        ("staging", "web", NoticeKind.CRASH): 1,
    }
    assert holding.take("C0OPS") == {}  # once
    assert taking.channels() == ["C0DEV"]


def test_holding_at_once_counts_every_notice(database_url: str) -> None:
    stores = [SqlHeldNotices(engine=open_database(database_url)) for _ in range(4)]
    start = threading.Barrier(len(stores))

    def hold(store: SqlHeldNotices) -> None:
        start.wait()
        for _ in range(10):
            store.hold(channel="C0OPS", occurrence=occurrence("web"), at=NIGHT)

    threads = [threading.Thread(target=hold, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stores[0].take("C0OPS") == {("prod", "web", NoticeKind.CRASH): 40}
