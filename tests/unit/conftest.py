"""The unit tier needs neither a Docker engine nor PostgreSQL: the shared fixtures that reach
them fail here (tests/tiers.py)."""

from tests.tiers import DATABASE, DATABASE_FIXTURES, ENGINE, ENGINE_FIXTURES, refusing_all

_UNIT = "tests/unit (no Docker, no PostgreSQL)"

globals().update(refusing_all(ENGINE_FIXTURES, tier=_UNIT, why=ENGINE))
globals().update(refusing_all(DATABASE_FIXTURES, tier=_UNIT, why=DATABASE))
