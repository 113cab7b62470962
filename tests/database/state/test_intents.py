"""Intents in the database (both databases): what one replica records before acting, another
(the one streaming the engine's events) finds; closed and expired ones stop covering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.notices.intents import SKEW, TTL, Cause, covering
from bot.state.database import open_database
from bot.state.intents import KEEP, SqlIntentLog

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
WEB = "ab12cd34ef56" + "0" * 52


def test_an_intent_recorded_by_one_replica_covers_events_another_reads(database_url: str) -> None:
    now = [T0]
    acting = SqlIntentLog(engine=open_database(database_url), clock=lambda: now[0])
    watching = SqlIntentLog(engine=open_database(database_url))

    def cause(name: str, at: datetime, engine: str = "prod") -> Cause | None:
        return covering(watching.around(engine, at=at), container_id=WEB, name=name, at=at)

    stop = acting.begin(engine="prod", action="stop", targets=("web",), user="U0OPS")
    assert cause("web", T0 + timedelta(seconds=1)) == Cause(
        action="stop", user="U0OPS", intent=stop
    )
    assert cause("api", T0 + timedelta(seconds=1)) is None
    assert cause("web", T0 + timedelta(seconds=1), engine="staging") is None
    now[0] = T0 + timedelta(seconds=10)
    acting.end(stop)
    assert cause("web", T0 + timedelta(seconds=10) + SKEW) is not None
    assert cause("web", T0 + timedelta(seconds=13)) is None  # closed: a later crash is a crash
    # One never closed (its process died) expires.
    now[0] = T0 + timedelta(minutes=30)
    rm = acting.begin(engine="prod", action="rm", targets=(WEB,), user="U0ADMIN")
    assert cause("renamed", now[0] + TTL) == Cause(action="rm", user="U0ADMIN", intent=rm)
    assert cause("renamed", now[0] + TTL + timedelta(seconds=1)) is None


def test_old_intents_are_dropped_as_new_ones_come(database_url: str) -> None:
    now = [T0]
    log = SqlIntentLog(engine=open_database(database_url), clock=lambda: now[0])
    log.end(log.begin(engine="prod", action="stop", targets=("web",), user="U0OPS"))
    assert log.around("prod", at=T0)
    now[0] = T0 + TTL + KEEP + timedelta(seconds=1)
    log.begin(engine="prod", action="stop", targets=("api",), user="U0OPS")
    assert log.around("prod", at=T0) == []
