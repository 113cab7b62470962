"""The database schema's version: Alembic migrations (``bot/state/migrations``).

A new database is made from the current tables and marked as the newest revision. An older
one is upgraded in place, at start (``[database] auto_upgrade``, the default) or by
``python -m bot db upgrade``. A database a release before migrations made (``create_all``,
no ``alembic_version``) is adopted: the migrations run from the first, each making only the
tables that are missing (as ``create_all`` did at every start).
One process migrates at a time (an advisory lock on PostgreSQL, the write lock on SQLite).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import ConfigError
from bot.state.tables import metadata

log = logging.getLogger(__name__)

_LOCK_ID = 0x63686174  # "chat": PostgreSQL advisory lock for migrations


@dataclass(frozen=True, kw_only=True, slots=True)
class SchemaState:
    current: str | None  # None: an empty database, or one made before migrations
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "bot.state:migrations")
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def schema_state(engine: Engine) -> SchemaState:
    """Where ``engine``'s schema is, and where this release wants it."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return SchemaState(current=current, head=head_revision())


def prepare_schema(engine: Engine, *, upgrade: bool) -> SchemaState:
    """Make, adopt or upgrade the schema (``upgrade=False``: refuse to upgrade, with one line
    saying what to run). Returns the state it was found in."""
    head = head_revision()
    try:
        with engine.begin() as connection:
            _lock(connection)
            current = MigrationContext.configure(connection).get_current_revision()
            found = SchemaState(current=current, head=head)
            tables = set(inspect(connection).get_table_names())
            if current is None and not tables & _all_tables():
                metadata.create_all(connection)
                command.stamp(_config(connection), head)
                return found
            adopting = current is None
            if adopting:
                # Made by a release before migrations (create_all at every start): the
                # migrations make only what is missing, from the first one on.
                log.warning("adopting a database made before schema migrations")
            elif current == head:
                return found
            if not upgrade:
                at = "from before migrations" if adopting else f"at revision {current}"
                raise ConfigError(
                    f"The database schema is {at}; this release needs {head}. Run "
                    "`python -m bot db upgrade` (back up the database first), then start again."
                )
            log.info("upgrading the database schema from %s to %s", current or "none", head)
            command.upgrade(_config(connection), "head")
            return found
    except SQLAlchemyError as err:
        raise ConfigError(f"The database schema could not be prepared: {err}") from None


def _all_tables() -> frozenset[str]:
    return frozenset(metadata.tables)


def _lock(connection: Connection) -> None:
    """One migrating process at a time: the others wait, then find the schema up to date."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    elif connection.dialect.name == "sqlite":
        # A write takes SQLite's write lock for the rest of the transaction.
        connection.execute(text("CREATE TABLE IF NOT EXISTS schema_lock (id INTEGER)"))
        connection.execute(text("DELETE FROM schema_lock"))
