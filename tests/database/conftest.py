"""The database tier runs the state on SQLite and on the private PostgreSQL
(``database_url``, tests/conftest.py); it needs no Docker engine (tests/tiers.py)."""

from tests.tiers import ENGINE, ENGINE_FIXTURES, refusing_all

_DATABASE_TIER = "tests/database (PostgreSQL, no Docker)"

globals().update(refusing_all(ENGINE_FIXTURES, tier=_DATABASE_TIER, why=ENGINE))
