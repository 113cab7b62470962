"""[notifications] quiet_hours through the Slack service on the real engine: a crash inside the
hours is held (while a restart loop, not held, is told at once) and told in one digest when
the hours end, by the service's injected clock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import docker
import pytest

from tests.conftest import TEST_IMAGE, Sandbox, SlackBot, serve_bot
from tests.fakes.fake_slack import FakeSlack

# The bot under test is told every container's events on the shared engine: alone.
pytestmark = pytest.mark.serial

CHANNEL = "C0QUIET"
NIGHT = datetime.now(UTC).replace(microsecond=0)


class Clock:
    def __init__(self) -> None:
        self.now = NIGHT

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def quiet_bot(sandbox: Sandbox, fake_slack: FakeSlack, clock: Clock) -> Iterator[SlackBot]:
    start, end = NIGHT - timedelta(hours=1), NIGHT + timedelta(hours=1)
    service = serve_bot(
        sandbox,
        fake_slack,
        clock=clock,
        notifications={
            "channel": CHANNEL,
            "quiet_hours": f"{start:%H:%M}-{end:%H:%M}",
            "quiet_events": ["crash"],
            "restart_loop": "3 in 5m",
        },
    )
    yield SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    service.stop()


def run(api: docker.APIClient, box: Sandbox, stem: str, *, restart: str | None = None) -> str:
    name = box.name(stem)
    host = api.create_host_config(restart_policy={"Name": restart} if restart else None)
    container = api.create_container(
        TEST_IMAGE,
        name=name,
        labels=box.labels,
        command=["sh", "-c", f"echo last words of {stem}; exit 3"],
        host_config=host,
    )
    api.start(container)
    return name


def streaming(bot: SlackBot) -> None:
    notices = bot.service.notices
    assert notices is not None
    deadline = time.monotonic() + 30
    while not all(notices.streaming().values()):
        assert time.monotonic() < deadline, "the bot did not stream the engine"
        time.sleep(0.05)


def named(bot: SlackBot, name: str) -> list[str]:
    return [
        str(call.body.get("text"))
        for call in bot.fake.of("chat.postMessage")
        if call.body.get("channel") == CHANNEL and name in str(call.body.get("text"))
    ]


def test_a_crash_waits_for_the_digest_and_a_loop_does_not(
    quiet_bot: SlackBot, api: docker.APIClient, clock: Clock
) -> None:
    box = quiet_bot.sandbox
    streaming(quiet_bot)
    held = run(api, box, "held")
    api.wait(held, timeout=30)
    # Positive control: a restart loop is not among quiet_events, so it is told at once; its
    # events come after the crash's on the one stream, so the crash was read (and held).
    looping = run(api, box, "loop", restart="always")
    quiet_bot.fake.wait_for(
        "chat.postMessage",
        timeout=60,
        where=lambda c: str(c.body.get("text")).startswith(f"{looping} is restarting in a loop"),
    )
    assert named(quiet_bot, held) == []
    api.remove_container(looping, force=True)

    clock.now = NIGHT + timedelta(hours=2)  # the hours end
    [digest] = quiet_bot.fake.wait_for(
        "chat.postMessage",
        timeout=30,
        where=lambda c: "While it was quiet" in str(c.body.get("text")),
    )
    text = str(digest.body.get("text"))
    assert f"{held} on default crashed" in text and digest.body["channel"] == CHANNEL
    assert [t for t in named(quiet_bot, held) if "While it was quiet" not in t] == []
