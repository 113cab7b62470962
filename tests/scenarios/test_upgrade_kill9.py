"""An upgrade whose bot is killed (kill -9, the front and its work process) while the replacement
settles is finished by the next start, as deployed: `python -m bot serve` as processes, the
upgrade asked in chat, the record in the database. Exactly one container under the name after,
the old one (the replacement had not held), running; nothing of the upgrade left behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import uuid
from pathlib import Path

import docker
from sqlalchemy import create_engine, select

from bot.state.tables import upgrades
from tests.conftest import SIGNING_SECRET, Sandbox
from tests.fakes.fake_slack import FakeSlack, post_signed, slash_command_body
from tests.scenarios.test_replicas import children_of, wait_until
from tests.scenarios.test_upgrade_command import push
from tests.serving import serve_process, stop

CONFIG = """
[roles]
viewer = ["*"]
operator = ["U0OPS"]
admin = ["U0ADMIN"]

[approvals]
required_for = []

[upgrades]
settle = "120s"          # the replacement is still settling when the bot is killed
recovery_after = "2s"    # a record not saved for 2 s was left by a stopped bot
"""


def under(api: docker.APIClient, sandbox: Sandbox, name: str) -> list[dict[str, object]]:
    """This run's containers whose name starts with ``name`` (the trial and the aside too)."""
    return [
        doc
        for doc in api.containers(all=True, filters={"label": sandbox.labels_filter()})
        if any(str(n).lstrip("/").startswith(name) for n in doc["Names"])
    ]


def test_a_bot_killed_while_an_upgrade_settles_is_finished_by_the_next_start(
    tmp_path: Path, sandbox: Sandbox, fake_slack: FakeSlack, api: docker.APIClient
) -> None:
    repository = f"{sandbox.registry}/chatops-test/kill9-{sandbox.session}-{uuid.uuid4().hex[:6]}"
    push(api, sandbox, repository, "v1")
    name = sandbox.name(f"kill9-{uuid.uuid4().hex[:6]}")
    old_id = api.create_container(f"{repository}:latest", name=name, labels=sandbox.labels)["Id"]
    api.start(old_id)
    push(api, sandbox, repository, "v2")  # the tag moves: the upgrade has something to do

    config = tmp_path / "chatops.toml"
    config.write_text(CONFIG)
    database = f"sqlite:///{tmp_path}/state.db"
    first_home, second_home = tmp_path / "first", tmp_path / "second"
    first_home.mkdir()
    second_home.mkdir()

    def serve(home: Path) -> tuple[subprocess.Popen[str], str]:
        return serve_process(
            home,
            DOCKER_HOST=sandbox.docker_host,
            CHATOPS_CONFIG=str(config),
            SLACK_API_URL=fake_slack.api_url,
            CHATOPS_DATABASE_URL=database,
        )

    first, base = serve(first_home)
    second = None
    state = create_engine(database)
    try:
        post_signed(
            f"{base}/slack/events",
            slash_command_body(
                text=f"upgrade {name}",
                response_url=fake_slack.response_url("up"),
                user_id="U0ADMIN",
            ),
            secret=SIGNING_SECRET,
        )

        def settling() -> bool:
            with state.connect() as connection:
                phases = connection.execute(
                    select(upgrades.c.phase).where(upgrades.c.name == name)
                ).scalars()
                return "verifying" in list(phases)

        wait_until(settling, 90, "the upgrade did not reach its settling phase")
        replacement = api.inspect_container(name)["Id"]
        assert replacement != old_id  # the replacement runs under the name; the old is aside
        # The crash: the front and its work process, killed outright.
        children = children_of(first.pid)
        first.send_signal(signal.SIGKILL)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        first.wait(timeout=30)
        assert len(under(api, sandbox, name)) == 2  # both left behind by the killed bot

        second, _ = serve(second_home)

        def finished() -> bool:
            with state.connect() as connection:
                phase = connection.execute(
                    select(upgrades.c.phase).where(upgrades.c.name == name)
                ).scalar_one()
            return str(phase) == "rolled_back"

        wait_until(finished, 90, "the next start did not finish the upgrade")
        [left] = under(api, sandbox, name)
        assert left["Id"] == old_id and left["State"] == "running"
        assert left["Names"] == [f"/{name}"]
        with contextlib.suppress(docker.errors.NotFound):
            api.inspect_container(replacement)
            raise AssertionError("the replacement that had not held is still there")
    finally:
        state.dispose()
        for process, home in ((first, first_home), (second, second_home)):
            if process is not None and process.poll() is None:
                stop(process, home)
