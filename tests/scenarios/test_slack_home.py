"""The Home tab: engines with health and version, requests waiting (Approve/Reject for
approvers), housekeeping, and the opener's role; an Approve click from the tab runs once."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.conftest import SIGNING_SECRET, TEST_IMAGE, Sandbox, SlackBot, serve_bot
from tests.fakes.fake_slack import Call, FakeSlack, event_body, post_signed

ROLES = {"viewer": ["*"], "operator": ["U0OPS"], "admin": ["U0ADMIN"]}


@pytest.fixture
def home_bot(sandbox: Sandbox, fake_slack: FakeSlack, tmp_path: Path) -> Iterator[SlackBot]:
    service = serve_bot(
        sandbox,
        fake_slack,
        roles=ROLES,
        chatops_database_url=f"sqlite:///{tmp_path}/h.db",
        approvals={"required_for": ["rm"], "approvers": ["admin"]},
    )
    yield SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    service.stop()


def open_home(bot: SlackBot, user: str) -> dict[str, Any]:
    """``app_home_opened`` for ``user``; the view the bot published for them."""
    before = len(bot.fake.of("views.publish"))
    event = {
        "type": "app_home_opened",
        "user": user,
        "channel": "D0HOME",
        "tab": "home",
        "ts": "1700000500.000100",
    }
    answer = post_signed(
        bot.events_url, event_body(event, event_id=f"EvHome{user}{before}"), secret=SIGNING_SECRET
    )
    assert answer.status_code == 200
    call: Call = bot.fake.wait_for("views.publish", count=before + 1)[-1]
    assert call.body["user_id"] == user
    view = call.body["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    return dict(view)


def buttons(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in view["blocks"] for e in b.get("elements", []) if e.get("type") == "button"]


def test_home_shows_engines_requests_housekeeping_and_role(
    home_bot: SlackBot, sandbox: Sandbox, api: docker.APIClient
) -> None:
    name = sandbox.name("home-rm")
    api.create_container(TEST_IMAGE, ["true"], name=name, labels=sandbox.labels)
    home_bot.command(f"rm {name}", name="ask", user_id="U0OPS")
    assert "Waiting for approval" in json.dumps(home_bot.responses("ask")[0])

    admin = open_home(home_bot, "U0ADMIN")
    text = json.dumps(admin)
    version = api.version()["Version"]
    assert "`default` (default)" in text and version in text and ":large_green_circle:" in text
    assert f"rm {name}" in text and "<@U0OPS>" in text
    assert "are *admin*" in text and "Housekeeping" in text
    assert {b["action_id"] for b in buttons(admin)} == {"chatops_approve", "chatops_reject"}

    viewer = json.dumps(open_home(home_bot, "U0VIEW"))
    assert "are *viewer*" in viewer and f"rm {name}" in viewer
    assert "chatops_approve" not in viewer  # only approvers get the buttons
    assert "`ps`" in viewer and "`run`" not in viewer.split("You may run:")[1].split("\\n")[0]

    # The requester does not approve their own request: no buttons for them either.
    assert "chatops_approve" not in json.dumps(open_home(home_bot, "U0OPS"))


def test_home_shows_nothing_to_someone_without_a_role(
    sandbox: Sandbox, fake_slack: FakeSlack, tmp_path: Path, api: docker.APIClient
) -> None:
    service = serve_bot(
        sandbox,
        fake_slack,
        roles={"viewer": [], "operator": ["U0OPS"], "admin": ["U0ADMIN"]},
        chatops_database_url=f"sqlite:///{tmp_path}/n.db",
        approvals={"required_for": ["rm"], "approvers": ["admin"]},
    )
    bot = SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    try:
        name = sandbox.name("home-secret")
        api.create_container(TEST_IMAGE, ["true"], name=name, labels=sandbox.labels)
        bot.command(f"rm {name}", name="ask", user_id="U0OPS")
        bot.responses("ask")
        stranger = json.dumps(open_home(bot, "U0GUEST"))
        assert "hold no role" in stranger
        assert name not in stranger and "default" not in stranger  # no requests, no engines
        assert name in json.dumps(open_home(bot, "U0ADMIN"))  # positive control
    finally:
        service.stop()


def test_approve_from_the_home_tab_runs_once_and_answers_by_dm(
    home_bot: SlackBot, sandbox: Sandbox, api: docker.APIClient
) -> None:
    name = sandbox.name("home-approve")
    api.create_container(TEST_IMAGE, ["true"], name=name, labels=sandbox.labels)
    home_bot.command(f"rm {name}", name="ask", user_id="U0OPS")
    home_bot.responses("ask")
    view = open_home(home_bot, "U0ADMIN")
    approve = next(b for b in buttons(view) if b["action_id"] == "chatops_approve")
    payload = {
        "type": "block_actions",
        "user": {"id": "U0ADMIN", "team_id": "T0FAKE"},
        "api_app_id": "A0APP",
        "token": "unused",
        "trigger_id": "1.2.3",
        "team": {"id": "T0FAKE", "domain": "fake"},
        "container": {"type": "view", "view_id": "V0HOME"},
        "view": {"id": "V0HOME", "type": "home", "blocks": view["blocks"]},
        "actions": [{**approve, "block_id": "home-request", "action_ts": "1700000600.0"}],
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    for _ in range(2):  # a double click
        assert post_signed(home_bot.events_url, body, secret=SIGNING_SECRET).status_code == 200
    home_bot.fake.wait_for("chat.update", where=lambda c: "#1: " in str(c.body.get("text")))
    assert not api.containers(all=True, filters={"name": name})
    dm = home_bot.fake.wait_for(
        "chat.postMessage", where=lambda c: c.body.get("channel") == "D0DIRECT"
    )
    assert dm  # the clicker heard back, though the tab has no response URL
