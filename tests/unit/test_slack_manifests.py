"""The Slack app manifests in the repo: the command the bot serves, least-privilege scopes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import load_settings

SLACK = Path(__file__).resolve().parents[2] / "slack"
SCOPES = {
    "commands",
    "chat:write",
    "files:write",
    "im:write",
    "usergroups:read",
    "app_mentions:read",
    "im:history",
    "users:read",
    "channels:read",
    "groups:read",
}
EVENTS = {"app_mention", "message.im", "app_home_opened"}


def manifest(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((SLACK / name).read_text()))


@pytest.mark.parametrize(
    ("name", "socket_mode"), [("manifest.http.yml", False), ("manifest.socket.yml", True)]
)
def test_manifest(name: str, socket_mode: bool) -> None:
    data = manifest(name)
    [command] = data["features"]["slash_commands"]
    assert command["command"] == load_settings(_env_file=None).slack_command
    assert command["usage_hint"] and command["description"]
    assert set(data["oauth_config"]["scopes"]["bot"]) == SCOPES
    assert data["settings"]["socket_mode_enabled"] is socket_mode
    assert data["settings"]["interactivity"]["is_enabled"] is True
    # Exactly the events the bot listens to (bot/slack/app.py), nothing more.
    assert set(data["settings"]["event_subscriptions"]["bot_events"]) == EVENTS
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    assert data["features"]["app_home"]["messages_tab_enabled"] is True
    assert ("request_url" in data["settings"]["event_subscriptions"]) is not socket_mode
    assert ("url" in command) is not socket_mode
    if not socket_mode:
        assert command["url"].endswith("/slack/events")
        assert data["settings"]["interactivity"]["request_url"].endswith("/slack/events")
