"""Two `python -m bot serve` processes on one PostgreSQL database and the private engine behave
as one bot: an approval clicked on both executes once, a Slack event delivered to both runs
once, exactly one streams the engine's events, and when it is killed (SIGKILL) the other
takes the stream over and tells the crash that happened meanwhile, once."""

from __future__ import annotations

import contextlib
import json
import os
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
    Call,
    FakeSlack,
    block_actions_body,
    event_body,
    mention_event,
    post_signed,
    slash_command_body,
)
from tests.fakes.socket_relay import SocketRelay
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
failover = "6s"
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
            home,
            DOCKER_HOST=sandbox.docker_host,
            SLACK_API_URL=fake_slack.api_url,
            CHATOPS_CONFIG=str(config),
            CHATOPS_DATABASE_URL=postgres_url,
        )
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


# Its bots are told every container's events on the shared engine: alone.
@pytest.mark.serial
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
    a.post(
        slash_command_body(
            text=f"rm {name}", response_url=fake_slack.response_url("ask"), user_id="U0OPS"
        )
    )
    posted = fake_slack.wait_for("chat.postMessage", where=lambda c: "#" in str(c.body.get("text")))
    approval_id = str(posted[-1].body["text"]).rsplit("#", 1)[1]
    clicks = [
        threading.Thread(
            target=replica.post,
            args=(
                block_actions_body(
                    action_id="chatops_approve",
                    value=approval_id,
                    user_id="U0ADMIN",
                    response_url=fake_slack.response_url(f"click-{index}"),
                ),
            ),
        )
        for index, replica in enumerate((a, b))
    ]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()
    fake_slack.wait_for(
        "chat.update", where=lambda c: str(c.body.get("text")).endswith(f"#{approval_id}: done")
    )
    assert not api.containers(all=True, filters={"name": name})
    # The requester hears it once; the slower click is refused (already approved, running or
    # done, depending on when it came).
    [slower] = fake_slack.wait_for("response", where=lambda c: "/click-" in c.path)
    assert re.search(r"already|running now", json.dumps(slower.body)), slower.body

    def told_requester(call: Call) -> bool:
        return f"#{approval_id} was approved and run" in json.dumps(call.body)

    # Told after the execution, by whichever replica ran it: waited for, not looked for.
    fake_slack.wait_for("chat.postEphemeral", where=told_requester)

    # A Slack event delivered to both (a retry that landed elsewhere) runs once.
    started = sandbox.name("replica-run")
    event = mention_event(
        f"run -d --name {started} {sandbox.label_args()} {TEST_IMAGE} sleep 60", user="U0OPS"
    )
    a.post(event_body(event, event_id="EvReplica"))
    b.post(event_body(event, event_id="EvReplica"))
    fake_slack.wait_for(
        "chat.postMessage", where=lambda c: f"Started container `{started}`" in json.dumps(c.body)
    )
    assert len(api.containers(all=True, filters={"name": started})) == 1

    # The streaming replica is killed; the other takes the stream over (its lease lapses after
    # the configured failover, 6 s) and
    # tells the crash that happened meanwhile, once.
    owner, other = (a, b) if a.streaming() else (b, a)
    owner.process.send_signal(signal.SIGKILL)
    owner.process.wait(timeout=30)
    crashed = sandbox.name("replica-crash")
    api.start(
        api.create_container(
            TEST_IMAGE, ["sh", "-c", "exit 9"], name=crashed, labels=sandbox.labels
        )
    )
    notice = fake_slack.wait_for(
        "chat.postMessage",
        timeout=120,
        where=lambda c: str(c.body.get("text", "")).startswith(crashed),
    )
    assert "exit code 9" in notice[0].body["text"]
    assert other.streaming()
    control = sandbox.name("replica-after")  # a repeat of the first would be told by now too
    api.start(
        api.create_container(
            TEST_IMAGE, ["sh", "-c", "exit 4"], name=control, labels=sandbox.labels
        )
    )
    fake_slack.wait_for(
        "chat.postMessage",
        timeout=60,
        where=lambda c: str(c.body.get("text", "")).startswith(control),
    )
    told_crash = [
        c
        for c in fake_slack.of("chat.postMessage")
        if str(c.body.get("text", "")).startswith(crashed)
    ]
    assert len(told_crash) == 1
    # Long after the approval ran (two crashes told since), its requester was told once.
    assert len([c for c in fake_slack.of("chat.postEphemeral") if told_requester(c)]) == 1


# U0OPS may ask for `rm`, which waits for U0ADMIN's approval.
RM_NEEDS_AN_ADMIN = (
    '[roles]\nviewer = ["*"]\noperator = ["U0OPS"]\nadmin = ["U0ADMIN"]\n'
    '[approvals]\nrequired_for = ["rm"]\napprovers = ["admin"]\n'
)


def approve_rm_on_a_hung_engine(
    base: str, fake_slack: FakeSlack, relay: SocketRelay, name: str
) -> int:
    """U0OPS asks ``serve`` at ``base`` for `rm name`; the engine behind ``relay`` then hangs,
    and U0ADMIN approves: the execution starts and waits on the engine. Returns the request's
    number."""
    post_signed(
        f"{base}/slack/events",
        slash_command_body(
            text=f"rm {name}", response_url=fake_slack.response_url("ask"), user_id="U0OPS"
        ),
        secret=SIGNING_SECRET,
    )
    posted = fake_slack.wait_for("chat.postMessage", where=lambda c: "#" in str(c.body.get("text")))
    approval_id = int(str(posted[-1].body["text"]).rsplit("#", 1)[1])
    relay.stall()
    post_signed(
        f"{base}/slack/events",
        block_actions_body(
            action_id="chatops_approve",
            value=str(approval_id),
            user_id="U0ADMIN",
            response_url=fake_slack.response_url("click"),
        ),
        secret=SIGNING_SECRET,
    )
    return approval_id


