"""The version: from the package metadata, and something plain when not installed."""

from __future__ import annotations

from importlib import metadata

import pytest

import bot


def test_version_is_the_installed_distributions() -> None:
    assert bot.package_version() == metadata.version("docker-chatops-bot")


def test_version_without_an_installed_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert bot.package_version() == "unknown (not installed)"
