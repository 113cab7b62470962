"""Schema migrations: a database from the release before migrations (tables made by
create_all, committed as tests/fixtures/release-0.1-state.*.sql) is adopted and upgraded in
place, its state intact; new databases come out the same as migrated ones; an old schema is
refused, with what to run, when auto-upgrade is off. On SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select

from bot.core.approval_records import ApprovalState
from bot.errors import ConfigError
from bot.housekeeping.runs import SqlCleanupRuns
from bot.state.approvals import SqlApprovalRepository
from bot.state.audit import SqlAuditLog
from bot.state.database import open_database
from bot.state.schema import head_revision, schema_state
from bot.state.slack_events import SqlSeenEvents
from bot.state.tables import metadata, slack_events
from tests.conftest import AUDIT_KEY

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def load_release_state(url: str) -> None:
    """The state release 0.1 left behind, written back as that release wrote it."""
    if url.startswith("sqlite"):
        script = (FIXTURES / "release-0.1-state.sqlite.sql").read_text()
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            connection.executescript(script)
        return
    script = (FIXTURES / "release-0.1-state.postgresql.sql").read_text()
    engine = create_engine(url)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(script)
        cursor.close()
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


def test_a_release_0_1_database_is_adopted_and_upgraded_with_its_state(database_url: str) -> None:
    load_release_state(database_url)
    engine = open_database(database_url)  # adopts (0001) and upgrades
    assert schema_state(engine).up_to_date and schema_state(engine).current == head_revision()
    approvals = SqlApprovalRepository(engine=engine, key=AUDIT_KEY.encode())
    [waiting] = approvals.pending()
    assert waiting.command_text == "rm web" and waiting.approvers == ("U0ADMIN",)
    assert (waiting.message_channel, waiting.message_ts) == ("C0APPROVE", "1700000000.000100")
    done = approvals.get(2)
    assert done is not None and done.state is ApprovalState.DONE
    assert set(done.approvers) == {"U0ADMIN", "U0SECOND"} and done.outcome == "Removed old"
    # The audit chain still verifies with the key it was written with, and grows.
    audit = SqlAuditLog(engine=engine, key=AUDIT_KEY.encode())
    assert audit.verify().ok and audit.verify().entries == 3
    audit.record(event="request", actor="U0NEW", command="ps")
    assert audit.verify().ok and audit.verify().entries == 4
    last = SqlCleanupRuns(engine=engine).last("default")
    assert last is not None and last[1] == "removed 3 objects (12.0MB)"
    # The new tables work.
    assert SqlSeenEvents(engine=engine).first_time("Ev1", now=datetime.now(UTC))
    with engine.connect() as connection:
        assert connection.execute(select(slack_events.c.event_id)).scalars().all() == ["Ev1"]
    # Opening it again changes nothing (and a second process would find it up to date).
    again = open_database(database_url)
    assert schema_state(again).current == head_revision()
    assert len(SqlApprovalRepository(engine=again, key=AUDIT_KEY.encode()).pending()) == 1


def test_auto_upgrade_off_refuses_an_old_schema_with_what_to_run(database_url: str) -> None:
    load_release_state(database_url)
    with pytest.raises(ConfigError, match=r"python -m bot db upgrade"):
        open_database(database_url, upgrade=False)
    # Positive control: the upgrade then goes through, and the refusal no longer happens.
    open_database(database_url)
    assert schema_state(open_database(database_url, upgrade=False)).up_to_date


def test_migrations_make_exactly_the_tables_the_code_uses(database_url: str) -> None:
    """A fresh database is made from the tables and stamped; migrating from nothing must give
    the same schema, so a table changed without a migration fails here."""
    from alembic import command

    from bot.state.schema import _config

    engine = create_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(_config(connection), "head")
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert differences == []
    fresh = open_database(database_url)
    assert schema_state(fresh).up_to_date
    assert set(inspect(fresh).get_table_names()) >= set(metadata.tables)


def test_an_older_database_with_fewer_tables_gets_the_missing_ones(tmp_path: Path) -> None:
    """Before audit keys the bot made only audit_log and audit_head: adopted, the rest made."""
    from tests.database.state.test_audit import legacy_database

    url = f"sqlite:///{tmp_path}/legacy.db"
    legacy_database(url, 2)
    engine = open_database(url)
    assert schema_state(engine).up_to_date
    assert set(inspect(engine).get_table_names()) >= set(metadata.tables)
    audit = SqlAuditLog(engine=engine, key=AUDIT_KEY.encode())
    assert audit.verify().ok and audit.verify().entries == 2
