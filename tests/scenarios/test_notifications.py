"""Team notifications: what happens on the private engine reaches the fake Slack, through the
real ``python -m bot serve``, once and readably; its buttons act as the person who clicks."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from tests.conftest import SIGNING_SECRET, TEST_IMAGE, Sandbox
from tests.fakes.fake_slack import Call, FakeSlack, block_actions_body, post_signed
from tests.fakes.socket_relay import SocketRelay
from tests.serving import serve_process, stop

# The bot under test is told every container's events on the shared engine: alone.
pytestmark = pytest.mark.serial

CHANNEL = "C0ALERTS"
CONFIG = f"""
[roles]
viewer = ["*"]
operator = ["U0OPS"]
admin = ["U0ADMIN"]

[notifications]
channel = "{CHANNEL}"
exclude = ["*-noisy*"]
group_window = "10m"
restart_loop = "3 in 5m"
"""


@dataclass
class NotifyingBot:
    base: str
    fake: FakeSlack
    api: docker.APIClient
    sandbox: Sandbox

    def streaming(self, timeout: float = 60) -> None:
        """Wait until the bot streams the engine's events (``/healthz`` says so)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = requests.get(f"{self.base}/healthz", timeout=5).json()
            if set((health.get("notifications") or {}).values()) == {"streaming"}:
                return
            time.sleep(0.1)
        raise AssertionError(f"not streaming: {health}")

    def crash(
        self,
        stem: str,
        *,
        code: int = 3,
        labels: dict[str, str] | None = None,
        restart: str | None = None,
        script: str | None = None,
    ) -> str:
        """Run a container that prints a line and exits ``code``; its name."""
        name = self.sandbox.name(stem)
        host = self.api.create_host_config(restart_policy={"Name": restart} if restart else None)
        container = self.api.create_container(
            TEST_IMAGE,
            name=name,
            labels=self.sandbox.labels | (labels or {}),
            command=["sh", "-c", script or f"echo last words of {stem}; exit {code}"],
            host_config=host,
        )
        self.api.start(container)
        return name

    def posts(self, name: str) -> list[Call]:
        """Top-level messages in the notification channel that name ``name``: its notices
        and any engine notice that lists it."""
        return [
            call
            for call in self.fake.of("chat.postMessage")
            if call.body.get("channel") == CHANNEL
            and not call.body.get("thread_ts")
            and name in str(call.body.get("text"))
        ]

    def wait_post(self, name: str, timeout: float = 30) -> Call:
        """The notice about ``name`` (not an engine notice that lists it)."""
        return self.fake.wait_for(
            "chat.postMessage",
            timeout=timeout,
            where=lambda c: (
                c.body.get("channel") == CHANNEL
                and not c.body.get("thread_ts")
                and str(c.body.get("text")).startswith(name + " ")
            ),
        )[0]

    def wait_text(self, words: str, timeout: float = 60) -> Call:
        return self.fake.wait_for(
            "chat.postMessage",
            timeout=timeout,
            where=lambda c: c.body.get("channel") == CHANNEL and words in str(c.body.get("text")),
        )[0]


@pytest.fixture
def start_bot(
    tmp_path: Path, sandbox: Sandbox, fake_slack: FakeSlack, api: docker.APIClient
) -> Iterator[Callable[..., NotifyingBot]]:
    processes = []

    def start(docker_host: str | None = None) -> NotifyingBot:
        config = tmp_path / "chatops.toml"
        config.write_text(CONFIG)
        process, base = serve_process(
            tmp_path,
            DOCKER_HOST=docker_host or sandbox.docker_host,
            SLACK_API_URL=fake_slack.api_url,
            CHATOPS_CONFIG=str(config),
        )
        processes.append(process)
        bot = NotifyingBot(base=base, fake=fake_slack, api=api, sandbox=sandbox)
        bot.streaming()
        return bot

    yield start
    for process in processes:
        stop(process, tmp_path)


def _blocks_text(call: Call) -> str:
    return json.dumps(call.body.get("blocks"))