def test_kill_9_during_an_approved_execution_is_reported_interrupted_not_run_again(
    tmp_path: Path, sandbox: Sandbox, fake_slack: FakeSlack, api: docker.APIClient
) -> None:
    from sqlalchemy import create_engine, select

    from bot.state.tables import approvals

    config = tmp_path / "chatops.toml"
    config.write_text(RM_NEEDS_AN_ADMIN + 'interrupted_after = "2s"\n')
    database = f"sqlite:///{tmp_path}/state.db"
    relay = SocketRelay(path=tmp_path / "engine.sock", target=sandbox.docker_host)
    first_home, second_home = tmp_path / "first", tmp_path / "second"
    first_home.mkdir()
    second_home.mkdir()
    first, base = serve_process(
        first_home,
        DOCKER_HOST=relay.url,
        CHATOPS_CONFIG=str(config),
        SLACK_API_URL=fake_slack.api_url,
        CHATOPS_DATABASE_URL=database,
    )
    second = None
    name = sandbox.name("interrupted")
    try:
        api.create_container(TEST_IMAGE, ["true"], name=name, labels=sandbox.labels)
        approval_id = str(approve_rm_on_a_hung_engine(base, fake_slack, relay, name))
        state = create_engine(database)

        def executing() -> bool:
            with state.connect() as connection:
                found = connection.execute(
                    select(approvals.c.state).where(approvals.c.id == int(approval_id))
                ).scalar_one()
            return str(found) == "executing"

        wait_until(executing, 60, "the approved plan did not start executing")
        # The crash: the front and its work process, killed outright.
        children = children_of(first.pid)
        assert children, "the work process runs the execution"
        first.send_signal(signal.SIGKILL)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        first.wait(timeout=30)
        relay.flow()
        second, _ = serve_process(
            second_home,
            DOCKER_HOST=sandbox.docker_host,
            CHATOPS_CONFIG=str(config),
            SLACK_API_URL=fake_slack.api_url,
            CHATOPS_DATABASE_URL=database,
        )
        fake_slack.wait_for(
            "chat.update",
            timeout=90,
            where=lambda c: str(c.body.get("text")).endswith(f"#{approval_id}: interrupted"),
        )
        # Neither lost nor run twice: reported, and the container is still there.
        api.inspect_container(name)
        with state.connect() as connection:
            final = connection.execute(
                select(approvals.c.state).where(approvals.c.id == int(approval_id))
            ).scalar_one()
        assert str(final) == "interrupted"
        state.dispose()
    finally:
        relay.stop()
        for process, home in ((first, first_home), (second, second_home)):
            if process is not None and process.poll() is None:
                stop(process, home)
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_container(name, force=True)


def test_an_approved_execution_in_the_work_process_keeps_its_lease_while_it_runs(
    tmp_path: Path, sandbox: Sandbox, fake_slack: FakeSlack, api: docker.APIClient
) -> None:
    """The work process runs approved plans and renews their leases: before, only the front
    renewed its own, so the front's sweep reported any plan running longer than
    interrupted_after (60 s) as interrupted while it still ran."""
    from sqlalchemy import create_engine, select

    from bot.state.tables import approval_executions, approvals

    config = tmp_path / "chatops.toml"
    config.write_text(RM_NEEDS_AN_ADMIN)
    database = f"sqlite:///{tmp_path}/state.db"
    relay = SocketRelay(path=tmp_path / "engine.sock", target=sandbox.docker_host)
    process, base = serve_process(
        tmp_path,
        DOCKER_HOST=relay.url,
        CHATOPS_CONFIG=str(config),
        SLACK_API_URL=fake_slack.api_url,
        CHATOPS_DATABASE_URL=database,
    )
    name = sandbox.name("leased")
    state = create_engine(database)
    try:
        api.create_container(TEST_IMAGE, ["true"], name=name, labels=sandbox.labels)
        approval_id = approve_rm_on_a_hung_engine(base, fake_slack, relay, name)

        def heartbeats() -> list[object]:
            with state.connect() as connection:
                return list(
                    connection.execute(
                        select(approval_executions.c.heartbeat_at).where(
                            approval_executions.c.approval_id == approval_id
                        )
                    ).scalars()
                )

        wait_until(lambda: bool(heartbeats()), 60, "the approved plan did not start executing")
        [taken] = heartbeats()
        # Renewed while the plan waits on the engine (every 5 s): the lease of a live process.
        wait_until(lambda: heartbeats() != [taken], 30, "the execution's lease was not renewed")
        relay.flow()
        fake_slack.wait_for(
            "chat.update",
            timeout=60,
            where=lambda c: str(c.body.get("text")).endswith(f"#{approval_id}: done"),
        )
        with state.connect() as connection:
            final = connection.execute(
                select(approvals.c.state).where(approvals.c.id == approval_id)
            ).scalar_one()
        assert str(final) == "done"
        with pytest.raises(docker.errors.NotFound):
            api.inspect_container(name)
    finally:
        state.dispose()
        relay.stop()
        if process.poll() is None:
            stop(process, tmp_path)
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_container(name, force=True)


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found
