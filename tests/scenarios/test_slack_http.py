"""Serving Slack over HTTP: signed requests, quick acknowledgements, ssl_check, /healthz."""

from __future__ import annotations

import threading
import time

import docker
import pytest
import requests

from tests.conftest import (
    SIGNING_SECRET,
    TEST_IMAGE,
    Sandbox,
    SlackBot,
    serve_bot,
    shared_slack_bot,
)
from tests.fakes.fake_slack import FakeSlack, post_signed, sign, slash_command_body


@pytest.fixture
def slack_bot(module_slack_bot: SlackBot) -> SlackBot:
    """One served bot for the module: no test here needs a fresh one (each has every answer
    before it ends)."""
    return shared_slack_bot(module_slack_bot)


def test_ps_is_acknowledged_at_once_and_answered_with_a_table(
    slack_bot: SlackBot, api: docker.APIClient
) -> None:
    box = slack_bot.sandbox  # at least one container to list, whatever ran before
    api.create_container(TEST_IMAGE, command=["true"], name=box.name("listed"), labels=box.labels)
    started = time.monotonic()
    answer = slack_bot.command("ps -a")
    assert answer.status_code == 200
    assert time.monotonic() - started < 3
    [posted] = slack_bot.responses("r1")
    assert posted["response_type"] == "ephemeral"
    table = next(block for block in posted["blocks"] if block["type"] == "table")
    header = [cell["text"] for cell in table["rows"][0]]
    assert header == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]


def test_bad_input_is_answered_in_the_acknowledgement(slack_bot: SlackBot) -> None:
    answer = slack_bot.command("ps --alll")
    assert answer.status_code == 200
    body = answer.json()
    assert body["response_type"] == "ephemeral"
    text = str(body["blocks"])
    assert "Unknown option `--alll`" in text and "Did you mean `--all`?" in text
    assert "/docker ps [OPTIONS]" in text
    # The positive control, instead of waiting: a good command sent after it is answered, and
    # is the only answer there is.
    slack_bot.command("ps -a", name="control")
    slack_bot.responses("control")
    assert [c.path.rsplit("/", 1)[-1] for c in slack_bot.fake.of("response")] == ["control"]


def test_help_is_answered_in_the_acknowledgement(slack_bot: SlackBot) -> None:
    body = slack_bot.command("help run").json()
    assert "/docker run [OPTIONS] IMAGE" in str(body["blocks"])


def test_bad_signature_and_stale_timestamp_run_nothing(
    slack_bot: SlackBot, api: docker.APIClient
) -> None:
    name = slack_bot.sandbox.name("forged")
    text = f"run -d --name {name} {slack_bot.sandbox.label_args()} {TEST_IMAGE} sleep 60"
    body = slash_command_body(text=text, response_url=slack_bot.fake.response_url("forged"))
    forged = post_signed(slack_bot.events_url, body, secret="not-the-secret")
    assert forged.status_code == 401
    stale_time = int(time.time()) - 600
    stale = post_signed(
        slack_bot.events_url,
        body,
        secret=SIGNING_SECRET,
        timestamp=stale_time,
        signature=sign(SIGNING_SECRET, body, stale_time),
    )
    assert stale.status_code == 401
    unsigned = requests.post(slack_bot.events_url, data=body, timeout=10)
    assert unsigned.status_code == 401
    # The positive control: the same command, signed, does run (and is the only answer).
    signed = slash_command_body(text=text, response_url=slack_bot.fake.response_url("signed"))
    assert post_signed(slack_bot.events_url, signed, secret=SIGNING_SECRET).status_code == 200
    slack_bot.responses("signed")
    assert [c.path.rsplit("/", 1)[-1] for c in slack_bot.fake.of("response")] == ["signed"]
    assert len(api.containers(all=True, filters={"name": name})) == 1


def test_ssl_check(slack_bot: SlackBot) -> None:
    body = "ssl_check=1&token=whatever"
    answer = post_signed(slack_bot.events_url, body, secret=SIGNING_SECRET)
    assert answer.status_code == 200


def test_healthz_reports_engines(slack_bot: SlackBot) -> None:
    answer = requests.get(f"http://127.0.0.1:{slack_bot.service.port}/healthz", timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "engines": {"default": "ok"}}
    missing = requests.get(f"http://127.0.0.1:{slack_bot.service.port}/nothing", timeout=10)
    assert missing.status_code == 404


def test_a_stopped_service_leaves_no_request_threads_behind(
    sandbox: Sandbox, fake_slack: FakeSlack
) -> None:
    before = set(threading.enumerate())
    service = serve_bot(sandbox, fake_slack)
    # The control: serving, it has request threads of its own (the Slack port's, /metrics').
    started = [
        thread
        for thread in threading.enumerate()
        if thread not in before and thread.name.startswith("waitress-")
    ]
    assert started
    service.stop()
    for thread in started:
        thread.join(timeout=5)
    assert [thread.name for thread in started if thread.is_alive()] == []
