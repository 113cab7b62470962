"""Every core command from Slack, against the real engine, answered as Slack users see it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.conftest import TEST_IMAGE, SlackBot, serve_bot, shared_slack_bot
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.silent_listener import SilentListener


@pytest.fixture
def slack_bot(module_slack_bot: SlackBot) -> SlackBot:
    """One served bot for the module: no test here needs a fresh one (each has every answer
    before it ends)."""
    return shared_slack_bot(module_slack_bot)


def blocks_text(message: dict[str, object]) -> str:
    return json.dumps(message.get("blocks", []))


def test_run_is_posted_in_channel_with_credit(slack_bot: SlackBot, api: docker.APIClient) -> None:
    box = slack_bot.sandbox
    name = box.name("slack-run")
    ack = slack_bot.command(f"run -d --name {name} {box.label_args()} {TEST_IMAGE} sleep 60")
    assert ack.status_code == 200
    assert ack.json()["response_type"] == "ephemeral"
    assert "Working on" in ack.json()["text"]
    [posted] = slack_bot.responses()
    assert posted["response_type"] == "in_channel"
    text = blocks_text(posted)
    assert "<@U0ALICE> ran" in text and f"Started container `{name}`" in text
    assert api.inspect_container(name)["State"]["Running"]


def test_errors_are_private_and_replace_the_working_note(slack_bot: SlackBot) -> None:
    slack_bot.command("rm ghost-container-xyz")
    [posted] = slack_bot.responses()
    assert posted["response_type"] == "ephemeral"
    assert posted["replace_original"] is True
    assert "No such container: ghost-container-xyz" in blocks_text(posted)


def test_rm_stop_start_from_slack(slack_bot: SlackBot, api: docker.APIClient) -> None:
    box = slack_bot.sandbox
    name = box.name("slack-life")
    api.create_container(TEST_IMAGE, command=["sleep", "60"], name=name, labels=box.labels)
    slack_bot.command(f"start {name}", name="start")
    assert "Started" in blocks_text(slack_bot.responses("start")[0])
    assert api.inspect_container(name)["State"]["Running"]
    slack_bot.command(f"stop -t 0 {name}", name="stop")
    assert "Stopped" in blocks_text(slack_bot.responses("stop")[0])
    slack_bot.command(f"rm {name}", name="rm")
    posted = slack_bot.responses("rm")[0]
    assert posted["response_type"] == "in_channel"
    assert f"Removed `{name}`" in blocks_text(posted)
    with pytest.raises(docker.errors.NotFound):
        api.inspect_container(name)


def test_pull_shows_progress_in_one_updated_message(slack_bot: SlackBot) -> None:
    reference = f"{slack_bot.sandbox.registry}/chatops-test/busybox:1.0"
    slack_bot.command(f"pull {reference}")
    final = slack_bot.fake.wait_for(
        "chat.update", where=lambda call: "Digest" in json.dumps(call.body["blocks"])
    )[-1]
    [posted] = slack_bot.fake.of("chat.postMessage")
    assert posted.body["channel"] == "C0OPS"
    first = json.dumps(posted.body["blocks"])
    assert "Pulling" in first and "<@U0ALICE> ran" in first
    assert final.body["channel"] == "C0OPS"
    assert f"`{reference}`" in json.dumps(final.body["blocks"])
    assert all(update.body["ts"] == final.body["ts"] for update in slack_bot.fake.of("chat.update"))
    assert slack_bot.fake.of("response") == []


def test_pull_answers_by_response_url_when_the_bot_may_not_post(slack_bot: SlackBot) -> None:
    slack_bot.fake.errors["chat.postMessage"] = "not_in_channel"
    reference = f"{slack_bot.sandbox.registry}/chatops-test/busybox:1.0"
    slack_bot.command(f"pull {reference}")
    [posted] = slack_bot.responses()
    assert posted["response_type"] == "in_channel"
    assert "Digest" in blocks_text(posted)


def test_web_api_429_is_retried(slack_bot: SlackBot) -> None:
    slack_bot.fake.rate_limited["chat.postMessage"] = 1
    slack_bot.command(f"pull {slack_bot.sandbox.registry}/chatops-test/busybox:1.0")
    calls = slack_bot.fake.wait_for("chat.postMessage", count=2)
    assert len(calls) == 2
    slack_bot.fake.wait_for("chat.update", where=lambda call: "Digest" in json.dumps(call.body))


def test_logs_in_a_code_block_and_long_logs_as_a_file(slack_bot: SlackBot) -> None:
    box = slack_bot.sandbox
    name = box.name("slack-logs")
    script = "i=0; while [ $i -lt 400 ]; do echo log-line-$i-padding-padding; i=$((i+1)); done"
    slack_bot.command(
        f"run --name {name} {box.label_args()} {TEST_IMAGE} sh -c '{script}'", name="run"
    )
    slack_bot.responses("run")
    slack_bot.command(f"logs --tail 3 {name}", name="short")
    short = slack_bot.responses("short")[0]
    assert short["response_type"] == "ephemeral"
    assert "```\nlog-line-397-padding-padding\nlog-line-398" in blocks_text(short).replace(
        "\\n", "\n"
    )
    slack_bot.command(f"logs {name}", name="long")
    long = slack_bot.responses("long")[0]
    assert "log-line-399" in blocks_text(long) and "log-line-0-" not in blocks_text(long)
    opened = slack_bot.fake.wait_for("conversations.open")
    assert opened[-1].body["users"] in ("U0ALICE", ["U0ALICE"])
    upload = slack_bot.fake.wait_for("upload")[-1]
    assert "log-line-0-padding" in upload.body["raw"]
    complete = slack_bot.fake.wait_for("files.completeUploadExternal")[-1]
    assert complete.body["channel_id"] == "D0DIRECT"


def test_inspect_summary_and_redacted_file(slack_bot: SlackBot) -> None:
    box = slack_bot.sandbox
    name = box.name("slack-insp")
    slack_bot.command(
        f"run -d --name {name} {box.label_args()} -e DB_PASSWORD=hunter2 {TEST_IMAGE} sleep 60",
        name="run",
    )
    slack_bot.responses("run")
    slack_bot.command(f"inspect {name}", name="insp")
    posted = slack_bot.responses("insp")[0]
    assert "DB_PASSWORD" in blocks_text(posted)
    upload = slack_bot.fake.wait_for("upload")[-1]
    assert "DB_PASSWORD=<redacted>" in upload.body["raw"]
    slack_bot.fake.wait_for("files.completeUploadExternal")
    every_call = json.dumps([call.body for call in slack_bot.fake.calls])
    assert "hunter2" not in every_call


def test_images_table(slack_bot: SlackBot) -> None:
    slack_bot.command("images chatops-test/busybox")
    posted = slack_bot.responses()[0]
    table = next(b for b in posted["blocks"] if b["type"] == "table")
    assert [c["text"] for c in table["rows"][1]][:2] == ["chatops-test/busybox", "latest"]


def test_hostile_output_pings_nobody(slack_bot: SlackBot) -> None:
    box = slack_bot.sandbox
    # Slack sends <, > and & in command text as entities; the container gets the real text.
    slack_bot.command(
        f"run --rm {box.label_args()} {TEST_IMAGE} "
        "echo '&lt;!channel&gt; &amp; &lt;@U0BOSS&gt; ```'"
    )
    posted = slack_bot.responses()[0]
    text = blocks_text(posted)
    assert "&lt;!channel&gt; &amp; &lt;@U0BOSS&gt;" in text
    assert "<!channel>" not in text and "<@U0BOSS>" not in text


@pytest.fixture
def stalled_engine(tmp_path: Path) -> Iterator[SilentListener]:
    with SilentListener(path=tmp_path / "stalled.sock") as listener:
        yield listener


def test_a_stalled_engine_does_not_delay_acknowledgements(
    sandbox: object, fake_slack: FakeSlack, stalled_engine: SilentListener
) -> None:
    from tests.conftest import Sandbox

    assert isinstance(sandbox, Sandbox)
    stalled = Sandbox(
        docker_host=stalled_engine.url, registry=sandbox.registry, session=sandbox.session
    )
    service = serve_bot(stalled, fake_slack, engine_timeout_seconds=2, worker_threads=2)
    bot = SlackBot(service=service, fake=fake_slack, sandbox=stalled)
    try:
        for index in range(4):  # more than the worker threads
            started = time.monotonic()
            assert bot.command("ps", name=f"s{index}").status_code == 200
            assert time.monotonic() - started < 3
        posted = bot.responses("s0")[0]
        assert "did not answer in time" in blocks_text(posted)
    finally:
        stalled_engine.close()  # fails what is stuck on it: stopping need not wait it out
        service.stop()
