"""Approvals from Slack against the real engine: signed slash commands and button clicks."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import docker
import pytest

from bot.server import SlackService
from bot.state.audit import SqlAuditLog
from bot.state.database import open_database
from tests.conftest import AUDIT_KEY, SIGNING_SECRET, TEST_IMAGE, Sandbox, SlackBot, serve_bot
from tests.fakes.fake_slack import FakeSlack, block_actions_body, post_signed

ROLES = {"viewer": ["*"], "operator": ["U0OPS"], "admin": ["U0ADMIN", "U0SECOND", "S0SRE"]}


def start(
    sandbox: Sandbox,
    fake: FakeSlack,
    database: str,
    *,
    clock: Callable[[], datetime] | None = None,
    **approvals: Any,
) -> SlackService:
    return serve_bot(
        sandbox,
        fake,
        clock=clock,
        roles=ROLES,
        chatops_database_url=database,
        approvals={"required_for": ["rm", "rmi", "prune"], "approvers": ["admin"], **approvals},
    )


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/approvals.db"


@pytest.fixture
def approvals_bot(sandbox: Sandbox, fake_slack: FakeSlack, database: str) -> Iterator[SlackBot]:
    service = start(sandbox, fake_slack, database)
    yield SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    service.stop()


def click(bot: SlackBot, *, approve: bool, approval_id: int, user: str, name: str) -> int:
    body = block_actions_body(
        action_id="chatops_approve" if approve else "chatops_reject",
        value=str(approval_id),
        user_id=user,
        response_url=bot.fake.response_url(name),
    )
    return post_signed(bot.events_url, body, secret=SIGNING_SECRET).status_code


def request_removal(
    bot: SlackBot, api: docker.APIClient, stem: str, *, requester: str = "U0OPS"
) -> tuple[str, int]:
    """Someone asks to remove a fresh container; returns its name and the request number."""
    name = bot.sandbox.name(stem)
    api.create_container(TEST_IMAGE, command=["true"], name=name, labels=bot.sandbox.labels)
    before = len(bot.fake.of("chat.postMessage"))
    bot.command(f"rm {name}", name=f"ask-{stem}", user_id=requester)
    waiting = json.dumps(bot.responses(f"ask-{stem}")[0])
    assert "Waiting for approval" in waiting and '"ephemeral"' in waiting
    posted = bot.fake.wait_for("chat.postMessage", count=before + 1)[-1]
    blocks = json.dumps(posted.body["blocks"])
    assert name in blocks and f"<@{requester}> asks to run" in blocks
    assert "chatops_approve" in blocks
    approval_id = int(posted.body["text"].rsplit("#", 1)[1])
    return name, approval_id


def final_update(bot: SlackBot, approval_id: int, word: str) -> dict[str, Any]:
    return bot.fake.wait_for(
        "chat.update",
        where=lambda call: f"#{approval_id}: {word}" in str(call.body.get("text")),
    )[-1].body


def test_another_approver_removes_exactly_the_planned_container(
    approvals_bot: SlackBot, api: docker.APIClient
) -> None:
    name, approval_id = request_removal(approvals_bot, api, "approved")
    api.inspect_container(name)  # not removed yet
    assert (
        click(approvals_bot, approve=True, approval_id=approval_id, user="U0ADMIN", name="c1")
        == 200
    )
    update = final_update(approvals_bot, approval_id, "done")
    assert "approved by <@U0ADMIN>" in json.dumps(update["blocks"])
    assert "chatops_approve" not in json.dumps(update["blocks"])  # buttons gone
    with pytest.raises(docker.errors.NotFound):
        api.inspect_container(name)
    told = approvals_bot.fake.wait_for("chat.postEphemeral")[-1]
    assert told.body["user"] == "U0OPS" and f"#{approval_id}" in told.body["text"]


def test_refused_clicks_change_nothing(approvals_bot: SlackBot, api: docker.APIClient) -> None:
    name, approval_id = request_removal(approvals_bot, api, "refusals", requester="U0ADMIN")
    cases = [("U0ADMIN", "You asked for"), ("U0VIEWER", "not an approver")]
    for user, words in cases:
        click(approvals_bot, approve=True, approval_id=approval_id, user=user, name=f"r-{user}")
        refusal = approvals_bot.responses(f"r-{user}")[0]
        assert words in refusal["text"] and refusal["response_type"] == "ephemeral"
    api.inspect_container(name)
    click(approvals_bot, approve=False, approval_id=approval_id, user="U0SECOND", name="reject")
    final_update(approvals_bot, approval_id, "rejected")
    click(approvals_bot, approve=True, approval_id=approval_id, user="U0ADMIN", name="late")
    assert "already rejected" in approvals_bot.responses("late")[0]["text"]
    api.inspect_container(name)  # still there


def test_a_changed_target_is_refused(approvals_bot: SlackBot, api: docker.APIClient) -> None:
    name, approval_id = request_removal(approvals_bot, api, "changed")
    api.remove_container(name)
    replacement = api.create_container(
        TEST_IMAGE, command=["true"], name=name, labels=approvals_bot.sandbox.labels
    )["Id"]
    click(approvals_bot, approve=True, approval_id=approval_id, user="U0ADMIN", name="c")
    update = final_update(approvals_bot, approval_id, "failed")
    assert "plan no longer holds" in json.dumps(update["blocks"])
    assert api.inspect_container(name)["Id"] == replacement


def test_twenty_concurrent_clicks_execute_once(
    approvals_bot: SlackBot, api: docker.APIClient, database: str
) -> None:
    approvals_bot.fake.usergroups["S0SRE"] = [f"U0SRE{i:02d}" for i in range(20)]
    name, approval_id = request_removal(approvals_bot, api, "stampede")
    threads = [
        threading.Thread(
            target=click,
            kwargs={
                "bot": approvals_bot,
                "approve": True,
                "approval_id": approval_id,
                "user": f"U0SRE{i:02d}",
                "name": f"s{i}",
            },
        )
        for i in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final_update(approvals_bot, approval_id, "done")
    approvals_bot.fake.wait_for("response", count=19, where=lambda c: "/s" in c.path)
    with pytest.raises(docker.errors.NotFound):
        api.inspect_container(name)
    entries = SqlAuditLog(engine=open_database(database), key=AUDIT_KEY.encode()).recent(200)
    assert [e.event for e in entries if e.detail.startswith(f"#{approval_id}")].count("done") == 1


def test_pending_request_survives_a_restart(
    sandbox: Sandbox, fake_slack: FakeSlack, database: str, api: docker.APIClient
) -> None:
    first = start(sandbox, fake_slack, database)
    bot = SlackBot(service=first, fake=fake_slack, sandbox=sandbox)
    name, approval_id = request_removal(bot, api, "restart")
    first.stop()
    second = start(sandbox, fake_slack, database)
    try:
        bot = SlackBot(service=second, fake=fake_slack, sandbox=sandbox)
        bot.command("approvals", name="list", user_id="U0ADMIN")
        assert f"#{approval_id}" in json.dumps(bot.responses("list")[0])
        click(bot, approve=True, approval_id=approval_id, user="U0ADMIN", name="after")
        final_update(bot, approval_id, "done")
        with pytest.raises(docker.errors.NotFound):
            api.inspect_container(name)
    finally:
        second.stop()


def test_expiry_after_a_restart(
    sandbox: Sandbox, fake_slack: FakeSlack, database: str, api: docker.APIClient
) -> None:
    service = start(sandbox, fake_slack, database, expire_after="1s")
    bot = SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    try:
        name, approval_id = request_removal(bot, api, "expiry")
    finally:
        service.stop()
    # The restarted bot's clock is past the expiry: nothing waits for the time to pass.
    later = datetime.now(UTC) + timedelta(seconds=5)
    restarted = start(sandbox, fake_slack, database, expire_after="1s", clock=lambda: later)
    try:
        bot = SlackBot(service=restarted, fake=fake_slack, sandbox=sandbox)
        final_update(bot, approval_id, "expired")
        click(bot, approve=True, approval_id=approval_id, user="U0ADMIN", name="late")
        assert "expired" in bot.responses("late")[0]["text"]
        api.inspect_container(name)
    finally:
        restarted.stop()


def test_cancel_and_audit(approvals_bot: SlackBot, api: docker.APIClient) -> None:
    name, approval_id = request_removal(approvals_bot, api, "cancel")
    approvals_bot.command(f"cancel {approval_id}", name="other", user_id="U0ADMIN")
    assert "Only the person who asked" in json.dumps(approvals_bot.responses("other")[0])
    approvals_bot.command(f"cancel {approval_id}", name="mine", user_id="U0OPS")
    assert f"#{approval_id} cancelled" in json.dumps(approvals_bot.responses("mine")[0])
    final_update(approvals_bot, approval_id, "cancelled")
    api.inspect_container(name)
    approvals_bot.command("audit 50", name="audit-viewer", user_id="U0VIEWER")
    assert "needs the admin role" in json.dumps(approvals_bot.responses("audit-viewer")[0])
    approvals_bot.command("audit 50", name="audit", user_id="U0ADMIN")
    approvals_bot.fake.wait_for("response", where=lambda c: c.path.endswith("/audit"))
    shown = json.dumps(approvals_bot.responses("audit")[0])
    assert "approval_requested" in shown and "denied" in shown


def test_an_approved_prune_removes_only_what_was_planned(
    approvals_bot: SlackBot, api: docker.APIClient
) -> None:
    box = approvals_bot.sandbox
    label = f"chatops.test.prune={box.session}"
    planned = box.name("prune-planned")
    api.create_container(
        TEST_IMAGE,
        command=["true"],
        name=planned,
        labels=box.labels | {"chatops.test.prune": box.session},
    )
    before = len(approvals_bot.fake.of("chat.postMessage"))
    approvals_bot.command(f"container prune --filter label={label}", name="ask", user_id="U0OPS")
    approvals_bot.responses("ask")
    posted = approvals_bot.fake.wait_for("chat.postMessage", count=before + 1)[-1]
    assert planned in json.dumps(posted.body["blocks"])
    approval_id = int(posted.body["text"].rsplit("#", 1)[1])
    late = box.name("prune-late")  # appears after the plan: must survive
    api.create_container(
        TEST_IMAGE,
        command=["true"],
        name=late,
        labels=box.labels | {"chatops.test.prune": box.session},
    )
    click(approvals_bot, approve=True, approval_id=approval_id, user="U0ADMIN", name="go")
    final_update(approvals_bot, approval_id, "done")
    with pytest.raises(docker.errors.NotFound):
        api.inspect_container(planned)
    api.inspect_container(late)


def test_nothing_to_prune_needs_no_approval(approvals_bot: SlackBot) -> None:
    approvals_bot.command(
        "container prune --filter label=nothing.has=this", name="empty", user_id="U0OPS"
    )
    assert "Deleted 0 containers" in json.dumps(approvals_bot.responses("empty")[0])
