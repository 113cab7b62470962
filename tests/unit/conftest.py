"""The unit tier needs neither a Docker engine nor PostgreSQL: the shared fixtures that reach
them fail here (tests/tiers.py)."""

from tests.tiers import DATABASE, ENGINE, refusing

_UNIT = "tests/unit (no Docker, no PostgreSQL)"

sandbox = refusing("sandbox", tier=_UNIT, why=ENGINE)
api = refusing("api", tier=_UNIT, why=ENGINE)
engines = refusing("engines", tier=_UNIT, why=ENGINE)
bot = refusing("bot", tier=_UNIT, why=ENGINE)
slack_bot = refusing("slack_bot", tier=_UNIT, why=ENGINE)
module_slack_bot = refusing("module_slack_bot", tier=_UNIT, why=ENGINE)
postgres_url = refusing("postgres_url", tier=_UNIT, why=DATABASE)
database_url = refusing("database_url", tier=_UNIT, why=DATABASE)
