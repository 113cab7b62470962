"""Fair share: nobody's flood starves anybody else.

Each person may send ``[access] user_rate_limit`` commands and clicks a minute, by every way
in (slash commands, mentions, direct messages, buttons, menu picks); past it they are refused
in the acknowledgement with when to retry. And on each engine nobody holds more than a fair
part of the queue and workers: while one person's 45 ``run``s wait, another's ``ps`` is
answered at once. The rate limit's clock is injected: no test waits for a minute to pass.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bot.slack.render.notices import NOTICE_LOGS_ACTION
from bot.slack.render.object_actions import PICK_CONTAINER_ACTION
from bot.slack.render.replies import APPROVE_ACTION
from tests.conftest import SIGNING_SECRET, TEST_IMAGE, Sandbox, SlackBot, serve_bot
from tests.fakes.fake_slack import (
    FakeSlack,
    block_actions_body,
    direct_message_event,
    event_body,
    mention_event,
    post_signed,
)


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def text_of(answer: requests.Response | dict[str, Any]) -> str:
    body = answer.json() if isinstance(answer, requests.Response) else answer
    return json.dumps(body)


def test_the_rate_limit_holds_at_every_way_in(sandbox: Sandbox, fake_slack: FakeSlack) -> None:
    clock = Clock()
    service = serve_bot(sandbox, fake_slack, rate_clock=clock, access={"user_rate_limit": 3})
    bot = SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    events = iter(range(1000))

    def use_up(user: str) -> None:
        """Three commands a second apart: the limit, all admitted (help answers at once)."""
        for _ in range(3):
            assert "Help: ps" in text_of(bot.command("help ps", user_id=user))
            clock.now += 1

    def mention(user: str) -> None:
        body = event_body(
            mention_event("ps", user=user, ts=f"17000001{next(events):02d}.1"),
            event_id=f"EvRate{next(events)}",
        )
        assert post_signed(bot.events_url, body, secret=SIGNING_SECRET).status_code == 200

    def click(user: str, action_id: str, value: str, name: str) -> None:
        body = block_actions_body(
            action_id=action_id,
            value=value,
            user_id=user,
            response_url=fake_slack.response_url(name),
        )
        assert post_signed(bot.events_url, body, secret=SIGNING_SECRET).status_code == 200

    try:
        # Slash command: refused in the acknowledgement, saying when to retry.
        use_up("U0SLASH")
        refused = text_of(bot.command("ps", user_id="U0SLASH", name="slash"))
        assert "Try again in 57 s" in refused and "[access] user_rate_limit" in refused
        clock.now += 57  # the first of the three leaves the minute
        assert "Help: ps" in text_of(bot.command("help ps", user_id="U0SLASH"))

        # Mentions and direct messages: told once, privately (each telling is a Slack call).
        use_up("U0TALK")
        mention("U0TALK")
        told = fake_slack.wait_for(
            "chat.postEphemeral", where=lambda c: c.body.get("user") == "U0TALK"
        )
        assert "Try again in" in text_of(told[0].body)
        body = event_body(direct_message_event("ps", user="U0TALK"), event_id="EvRateDm")
        assert post_signed(bot.events_url, body, secret=SIGNING_SECRET).status_code == 200
        mention("U0OTHER")  # positive control: someone else's mention is taken and answered
        fake_slack.wait_for("chat.postEphemeral", where=lambda c: c.body.get("user") == "U0OTHER")
        assert (
            len([c for c in fake_slack.of("chat.postEphemeral") if c.body.get("user") == "U0TALK"])
            == 1
        )
        assert not any("D0ALICE" in str(c.body) for c in fake_slack.calls)  # the DM: not run

        # Buttons and menu picks: refused, told beside the message clicked.
        use_up("U0CLICK")
        click("U0CLICK", APPROVE_ACTION, "424242", "approve")
        [approve] = bot.responses("approve")
        assert "Try again in" in text_of(approve) and approve["replace_original"] is False
        clock.now += 60
        use_up("U0PICK")
        click("U0PICK", PICK_CONTAINER_ACTION, "not-a-value", "pick")
        assert "Try again in" in text_of(bot.responses("pick")[0])
        use_up("U0NOTICE")
        click("U0NOTICE", NOTICE_LOGS_ACTION, "default:0123456789ab", "notice")
        assert "Try again in" in text_of(bot.responses("notice")[0])
        # Positive control: the same pick by someone else gets past the gate (and is found
        # stale, which is its answer to a value it did not render).
        click("U0OTHER", PICK_CONTAINER_ACTION, "not-a-value", "other-pick")
        assert "no longer valid" in text_of(bot.responses("other-pick")[0])
    finally:
        service.stop()


def test_one_persons_45_runs_leave_room_for_anothers_ps(
    sandbox: Sandbox, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """The finding: one person's burst made the engine "busy" for everybody. Now the flood
    is cut to its share (the rate limit, then a quarter of the queue and 3 of the 4 workers),
    and the other person's ps is answered before any of the flood's runs has finished."""
    # Each run waits for the test's go (a file in a folder it mounts), not for time to pass:
    # none can finish before the other person is answered, and all finish at once after.
    gate = tmp_path / "gate"
    gate.mkdir()
    # Defaults (30 a minute, 4 workers, queue 50); the gate is the one host path allowed.
    service = serve_bot(sandbox, fake_slack, run_policy={"host_path_allowlist": [str(gate)]})
    bot = SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    wait = "until [ -e /gate/go ]; do sleep 0.05; done"
    run = f"run --rm {sandbox.label_args()} -v {gate}:/gate:ro {TEST_IMAGE} sh -c '{wait}'"
    try:
        with ThreadPoolExecutor(max_workers=45) as pool:
            acks = list(
                pool.map(
                    lambda index: bot.command(run, user_id="U0FLOOD", name=f"run-{index}"),
                    range(45),
                )
            )
        assert all(ack.status_code == 200 for ack in acks)
        limited = [ack for ack in acks if "Try again in" in ack.text]
        assert len(limited) == 15  # past 30 a minute: refused in the acknowledgement
        assert bot.command("ps -a", user_id="U0OTHER", name="other").status_code == 200
        [other] = bot.responses("other")
        assert '"table"' in text_of(other) or "CONTAINER ID" in text_of(other)
        (gate / "go").touch()
        # Of the flood's 30 taken, 15 hold their share (3 run, 12 wait): the rest are told so.
        answers = fake_slack.wait_for(
            "response", count=30, timeout=120, where=lambda c: "/run-" in c.path
        )  # 15 refusals + 15 finished runs (+ nothing else)
    finally:
        service.stop()
    texts = [json.dumps(call.body) for call in answers]
    refused = [t for t in texts if "You have 15 requests running or waiting" in t]
    finished = [t for t in texts if "You have" not in t]
    assert len(refused) == 15 and len(finished) == 15, texts
    assert all("exited with code 0" in t for t in finished), finished[:2]
    order = [call.path.rsplit("/", 1)[-1] for call in fake_slack.of("response")]
    finished_paths = {c.path.rsplit("/", 1)[-1] for c in answers if "You have" not in str(c.body)}
    before_other = order[: order.index("other")]
    # Not one of the flood's runs had finished when the other person was answered.
    assert not finished_paths & set(before_other), before_other
