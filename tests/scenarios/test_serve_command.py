"""`python -m bot serve`, started as a deployment would start it."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import docker
import requests

from tests.conftest import AUDIT_KEY, SIGNING_SECRET, TEST_IMAGE, Sandbox
from tests.fakes.fake_slack import (
    Call,
    FakeSlack,
    post_signed,
    slash_command_body,
    start_fake_slack,
    stop_fake_slack,
)
from tests.serving import environment, free_port, serve_process, stop


def test_missing_credentials_stop_start_up_with_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        env=environment(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
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
            DOCKER_HOST=sandbox.docker_host,
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake_slack.api_url,
            CHATOPS_PORT=str(port),
            CHATOPS_HOST="127.0.0.1",
            CHATOPS_AUDIT_KEY=AUDIT_KEY,
            CHATOPS_METRICS_HOST="127.0.0.1",
            CHATOPS_METRICS_PORT="0",
        ),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):  # ready: Slack reached and the work process started
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
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
    # Nothing a user cannot act on: no library's warnings about how the bot built it.
    warnings = [line for line in output.splitlines() if " WARNING " in line or "Warning:" in line]
    assert not warnings, warnings


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
                DOCKER_HOST=sandbox.docker_host,
                SLACK_BOT_TOKEN="xoxb-test",
                SLACK_SIGNING_SECRET=SIGNING_SECRET,
                SLACK_API_URL=fake_slack.api_url,
                CHATOPS_PORT=str(port),
                CHATOPS_HOST="127.0.0.1",
                CHATOPS_CONFIG=str(config),
                CHATOPS_DATABASE_URL=f"sqlite:///{tmp_path}/state.db",
                CHATOPS_AUDIT_KEY=AUDIT_KEY,
                CHATOPS_METRICS_HOST="127.0.0.1",
                CHATOPS_METRICS_PORT="0",
            ),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):  # ready: Slack reached and the work process started
            try:
                if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        return process, base

    first, base = launch()
    try:
        body = slash_command_body(
            text=f"rm {name}", response_url=fake_slack.response_url("k"), user_id="U0OPS"
        )
        post_signed(f"{base}/slack/events", body, secret=SIGNING_SECRET)
        posted = fake_slack.wait_for("chat.postMessage")[-1]
        approval_id = posted.body["text"].rsplit("#", 1)[1]
        fake_slack.wait_for("response")  # the requester has been told: the request is stored
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    second, base = launch()
    try:
        click = block_actions_body(
            action_id="chatops_approve",
            value=approval_id,
            user_id="U0ADMIN",
            response_url=fake_slack.response_url("c"),
        )
        assert post_signed(f"{base}/slack/events", click, secret=SIGNING_SECRET).status_code == 200
        fake_slack.wait_for("chat.update", where=lambda c: "done" in str(c.body.get("text")))
        assert api.containers(all=True, filters={"name": name}) == []
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    verified = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "verify"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment(
            CHATOPS_DATABASE_URL=f"sqlite:///{tmp_path}/state.db", CHATOPS_AUDIT_KEY=AUDIT_KEY
        ),
    )
    assert verified.returncode == 0, verified.stderr
    assert "Audit log intact" in verified.stdout


def test_a_misspelt_table_stops_start_up(tmp_path: Path) -> None:
    config = tmp_path / "chatops.toml"
    config.write_text('[acess]\nchannels = ["C0OPS"]\n')
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment(
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            CHATOPS_CONFIG=str(config),
            CHATOPS_AUDIT_KEY=AUDIT_KEY,
        ),
    )
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "unknown table 'acess' (did you mean 'access'?)" in line


def test_a_port_already_taken_stops_start_up_with_one_line(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "bot", "serve"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=environment(
                SLACK_BOT_TOKEN="xoxb-test",
                SLACK_SIGNING_SECRET=SIGNING_SECRET,
                CHATOPS_AUDIT_KEY=AUDIT_KEY,
                CHATOPS_HOST="127.0.0.1",
                CHATOPS_PORT=str(port),
                CHATOPS_METRICS_PORT="0",
                CHATOPS_DATABASE_URL=f"sqlite:///{tmp_path}/state.db",
                DOCKER_HOST=sandbox.docker_host,
            ),
        )
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()  # not a traceback
    assert f"Cannot listen on 127.0.0.1:{port} (CHATOPS_HOST, CHATOPS_PORT)" in line
    assert "already in use" in line


def test_slack_unreachable_at_start_is_retried_and_not_ready(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    slack_port = free_port()  # nothing listens here yet
    process, base = serve_process(
        tmp_path,
        started=False,
        DOCKER_HOST=sandbox.docker_host,
        SLACK_API_URL=f"http://127.0.0.1:{slack_port}/api/",
    )
    fake = None
    try:
        waiting = requests.get(f"{base}/healthz", timeout=10)
        assert waiting.status_code == 503 and waiting.json()["status"] == "starting"
        body = slash_command_body(text="ps", response_url=f"http://127.0.0.1:{slack_port}/r")
        assert post_signed(f"{base}/slack/events", body, secret=SIGNING_SECRET).status_code == 503
        deadline = time.monotonic() + 30
        while "does not answer" not in (tmp_path / "serve.log").read_text():
            assert time.monotonic() < deadline, "no word that Slack does not answer"
            time.sleep(0.1)
        fake = start_fake_slack(slack_port)
        deadline = time.monotonic() + 60
        while requests.get(f"{base}/healthz", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "never became ready once Slack answered"
            time.sleep(0.2)
        body = slash_command_body(text="images", response_url=fake.response_url("late"))
        assert post_signed(f"{base}/slack/events", body, secret=SIGNING_SECRET).status_code == 200
        fake.wait_for("response")
    finally:
        output = stop(process, tmp_path)
        if fake is not None:
            stop_fake_slack(fake)
    assert process.returncode == 0
    assert "Traceback" not in output
    retries = [line for line in output.splitlines() if "does not answer" in line]
    assert retries and all("retrying in" in line for line in retries)


def _post_raw(base: str, head: str, chunks: int, chunk: bytes) -> str:
    """Send ``head`` and up to ``chunks`` body chunks; return the status line the bot sent."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as connection:
        connection.sendall(head.encode())
        try:
            for _ in range(chunks):
                connection.sendall(chunk)
        except OSError:
            pass  # the bot closed the connection: it will not read what is left
        return connection.recv(4096).decode(errors="replace").splitlines()[0]


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


