"""``GET /metrics`` on its own port (``CHATOPS_METRICS_PORT``): what Prometheus sees after real
commands, clicks and Slack faults; never on the Slack port; a port it cannot bind is told and
the bot serves on."""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import requests

from tests.conftest import SIGNING_SECRET, TEST_IMAGE, Sandbox, SlackBot, serve_bot
from tests.fakes.fake_slack import (
    FakeSlack,
    block_actions_body,
    post_signed,
    start_fake_slack,
    stop_fake_slack,
)

ROLES = {"viewer": ["*"], "operator": ["U0OPS"], "admin": ["U0ADMIN", "U0SECOND"]}


@pytest.fixture
def metered(sandbox: Sandbox, fake_slack: FakeSlack, tmp_path: Path) -> Iterator[SlackBot]:
    service = serve_bot(
        sandbox,
        fake_slack,
        roles=ROLES,
        chatops_database_url=f"sqlite:///{tmp_path}/m.db",
        approvals={"required_for": ["rm"], "approvers": ["admin"]},
    )
    yield SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    service.stop()


def scrape(bot: SlackBot) -> str:
    answer = requests.get(f"http://127.0.0.1:{bot.service.metrics_port}/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    return answer.text


def value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels}`` (labels in any order), or 0 if absent."""
    for line in text.splitlines():
        match = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(key) == wanted for key, wanted in labels.items()):
            return float(match.group(3))
    return 0.0


def test_commands_latencies_engines_and_approvals_are_counted(
    metered: SlackBot, sandbox: Sandbox, api: docker.APIClient
) -> None:
    before = scrape(metered)
    assert value(before, "chatops_engine_up", engine="default") == 1.0
    assert value(before, "chatops_commands_total", action="ps", outcome="ok") == 0
    metered.command("ps -a", name="ps")
    metered.responses("ps")
    metered.command("rm nothing-at-all-here", name="rm", user_id="U0OPS")
    metered.responses("rm")
    name = sandbox.name("metered")
    api.create_container(TEST_IMAGE, ["true"], name=name, labels=sandbox.labels)
    metered.command(f"rm {name}", name="ask", user_id="U0OPS")
    metered.responses("ask")
    posted = metered.fake.wait_for("chat.postMessage")[-1]
    approval_id = str(posted.body["text"]).rsplit("#", 1)[1]
    click = block_actions_body(
        action_id="chatops_approve",
        value=approval_id,
        user_id="U0ADMIN",
        response_url=metered.fake.response_url("ok"),
    )
    post_signed(metered.events_url, click, secret=SIGNING_SECRET)
    metered.fake.wait_for("chat.update", where=lambda c: f"#{approval_id}: " in str(c.body))

    after = scrape(metered)
    # The work process's counts reach the front's /metrics.
    assert value(after, "chatops_commands_total", action="ps", outcome="ok") == 1
    assert value(after, "chatops_commands_total", action="rm", outcome="approval") == 1
    assert value(after, "chatops_commands_total", action="rm", outcome="error") == 1
    assert value(after, "chatops_command_seconds_count", action="ps") == 1
    assert value(after, "chatops_ack_seconds_count") >= 4
    assert value(after, "chatops_approvals_total", outcome="executed") == 1


def test_slack_errors_and_retries_are_counted(metered: SlackBot) -> None:
    metered.fake.rate_limited["chat.postMessage"] = 1
    metered.fake.errors["chat.postEphemeral"] = "not_in_channel"
    metered.service.metrics.count("unknown")  # a name nobody declared is ignored
    from tests.fakes.fake_slack import direct_message_event, event_body

    body = event_body(direct_message_event("images"), event_id="EvMetrics")
    assert post_signed(metered.events_url, body, secret=SIGNING_SECRET).status_code == 200
    metered.fake.wait_for("chat.postMessage", count=2)
    body = event_body(
        direct_message_event("bogus-command", channel="C0OPS") | {"channel_type": "im"},
        event_id="EvMetrics2",
    )
    post_signed(metered.events_url, body, secret=SIGNING_SECRET)
    metered.fake.wait_for("chat.postEphemeral")
    # The error is counted once Slack's answer is read, after the fake saw the call (and, from
    # the work process, sent over its pipe): scrape until it shows, a bounded number of times.
    for _ in range(100):
        text = scrape(metered)
        errors = value(
            text,
            "chatops_slack_api_errors_total",
            method="chat.postEphemeral",
            error="not_in_channel",
        )
        if errors >= 1:
            break
        time.sleep(0.05)  # waiting for the count to arrive, not for time to pass
    assert value(text, "chatops_slack_api_retries_total", reason="rate_limited") >= 1
    assert errors >= 1


def test_metrics_are_not_on_the_slack_port(metered: SlackBot) -> None:
    slack_port, metrics_port = metered.service.port, metered.service.metrics_port
    assert metrics_port is not None and metrics_port != slack_port
    assert "chatops_engine_up" in scrape(metered)  # positive control: served on its own port
    on_slack = requests.get(f"http://127.0.0.1:{slack_port}/metrics", timeout=10)
    assert on_slack.status_code == 404 and "chatops_" not in on_slack.text
    # ...and the metrics port serves nothing but /metrics.
    for path in ("/slack/events", "/healthz", "/"):
        assert requests.get(f"http://127.0.0.1:{metrics_port}{path}", timeout=10).status_code == 404


def test_a_port_that_cannot_be_bound_is_told_and_the_bot_serves_on(
    sandbox: Sandbox, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.ERROR, logger="bot.metrics_server"):
            service = serve_bot(sandbox, fake_slack, chatops_metrics_port=port)
        bot = SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
        try:
            assert service.metrics_port is None
            [record] = [r for r in caplog.records if r.name == "bot.metrics_server"]
            assert record.levelno == logging.ERROR
            assert f"cannot listen on 127.0.0.1:{port}" in record.getMessage()
            base = f"http://127.0.0.1:{service.port}"
            live = requests.get(f"{base}/livez", timeout=10)
            assert live.status_code == 200
            assert live.json() == {"status": "alive", "metrics": "unavailable"}
            ready = requests.get(f"{base}/readyz", timeout=10)
            assert ready.status_code == 200 and ready.json()["metrics"] == "unavailable"
            bot.command("images", name="still")  # and Slack is served as ever
            assert bot.responses("still")
        finally:
            service.stop()


def test_metrics_off(sandbox: Sandbox, fake_slack: FakeSlack) -> None:
    service = serve_bot(sandbox, fake_slack, chatops_metrics_port="off")
    try:
        assert service.metrics_port is None
        live = requests.get(f"http://127.0.0.1:{service.port}/livez", timeout=10)
        assert live.json() == {"status": "alive"}  # off is a choice, not a failure
    finally:
        service.stop()


def test_serve_process_serves_metrics_on_the_metrics_port(tmp_path: Path, sandbox: Sandbox) -> None:
    from tests.serving import free_port, serve_process, stop

    fake = start_fake_slack()
    metrics_port = free_port()
    process, base = serve_process(
        tmp_path,
        DOCKER_HOST=sandbox.docker_host,
        SLACK_API_URL=fake.api_url,
        CHATOPS_METRICS_PORT=str(metrics_port),
    )
    try:
        deadline = time.monotonic() + 60
        while requests.get(f"{base}/readyz", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "never ready"
            time.sleep(0.1)
        scraped = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
        assert scraped.status_code == 200 and "chatops_engine_up" in scraped.text
        assert requests.get(f"{base}/metrics", timeout=10).status_code == 404
    finally:
        output = stop(process, tmp_path)
        stop_fake_slack(fake)
    assert f"metrics on http://127.0.0.1:{metrics_port}/metrics" in output
