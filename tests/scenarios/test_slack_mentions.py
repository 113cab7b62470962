"""`@docker ps -a` in channels and threads, and direct messages: signed Events API deliveries
against the real engine; a retried delivery runs once."""

from __future__ import annotations

import json
from collections.abc import Iterator

import docker
import pytest

from tests.conftest import SIGNING_SECRET, TEST_IMAGE, Sandbox, SlackBot, serving, shared_slack_bot
from tests.fakes.fake_slack import (
    Call,
    direct_message_event,
    event_body,
    mention_event,
    post_signed,
)

ROLES = {"viewer": ["*"], "operator": ["U0OPS"], "admin": ["U0ADMIN"]}


@pytest.fixture(scope="module")
def served(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackBot]:
    """One bot for the module: each test has its own event IDs and every answer it waits for."""
    database = tmp_path_factory.mktemp("mentions") / "m.db"
    with serving(
        sandbox,
        roles=ROLES,
        chatops_database_url=f"sqlite:///{database}",
        access={"channels": ["C0OPS", "D0ALICE", "D0OPS"]},
    ) as bot:
        yield bot


@pytest.fixture
def mention_bot(served: SlackBot) -> SlackBot:
    return shared_slack_bot(served)


def deliver(bot: SlackBot, event: dict[str, object], *, event_id: str, retry: int = 0) -> None:
    headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    answer = post_signed(
        bot.events_url,
        event_body(event, event_id=event_id),
        secret=SIGNING_SECRET,
        headers=headers if retry else None,
    )
    assert answer.status_code == 200, answer.text


def posted(bot: SlackBot, method: str, words: str, count: int = 1) -> list[Call]:
    return bot.fake.wait_for(
        method, count=count, where=lambda c: words.lower() in json.dumps(c.body).lower()
    )


def test_a_mention_in_a_thread_is_answered_in_that_thread(
    mention_bot: SlackBot, sandbox: Sandbox, api: docker.APIClient
) -> None:
    name = sandbox.name("mention-ps")
    api.create_container(TEST_IMAGE, ["true"], name=name, labels=sandbox.labels)
    # A listing stays private by default ([slack] listings_in_channel): ephemeral, in the thread.
    event = mention_event(f"ps -a --filter name={name}", thread_ts="1700000000.000050")
    deliver(mention_bot, event, event_id="EvThread")
    [answer] = posted(mention_bot, "chat.postEphemeral", name)
    assert answer.body["channel"] == "C0OPS" and answer.body["user"] == "U0ALICE"
    assert answer.body["thread_ts"] == "1700000000.000050"
    # A change is for everyone in the thread, crediting who asked.
    started = sandbox.name("mention-run")
    run = f"run -d --name {started} {sandbox.label_args()} {TEST_IMAGE} sleep 60"
    deliver(
        mention_bot,
        mention_event(run, user="U0OPS", thread_ts="1700000000.000050"),
        event_id="EvThreadRun",
    )
    [change] = posted(mention_bot, "chat.postMessage", f"Started container `{started}`")
    assert change.body["thread_ts"] == "1700000000.000050"
    assert "<@U0OPS>" in json.dumps(change.body["blocks"])


def test_a_mention_outside_a_thread_starts_one_and_links_are_read_as_typed(
    mention_bot: SlackBot, sandbox: Sandbox
) -> None:
    # Slack turns a registry host into a link in message text; the command reads as typed.
    reference = f"{sandbox.registry}/chatops-test/absent-{sandbox.session}:v1"
    host, rest = reference.split("/", 1)
    text = f"pull <http://{host}/{rest}|{reference}>"
    deliver(
        mention_bot, mention_event(text, user="U0OPS", ts="1700000300.000100"), event_id="EvLink"
    )
    answers = posted(mention_bot, "chat.postMessage", "absent-")
    assert all(call.body.get("thread_ts") == "1700000300.000100" for call in answers)
    assert reference in json.dumps([call.body for call in answers])


def test_a_retried_delivery_runs_once(
    mention_bot: SlackBot, sandbox: Sandbox, api: docker.APIClient
) -> None:
    name = sandbox.name("mention-once")
    event = mention_event(
        f"run -d --name {name} {sandbox.label_args()} {TEST_IMAGE} sleep 60", user="U0OPS"
    )
    deliver(mention_bot, event, event_id="EvOnce")
    posted(mention_bot, "chat.postMessage", f"Started container `{name}`")
    deliver(mention_bot, event, event_id="EvOnce", retry=1)
    deliver(mention_bot, event, event_id="EvOnce", retry=2)
    # Positive control: a new event after the retries is run (so the retries had their chance).
    control = sandbox.name("mention-control")
    deliver(
        mention_bot,
        mention_event(
            f"run -d --name {control} {sandbox.label_args()} {TEST_IMAGE} sleep 60", user="U0OPS"
        ),
        event_id="EvAfter",
    )
    posted(mention_bot, "chat.postMessage", f"Started container `{control}`")
    runs = [c for c in mention_bot.fake.of("chat.postMessage") if name in json.dumps(c.body)]
    assert len(runs) == 1, [c.body.get("text") for c in runs]
    assert len(api.containers(all=True, filters={"name": name})) == 1


def test_the_same_access_rules_apply(mention_bot: SlackBot, sandbox: Sandbox) -> None:
    name = sandbox.name("mention-denied")
    deliver(
        mention_bot,
        mention_event(f"run -d --name {name} {TEST_IMAGE} true", user="U0VIEW"),
        event_id="EvDenied",
    )
    [refused] = posted(mention_bot, "chat.postEphemeral", "not allowed")
    assert refused.body["user"] == "U0VIEW" and refused.body["thread_ts"]
    # A channel the bot does not serve: refused before anything is parsed.
    deliver(mention_bot, mention_event("ps", channel="C0ELSEWHERE"), event_id="EvElsewhere")
    [elsewhere] = posted(mention_bot, "chat.postEphemeral", "C0ELSEWHERE")
    assert "[access] channels" in json.dumps(elsewhere.body)
    # Bad input is answered privately, never run.
    deliver(mention_bot, mention_event("rm --bogus x"), event_id="EvBad")
    posted(mention_bot, "chat.postEphemeral", "--bogus")


def test_a_direct_message_is_a_command(
    mention_bot: SlackBot, sandbox: Sandbox, api: docker.APIClient
) -> None:
    name = sandbox.name("dm-ps")
    api.create_container(TEST_IMAGE, ["true"], name=name, labels=sandbox.labels)
    deliver(mention_bot, direct_message_event(f"ps -a --filter name={name}"), event_id="EvDm")
    [answer] = posted(mention_bot, "chat.postMessage", name)
    assert answer.body["channel"] == "D0ALICE" and not answer.body.get("thread_ts")
    # The bot's own messages (and edits) in the conversation are not commands.
    own = direct_message_event("ps") | {"bot_id": "B0BOT", "ts": "1700000400.000100"}
    deliver(mention_bot, own, event_id="EvOwn")
    deliver(mention_bot, direct_message_event(f"ps -a --filter name={name}z"), event_id="EvDm2")
    posted(mention_bot, "chat.postMessage", f"name={name}z")
    answers = [c for c in mention_bot.fake.of("chat.postMessage") if c.body["channel"] == "D0ALICE"]
    assert len(answers) == 2


def test_a_message_too_long_to_be_a_command_is_refused_not_cut(mention_bot: SlackBot) -> None:
    text = "stop " + "x" * 4100 + " web"
    deliver(mention_bot, mention_event(text), event_id="EvLong")
    posted(mention_bot, "chat.postEphemeral", "too long to be a command")
