"""[[freeze]] windows from Slack, against the real engine: a change inside a window is refused
with the reason and the end, a read is not, and the same change outside the window runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import docker
import pytest

from tests.conftest import TEST_IMAGE, Sandbox, SlackBot, serve_bot
from tests.fakes.fake_slack import FakeSlack

# A window in force for the whole test, whenever it runs; it holds one of two engines that
# are the same sandbox, so the same stop on the other one is the positive control.
START = datetime.now(UTC) - timedelta(hours=1)
END = START + timedelta(hours=3)


@pytest.fixture
def frozen_bot(sandbox: Sandbox, fake_slack: FakeSlack) -> Iterator[SlackBot]:
    service = serve_bot(
        sandbox,
        fake_slack,
        roles={"viewer": ["*"], "operator": ["U0OPS"], "admin": ["U0ADMIN"]},
        engines={
            "local": {"url": sandbox.docker_host, "default": True},
            "prod": {"url": sandbox.docker_host},
        },
        freeze=[
            {
                "reason": "release in progress",
                "start": START.isoformat(),
                "end": END.isoformat(),
                "engines": ["prod"],
                "actions": ["stop", "restart"],
            }
        ],
    )
    yield SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    service.stop()


def answer(bot: SlackBot, text: str, *, user: str, name: str) -> str:
    bot.command(text, name=name, user_id=user, channel_id="C0OPS")
    return json.dumps(bot.responses(name)[0])


def test_a_stop_inside_a_window_is_refused_and_reads_are_not(
    frozen_bot: SlackBot, api: docker.APIClient
) -> None:
    box = frozen_bot.sandbox
    name = box.name("held")
    api.start(
        api.create_container(TEST_IMAGE, command=["sleep", "60"], name=name, labels=box.labels)
    )
    refused = answer(frozen_bot, f"-c prod stop -t 0 {name}", user="U0OPS", name="stop-prod")
    assert (
        f"changes are frozen until {END:%Y-%m-%d %H:%M} UTC: release in progress ([[freeze]])"
        in refused
    )
    assert api.inspect_container(name)["State"]["Running"] is True
    admin = answer(frozen_bot, f"-c prod stop -t 0 {name}", user="U0ADMIN", name="stop-admin")
    assert "changes are frozen until" in admin  # admins too, for now
    assert api.inspect_container(name)["State"]["Running"] is True
    listing = answer(frozen_bot, "-c prod ps", user="U0OPS", name="ps-prod")
    assert name in listing and "frozen until" not in listing
    # Positive control: the same stop where no window holds it runs.
    stopped = answer(frozen_bot, f"-c local stop -t 0 {name}", user="U0OPS", name="stop-local")
    assert "Stopped" in stopped and "frozen until" not in stopped
    assert api.inspect_container(name)["State"]["Running"] is False
