"""`python -m bot serve`, started as a deployment would start it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import REPO, SIGNING_SECRET, Sandbox
from tests.fakes.fake_slack import FakeSlack, post_signed, slash_command_body


def environment(**values: str) -> dict[str, str]:
    keep = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DOCKER_", "CHATOPS_"))
    }
    return keep | {"PYTHONPATH": str(REPO)} | values


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_missing_credentials_stop_start_up_with_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve"], env=environment(), cwd=tmp_path,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET" in lines[0] and "README" in lines[0]


def test_serve_answers_and_stops_on_sigterm(
    tmp_path: Path, sandbox: Sandbox, fake_slack: FakeSlack
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        env=environment(
            DOCKER_HOST=sandbox.docker_host, SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake_slack.api_url,
            PORT=str(port), HOST="127.0.0.1",
        ),
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        body = slash_command_body(text="images", response_url=fake_slack.response_url("cli"))
        assert post_signed(f"{base}/slack/events", body, secret=SIGNING_SECRET).status_code == 200
        fake_slack.wait_for("response")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        output = process.stdout.read() if process.stdout else ""
    assert "Traceback" not in output


def test_pending_approval_survives_kill_9(
    tmp_path: Path, sandbox: Sandbox, fake_slack: FakeSlack
) -> None:
    """A pending request written by a process killed with SIGKILL is approved by the next."""
    import docker

    from tests.conftest import TEST_IMAGE
    from tests.fakes.fake_slack import block_actions_body

    api = docker.APIClient(base_url=sandbox.docker_host, version="auto")
    name = sandbox.name("kill9")
    api.create_container(TEST_IMAGE, command=["true"], name=name, labels=sandbox.labels)
    config = tmp_path / "chatops.toml"
    config.write_text(
        '[roles]\nviewer = ["*"]\noperator = ["U0OPS"]\nadmin = ["U0ADMIN"]\n'
        '[approvals]\nrequired_for = ["rm"]\napprovers = ["admin"]\n'
    )

    def launch() -> tuple[subprocess.Popen[str], str]:
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            env=environment(
                DOCKER_HOST=sandbox.docker_host, SLACK_BOT_TOKEN="xoxb-test",
                SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake_slack.api_url,
                PORT=str(port), HOST="127.0.0.1", CHATOPS_CONFIG=str(config),
                CHATOPS_DATABASE_URL=f"sqlite:///{tmp_path}/state.db",
            ),
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(f"{base}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        return process, base

    first, base = launch()
    try:
        body = slash_command_body(text=f"rm {name}", response_url=fake_slack.response_url("k"),
                                  user_id="U0OPS")  # fmt: skip
        post_signed(f"{base}/slack/events", body, secret=SIGNING_SECRET)
        posted = fake_slack.wait_for("chat.postMessage")[-1]
        request_id = posted.body["text"].rsplit("#", 1)[1]
        fake_slack.wait_for("response")  # the requester has been told: the request is stored
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    second, base = launch()
    try:
        click = block_actions_body(action_id="chatops_approve", value=request_id,
                                   user_id="U0ADMIN", response_url=fake_slack.response_url("c"))  # fmt: skip
        assert post_signed(f"{base}/slack/events", click, secret=SIGNING_SECRET).status_code == 200
        fake_slack.wait_for("chat.update", where=lambda c: "done" in str(c.body.get("text")))
        assert api.containers(all=True, filters={"name": name}) == []
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    verified = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "verify"], cwd=tmp_path, capture_output=True,
        text=True, timeout=60, check=False,
        env=environment(CHATOPS_DATABASE_URL=f"sqlite:///{tmp_path}/state.db"),
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    assert "Audit log intact" in verified.stdout
