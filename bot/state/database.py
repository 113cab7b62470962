"""The database: engine creation (SQLite made crash-safe) and the schema (the tables are
``bot.state.tables``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bot.errors import ConfigError
from bot.state.schema import prepare_schema


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything the bot stores is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def open_database(url: str, *, upgrade: bool = True) -> Engine:
    """Connect, and make, adopt or upgrade the schema (``bot.state.schema``; ``upgrade=False``
    refuses to upgrade one that is behind). SQLite gets WAL and synchronous=FULL."""
    try:
        engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, SQLAlchemyError, ImportError, ValueError) as err:
        raise ConfigError(f"CHATOPS_DATABASE_URL is not usable: {err}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as err:
        raise ConfigError(f"Cannot open the database at CHATOPS_DATABASE_URL: {err}") from None
    prepare_schema(engine, upgrade=upgrade)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    # WAL survives a crash without losing committed transactions when synchronous is FULL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