def test_oversized_bodies_are_refused_without_being_read(tmp_path: Path, sandbox: Sandbox) -> None:
    fake = start_fake_slack()
    process, base = serve_process(
        tmp_path, DOCKER_HOST=sandbox.docker_host, SLACK_API_URL=fake.api_url
    )
    try:
        before = _memory_kib(process.pid, "VmRSS")
        megabyte = b"x" * 2**20
        declared = (
            "POST /slack/events HTTP/1.1\r\nHost: bot\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {300 * 2**20}\r\n\r\n"
        )
        chunked = (
            "POST /slack/events HTTP/1.1\r\nHost: bot\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = f"{len(megabyte):x}\r\n".encode() + megabyte + b"\r\n"
        for _ in range(2):
            assert " 413 " in _post_raw(base, declared, 40, megabyte)
            assert " 413 " in _post_raw(base, chunked, 40, chunk)
        peak = _memory_kib(process.pid, "VmHWM")
        small = slash_command_body(text="images", response_url=fake.response_url("ok"))
        assert post_signed(f"{base}/slack/events", small, secret=SIGNING_SECRET).status_code == 200
    finally:
        stop(process, tmp_path)
        stop_fake_slack(fake)
    # Nothing near the 80 MiB sent per request was held: the bot's peak stayed near its size.
    assert peak - before < 32 * 1024, (before, peak)


def test_sigterm_drains_then_tells_who_waits_and_exits_promptly(
    tmp_path: Path, sandbox: Sandbox, fake_slack: FakeSlack, api: docker.APIClient
) -> None:
    """SIGTERM during a `run` that waits: no new work, the run's requester is told it was
    cut short (it may or may not have finished), and the process is gone within the drain
    plus the rest of the shutdown (10 s; 20 s allowed here for a loaded machine)."""
    config = tmp_path / "chatops.toml"
    config.write_text('[roles]\noperator = ["U0ALICE"]\n')
    process, base = serve_process(
        tmp_path,
        DOCKER_HOST=sandbox.docker_host,
        SLACK_API_URL=fake_slack.api_url,
        CHATOPS_CONFIG=str(config),
    )
    name = sandbox.name("drain")
    try:
        text = f"run --name {name} {sandbox.label_args()} {TEST_IMAGE} sleep 300"
        body = slash_command_body(text=text, response_url=fake_slack.response_url("long"))
        assert post_signed(f"{base}/slack/events", body, secret=SIGNING_SECRET).status_code == 200
        deadline = time.monotonic() + 60
        while not api.containers(filters={"name": name}):  # the run is under way
            assert time.monotonic() < deadline
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        told = fake_slack.wait_for("response", where=lambda c: c.path.endswith("/long"))
        assert "was stopped" in json.dumps([c.body for c in told]), told
    finally:
        if process.poll() is None:
            stop(process, tmp_path)
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_container(name, force=True)


def test_json_logs_one_line_per_request_with_the_id_the_user_sees(
    tmp_path: Path, sandbox: Sandbox, fake_slack: FakeSlack
) -> None:
    config = tmp_path / "chatops.toml"
    config.write_text('[roles]\noperator = ["U0ALICE"]\n')
    process, base = serve_process(
        tmp_path,
        DOCKER_HOST=sandbox.docker_host,
        SLACK_API_URL=fake_slack.api_url,
        CHATOPS_CONFIG=str(config),
        CHATOPS_LOG_FORMAT="json",
    )
    name = sandbox.name("json-secret")
    try:
        for text, url in (
            (f"rm nothing-here-{sandbox.session}", "missing"),
            (
                f"run --rm {sandbox.label_args()} -e PASSWORD=hunter2-very-secret "
                f"--name {name} {TEST_IMAGE} true",
                "secret",
            ),
        ):
            body = slash_command_body(text=text, response_url=fake_slack.response_url(url))
            assert (
                post_signed(f"{base}/slack/events", body, secret=SIGNING_SECRET).status_code == 200
            )
            fake_slack.wait_for("response", where=partial(answered_to, f"/{url}"))
    finally:
        output = stop(process, tmp_path)
    records = [json.loads(line) for line in output.splitlines() if line.strip()]
    requests_logged = [r for r in records if r["message"] == "request"]
    assert len(requests_logged) == 2
    missing = next(r for r in requests_logged if "nothing-here" in r["command"])
    assert missing["outcome"] == "error (NotFound)" and missing["process"] == "work"
    assert missing["user"] and missing["channel"] and missing["engine"] == "default"
    assert missing["duration_ms"] >= 0
    # The error the user saw names the same request ID.
    [answer] = [c.body for c in fake_slack.of("response") if c.path.endswith("/missing")]
    assert f"Request ID `{missing['request_id']}`" in json.dumps(answer)
    # No secret anywhere: not the -e value, not the token, signing secret or audit key.
    for secret in ("hunter2-very-secret", "xoxb-test", SIGNING_SECRET, AUDIT_KEY):
        assert secret not in output


def answered_to(suffix: str, call: Call) -> bool:
    return call.path.endswith(suffix)
