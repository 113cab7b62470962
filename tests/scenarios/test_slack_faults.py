"""Slack answering 429 or 5xx: retried with backoff, nothing lost, nothing sent twice."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Sandbox, SlackBot, serve_bot
from tests.fakes.fake_slack import FakeSlack


def test_a_5xx_from_the_web_api_is_retried(slack_bot: SlackBot) -> None:
    box = slack_bot.sandbox
    name = box.name("faults-ps")
    slack_bot.fake.server_errors["response"] = 2  # the response URL fails twice, then works
    slack_bot.command(f"ps -a --filter name={name}", name="flaky")
    [answer] = slack_bot.responses("flaky", count=3)[2:]
    assert "No containers" in json.dumps(answer)
    # Answered through the response URL in the end, not by a fallback message.
    assert not slack_bot.fake.of("chat.postEphemeral")


def test_a_5xx_on_chat_post_message_is_retried_once_delivered(slack_bot: SlackBot) -> None:
    from tests.conftest import SIGNING_SECRET
    from tests.fakes.fake_slack import direct_message_event, event_body, post_signed

    slack_bot.fake.server_errors["chat.postMessage"] = 2
    body = event_body(direct_message_event("images"), event_id="EvFlaky")
    assert post_signed(slack_bot.events_url, body, secret=SIGNING_SECRET).status_code == 200
    posts = slack_bot.fake.wait_for("chat.postMessage", count=3)
    assert len(posts) == 3  # two 503s, then the one that counted
    assert slack_bot.fake.server_errors["chat.postMessage"] == 0


def test_a_5xx_on_a_response_url_writes_no_response_url_to_the_log(
    capfd: pytest.CaptureFixture[str], sandbox: Sandbox, fake_slack: FakeSlack
) -> None:
    """The retry logger names the URL it retries; a response URL is a credential to post as
    the bot, so the bot's log (here: the work process's stderr) shows it redacted."""
    service = serve_bot(sandbox, fake_slack)  # started here, so its stderr is captured here
    try:
        slack_bot = SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
        fake_slack.server_errors["response"] = 2
        slack_bot.command(f"ps -a --filter name={sandbox.name('faults-log')}", name="credential")
        slack_bot.responses("credential", count=3)
    finally:
        service.stop()
    logged = capfd.readouterr().err
    # The retries were logged (the positive control), without the URL.
    assert logged.count("ServerErrorRetryHandler for POST <redacted> - HTTP Error 503") == 2
    assert fake_slack.response_url("credential") not in logged
    assert "/response/credential" not in logged