def _button(call: Call, action_id: str) -> dict[str, Any]:
    blocks = call.body["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return dict(element)
    raise AssertionError(f"no {action_id} button in {blocks}")


def test_a_crash_is_told_once_with_its_exit_code_and_last_log_line(
    start_bot: Callable[..., NotifyingBot],
) -> None:
    bot = start_bot()
    clean = bot.crash("clean", code=0)
    crashed = bot.crash("crash", code=3)
    message = bot.wait_post(crashed)
    assert "exit code 3" in message.body["text"]
    assert "last words of crash" in _blocks_text(message)
    assert _button(message, "chatops_notice_logs")["value"]
    # The clean exit happened first: had it been told, it would be here by now.
    assert bot.posts(clean) == []
    assert len(bot.posts(crashed)) == 1


def test_a_crash_loop_is_one_message_that_is_updated(
    start_bot: Callable[..., NotifyingBot],
) -> None:
    bot = start_bot()
    looping = bot.crash("loop", code=1, restart="always")
    bot.wait_post(looping)
    bot.fake.wait_for(
        "chat.update",
        timeout=60,
        where=lambda c: str(c.body.get("text")).startswith(f"{looping} is restarting in a loop"),
    )
    # More crashes after the loop was told: still the one message, counting up.
    counts = [0]

    def counted(call: Call) -> bool:
        text = str(call.body.get("text"))
        if looping not in text or "times" not in text:
            return False
        counts.append(int(text.rsplit(", ", 1)[1].split(" ")[0]))
        return max(counts) >= 5

    bot.fake.wait_for("chat.update", timeout=60, where=counted)
    bot.api.remove_container(looping, force=True)
    assert len(bot.posts(looping)) == 1
    threads = [c for c in bot.fake.of("chat.postMessage") if c.body.get("thread_ts")]
    assert any(looping in str(c.body.get("text")) for c in threads)


def test_quiet_label_and_exclude_are_never_told(start_bot: Callable[..., NotifyingBot]) -> None:
    bot = start_bot()
    quiet = bot.crash("quiet", labels={"chatops.quiet": "true"})
    noisy = bot.crash("app-noisy")
    control = bot.crash("control")  # after both: once it is told, they would have been too
    bot.wait_post(control)
    assert bot.posts(quiet) == []
    assert bot.posts(noisy) == []


def test_buttons_run_as_the_person_who_clicks(
    start_bot: Callable[..., NotifyingBot], fake_slack: FakeSlack
) -> None:
    bot = start_bot()
    name = bot.crash("buttons", code=3)
    message = bot.wait_post(name)

    def click(action_id: str, user: str, response: str) -> dict[str, Any]:
        button = _button(message, action_id)
        body = block_actions_body(
            action_id=action_id,
            value=button["value"],
            user_id=user,
            channel_id=CHANNEL,
            response_url=fake_slack.response_url(response),
            message_ts=str(message.body.get("ts", "1700000000.000001")),
        )
        answer = post_signed(f"{bot.base}/slack/events", body, secret=SIGNING_SECRET)
        assert answer.status_code == 200
        return fake_slack.wait_for("response", where=lambda c: c.path.endswith(f"/{response}"))[
            0
        ].body

    logs = click("chatops_notice_logs", "U0VIEWER", "logs")
    assert "last words of buttons" in json.dumps(logs)
    assert logs.get("replace_original") in (False, "false", None)
    before = bot.api.inspect_container(name)["State"]["StartedAt"]
    refused = click("chatops_notice_restart", "U0VIEWER", "refused")
    assert "not allowed" in json.dumps(refused).lower()
    assert bot.api.inspect_container(name)["State"]["StartedAt"] == before
    restarted = click("chatops_notice_restart", "U0OPS", "restarted")
    assert "Restarted" in json.dumps(restarted), restarted
    assert bot.api.inspect_container(name)["State"]["StartedAt"] != before


def test_a_crash_while_the_stream_is_cut_is_told_once_after_the_reconnect(
    start_bot: Callable[..., NotifyingBot], tmp_path: Path, sandbox: Sandbox
) -> None:
    relay = SocketRelay(path=tmp_path / "engine.sock", target=sandbox.docker_host)
    try:
        bot = start_bot(docker_host=relay.url)
        relay.cut()  # the bot's connection drops; the engine runs on
        # Its reconnect fails: down. (Without waiting for this, a quick crash and resume
        # would let the first reconnect through: nothing would have been lost.)
        bot.wait_text("is unreachable")
        crashed = bot.crash("while-cut", code=7)
        deadline = time.monotonic() + 30
        while bot.api.inspect_container(crashed)["State"]["Running"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        relay.resume()
        message = bot.wait_post(crashed, timeout=60)
        assert "exit code 7" in message.body["text"]
        bot.streaming()
        control = bot.crash("after-cut")  # told after the replay: a repeat would be here too
        bot.wait_post(control)
        notices = [c for c in bot.posts(crashed) if str(c.body["text"]).startswith(crashed)]
        assert len(notices) == 1
        # Told by its own notice, so the "back" notice does not list it again.
        back = bot.wait_text("reachable again")
        assert crashed not in back.body["text"]
    finally:
        relay.cut()


def test_the_engine_stopped_and_started_is_told_unreachable_then_back(
    start_bot: Callable[..., NotifyingBot], tmp_path: Path, sandbox: Sandbox
) -> None:
    """An engine restart as the bot sees it, played on the relay (the shared engine is never
    signalled): its containers stop, its socket goes away, and comes back. The resume after
    it (the events since the loss, then the containers) asks the real engine."""
    relay = SocketRelay(path=tmp_path / "engine.sock", target=sandbox.docker_host)
    try:
        bot = start_bot(docker_host=relay.url)
        sleeper = bot.crash("sleeper", script="sleep 600")
        # The shutdown: containers stop first, and the bot sees them stop before the socket
        # goes. A crash after the stop, once told, shows that the stop was seen too (events
        # come in order).
        bot.api.kill(sleeper)
        seen = bot.crash("seen")
        bot.wait_post(seen)
        relay.cut()  # the socket goes away
        down = bot.wait_text("is unreachable")
        assert "Events on it will be told when it is back" in down.body["text"]
        relay.resume()  # the engine is back
        back = bot.wait_text("reachable again", timeout=90)
        assert (
            len(
                [
                    c
                    for c in bot.fake.of("chat.postMessage")
                    if "is unreachable" in str(c.body.get("text"))
                ]
            )
            == 1
        )
        # What happened in between: the engine's shutdown stopped the sleeper.
        assert sleeper in back.body["text"], back.body["text"]
        assert "No longer running since then" in back.body["text"]
    finally:
        relay.cut()
