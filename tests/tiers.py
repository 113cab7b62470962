"""What each test tier may reach, and fixtures that refuse the rest.

``tests/unit`` needs neither a Docker engine nor PostgreSQL; ``tests/database`` needs
PostgreSQL, no engine; ``tests/scenarios`` needs both. A tier's conftest replaces the shared
fixtures it may not use by :func:`refusing` ones, which fail at once and name the tier the test
belongs to: a test in the wrong tier fails on every machine, not only on one without the
engine, and never starts the sandbox (the shared fixtures would).
"""

from __future__ import annotations

from typing import Any, NoReturn

import pytest

ENGINE = "it needs the sandbox engine: it belongs in tests/scenarios"
DATABASE = "it needs PostgreSQL: it belongs in tests/database"
# The shared fixtures (tests/conftest.py) that reach the sandbox engine, and PostgreSQL.
ENGINE_FIXTURES = ("sandbox", "api", "engines", "bot", "slack_bot", "module_slack_bot")
DATABASE_FIXTURES = ("postgres_url", "database_url")


def refusing(name: str, *, tier: str, why: str) -> Any:
    """A fixture called ``name`` that fails the test asking for it. Function-scoped, so that
    the failure names the test."""

    def refuse(request: pytest.FixtureRequest) -> NoReturn:
        pytest.fail(
            f"{request.node.nodeid} asks for {name!r}, which {tier} does not have; {why}.",
            pytrace=False,
        )

    return pytest.fixture(name=name)(refuse)


def refusing_all(names: tuple[str, ...], *, tier: str, why: str) -> dict[str, Any]:
    """:func:`refusing` fixtures for each of ``names``, for a tier's conftest to take in
    (``globals().update(...)``: pytest finds fixtures by the conftest's module names)."""
    return {name: refusing(name, tier=tier, why=why) for name in names}
