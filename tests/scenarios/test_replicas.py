"""Two `python -m bot serve` processes on one PostgreSQL database and the private engine behave
as one bot: an approval clicked on both executes once, a Slack event delivered to both runs
once, exactly one streams the engine's events, and when it is killed (SIGKILL) the other
takes the stream over and tells the crash that happened meanwhile, once."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
import requests

from tests.conftest import SIGNING_SECRET, TEST_IMAGE, Sandbox, empty_postgres
from tests.fakes.fake_slack import (
    FakeSlack,
    block_actions_body,
    event_body,
    mention_event,
    post_signed,
    slash_command_body,
)
from tests.serving import serve_process, stop

CHANNEL = "C0OPS"
CONFIG = f"""
[roles]
viewer = ["*"]
operator = ["U0OPS"]
admin = ["U0ADMIN"]

[approvals]
required_for = ["rm"]
approvers = ["admin"]

[notifications]
channel = "{CHANNEL}"
"""


@dataclass
class Replica:
    process: subprocess.Popen[str]
    base: str
    home: Path

    def streaming(self) -> bool:
        health = requests.get(f"{self.base}/healthz", timeout=5).json()
        return set((health.get("notifications") or {}).values()) == {"streaming"}

    def post(self, body: str) -> None:
        answer = post_signed(f"{self.base}/slack/events", body, secret=SIGNING_SECRET)
        assert answer.status_code == 200, answer.text


@pytest.fixture
def replicas(
    tmp_path: Path, sandbox: Sandbox, fake_slack: FakeSlack, postgres_url: str
) -> Iterator[list[Replica]]:
    empty_postgres(postgres_url)
    config = tmp_path / "chatops.toml"
    config.write_text(CONFIG)
    started: list[Replica] = []
    for name in ("a", "b"):
        home = tmp_path / name
        home.mkdir()
        process, base = serve_process(
            home, DOCKER_HOST=sandbox.docker_host, SLACK_API_URL=fake_slack.api_url,
            CHATOPS_CONFIG=str(config), CHATOPS_DATABASE_URL=postgres_url,
        )  # fmt: skip
        started.append(Replica(process=process, base=base, home=home))
    yield started
    for replica in started:
        if replica.process.poll() is None:
            stop(replica.process, replica.home)


def wait_until(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.2)  # polling a condition the processes bring about, not a clock


def test_two_replicas_act_as_one_bot(
    replicas: list[Replica], sandbox: Sandbox, fake_slack: FakeSlack, api: docker.APIClient
) -> None:
    a, b = replicas
    # Exactly one streams the engine (the other waits for the lease).
    wait_until(lambda: a.streaming() or b.streaming(), 60, "no replica streams the engine")
    assert not (a.streaming() and b.streaming())

    # An approval requested on one and clicked on both, at once: executed once.
    name = sandbox.name("replica-rm")
    api.create_container(TEST_IMAGE, ["true"], name=name, labels=sandbox.labels)
    a.post(slash_command_body(text=f"rm {name}", response_url=fake_slack.response_url("ask"),
                              user_id="U0OPS"))  # fmt: skip
    posted = fake_slack.wait_for("chat.postMessage", where=lambda c: "#" in str(c.body.get("text")))
    request_id = str(posted[-1].body["text"]).rsplit("#", 1)[1]
    clicks = [
        threading.Thread(target=replica.post, args=(block_actions_body(
            action_id="chatops_approve", value=request_id, user_id="U0ADMIN",
            response_url=fake_slack.response_url(f"click-{index}")),))
        for index, replica in enumerate((a, b))
    ]  # fmt: skip
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()
    fake_slack.wait_for("chat.update", where=lambda c: str(c.body.get("text")).endswith(
        f"#{request_id}: done"))  # fmt: skip
    assert not api.containers(all=True, filters={"name": name})
    # The requester hears it once; the slower click is refused (already approved, running or
    # done, depending on when it came).
    [slower] = fake_slack.wait_for("response", where=lambda c: "/click-" in c.path)
    assert re.search(r"already|running now", json.dumps(slower.body)), slower.body
    told = [c for c in fake_slack.of("chat.postEphemeral")
            if f"#{request_id} was approved and run" in json.dumps(c.body)]  # fmt: skip
    assert len(told) == 1

    # A Slack event delivered to both (a retry that landed elsewhere) runs once.
    started = sandbox.name("replica-run")
    event = mention_event(f"run -d --name {started} {sandbox.label_args()} {TEST_IMAGE} sleep 60",
                          user="U0OPS")  # fmt: skip
    a.post(event_body(event, event_id="EvReplica"))
    b.post(event_body(event, event_id="EvReplica"))
    fake_slack.wait_for("chat.postMessage", where=lambda c: f"Started container `{started}`"
                        in json.dumps(c.body))  # fmt: skip
    assert len(api.containers(all=True, filters={"name": started})) == 1

    # The streaming replica is killed; the other takes the stream over (its lease lapses) and
    # tells the crash that happened meanwhile, once.
    owner, other = (a, b) if a.streaming() else (b, a)
    owner.process.send_signal(signal.SIGKILL)
    owner.process.wait(timeout=30)
    crashed = sandbox.name("replica-crash")
    api.start(api.create_container(TEST_IMAGE, ["sh", "-c", "exit 9"], name=crashed,
                                   labels=sandbox.labels))  # fmt: skip
    notice = fake_slack.wait_for(
        "chat.postMessage", timeout=120,
        where=lambda c: str(c.body.get("text", "")).startswith(crashed),
    )  # fmt: skip
    assert "exit code 9" in notice[0].body["text"]
    assert other.streaming()
    control = sandbox.name("replica-after")  # a repeat of the first would be told by now too
    api.start(api.create_container(TEST_IMAGE, ["sh", "-c", "exit 4"], name=control,
                                   labels=sandbox.labels))  # fmt: skip
    fake_slack.wait_for("chat.postMessage", timeout=60,
                        where=lambda c: str(c.body.get("text", "")).startswith(control))  # fmt: skip
    told_crash = [c for c in fake_slack.of("chat.postMessage")
                  if str(c.body.get("text", "")).startswith(crashed)]  # fmt: skip
    assert len(told_crash) == 1
