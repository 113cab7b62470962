"""Approvals that cannot be edited, through the real service and engine (issue 17): a pending
`rm` edited in the database to run on its own at a past expiry removes nothing; it is marked
tampered, audited and announced in the approvals channel, and a click on it is refused. An
unedited request is approved and runs (the positive control)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import pytest
from sqlalchemy import select, update

from bot.state.audit import SqlAuditLog
from bot.state.database import open_database
from bot.state.tables import approvals
from tests.conftest import AUDIT_KEY, Sandbox, SlackBot
from tests.fakes.fake_slack import FakeSlack
from tests.scenarios.test_slack_approvals import click, final_update, request_removal, start


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/approvals.db"


@pytest.fixture
def approvals_bot(sandbox: Sandbox, fake_slack: FakeSlack, database: str) -> Iterator[SlackBot]:
    service = start(sandbox, fake_slack, database, channel="C0APPROVE")
    yield SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    service.stop()


def test_a_pending_rm_edited_to_run_on_its_own_removes_nothing(
    approvals_bot: SlackBot, api: docker.APIClient, database: str
) -> None:
    name, approval_id = request_removal(approvals_bot, api, "tampered")
    state = open_database(database)
    with state.begin() as connection:  # what the finding did, from a container on the volume
        connection.execute(
            update(approvals)
            .where(approvals.c.id == approval_id)
            .values(auto_run=True, expires_at=datetime.now(UTC) - timedelta(hours=1))
        )
    before = len(approvals_bot.fake.of("chat.postMessage"))
    approvals_bot.service.sweep_approvals()
    told = approvals_bot.fake.wait_for("chat.postMessage", count=before + 1)[-1]
    assert f"Request #{approval_id} failed its integrity check" in told.body["text"]
    assert told.body["channel"] == "C0APPROVE"
    api.inspect_container(name)  # still there
    with state.connect() as connection:
        stored = connection.execute(
            select(approvals.c.state).where(approvals.c.id == approval_id)
        ).scalar_one()
    assert stored == "tampered"
    entries = SqlAuditLog(engine=state, key=AUDIT_KEY.encode()).recent(50)
    assert any(e.event == "tampered" and e.detail.startswith(f"#{approval_id} ") for e in entries)
    click(approvals_bot, approve=True, approval_id=approval_id, user="U0ADMIN", name="late")
    assert "integrity check" in approvals_bot.responses("late")[0]["text"]
    api.inspect_container(name)
    approvals_bot.command("approvals", name="list", user_id="U0ADMIN")
    assert f"#{approval_id}" not in json.dumps(approvals_bot.responses("list")[0])

    # The positive control: the same steps on an unedited request remove its container.
    other, other_id = request_removal(approvals_bot, api, "untouched")
    approvals_bot.service.sweep_approvals()
    click(approvals_bot, approve=True, approval_id=other_id, user="U0ADMIN", name="go")
    final_update(approvals_bot, other_id, "done")
    with pytest.raises(docker.errors.NotFound):
        api.inspect_container(other)
