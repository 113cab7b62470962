"""The database tier runs the state on SQLite and on the private PostgreSQL
(``database_url``, tests/conftest.py); it needs no Docker engine (tests/tiers.py)."""

from tests.tiers import ENGINE, refusing

_DATABASE_TIER = "tests/database (PostgreSQL, no Docker)"

sandbox = refusing("sandbox", tier=_DATABASE_TIER, why=ENGINE)
api = refusing("api", tier=_DATABASE_TIER, why=ENGINE)
engines = refusing("engines", tier=_DATABASE_TIER, why=ENGINE)
bot = refusing("bot", tier=_DATABASE_TIER, why=ENGINE)
slack_bot = refusing("slack_bot", tier=_DATABASE_TIER, why=ENGINE)
module_slack_bot = refusing("module_slack_bot", tier=_DATABASE_TIER, why=ENGINE)
