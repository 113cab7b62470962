"""The gate fails closed: hostile input, stalls and silent failures, through signed Slack
requests to the real server, the real engine and the real database."""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
from sqlalchemy import select

from bot.state.database import open_database
from bot.state.tables import approvals, metadata
from tests.conftest import (
    AUDIT_KEY,
    TEST_IMAGE,
    Sandbox,
    SlackBot,
    serve_bot,
    start_work_process,
)
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.silent_listener import SilentListener


def everything_stored(database: str) -> str:
    """Every row of every table of the bot's database, as text."""
    with open_database(database).connect() as connection:
        return json.dumps(
            [
                [str(v) for v in row]
                for table in metadata.sorted_tables
                for row in connection.execute(select(table))
            ]
        )


def everything_sent(fake: FakeSlack) -> str:
    return json.dumps([call.body for call in fake.calls])


# --- Secrets: what is shown or stored is rendered from the parsed command -----------------


def test_environment_values_are_shown_and_stored_nowhere(
    sandbox: Sandbox,
    fake_slack: FakeSlack,
    api: docker.APIClient,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    database = f"sqlite:///{tmp_path}/state.db"
    service = serve_bot(sandbox, fake_slack, chatops_database_url=database, log_level="DEBUG")
    bot = SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    caplog.set_level(logging.DEBUG)
    try:
        secret = "hunter2-Zq9x"
        name = sandbox.name("secret")
        # -deKEY=VALUE and an --env after the image: spellings string matching missed.
        ack = bot.command(
            f"run -deDB_PASSWORD={secret} --name {name} {sandbox.label_args()} {TEST_IMAGE} "
            f"--env=API_TOKEN={secret} sleep 30",
            name="secret",
        )
        assert ack.status_code == 200
        posted = bot.responses("secret")[0]
        assert "DB_PASSWORD=&lt;redacted&gt;" in json.dumps(posted)  # the credit line
        # The engine got the values; nothing else did.
        env = api.inspect_container(name)["Config"]["Env"]
        assert f"DB_PASSWORD={secret}" in env and f"API_TOKEN={secret}" in env
        bad = bot.command(f"run -e 'BAD KEY={secret}' {TEST_IMAGE}", name="bad")
        assert "BAD KEY" in bad.text
    finally:
        service.stop()
    assert secret not in ack.text and secret not in bad.text
    assert secret not in everything_sent(fake_slack)
    stored = everything_stored(database)
    assert "DB_PASSWORD" in stored  # the audit log has the command...
    assert secret not in stored  # ...without its values
    assert secret not in caplog.text
    printed = capfd.readouterr()  # the work process logs to the same stderr
    assert "[work]" in printed.err  # it did log (at DEBUG)...
    assert secret not in printed.out + printed.err  # ...and never the value


# --- Stalls stay with the engine that stalls ------------------------------------------------


def test_a_stalled_engine_holds_only_its_own_workers(
    sandbox: Sandbox, fake_slack: FakeSlack, api: docker.APIClient
) -> None:
    # A container of its own, so that `ps -a` answers with a table whatever ran before.
    api.create_container(TEST_IMAGE, name=sandbox.name("listed"), labels=sandbox.labels)
    with SilentListener() as stalled:
        service = serve_bot(
            sandbox,
            fake_slack,
            engine_concurrency=2,
            engine_queue=1,
            worker_threads=2,
            engines={
                "local": {"url": sandbox.docker_host, "default": True},
                # Each stalled command waits this long, twice over (two rounds); the
                # other commands are answered in about 0.1 s.
                "stalled": {"url": stalled.url, "timeout_seconds": 3},
            },
        )
        bot = SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
        try:
            for index in range(3):  # two run, one waits (three people: each has a fair share)
                answer = bot.command(
                    "-c stalled ps", name=f"stalled-{index}", user_id=f"U0P{index}"
                )
                assert answer.status_code == 200
            bot.command("-c stalled images", name="too-many", user_id="U0P3")
            bot.command("ps -a", name="healthy")
            bot.command("approvals", name="control")
            busy = json.dumps(bot.responses("too-many")[0])
            assert "Engine `stalled` is busy" in busy
            assert '"table"' in json.dumps(bot.responses("healthy")[0])
            assert "approval" in json.dumps(bot.responses("control")[0]).lower()
            # Answered while every stalled command still waits for its engine...
            answered = {call.path.rsplit("/", 1)[-1] for call in fake_slack.of("response")}
            assert not any(name.startswith("stalled-") for name in answered)
            # ...which does answer them in the end (they were not lost): a timeout.
            for index in range(3):
                assert "did not answer in time" in json.dumps(bot.responses(f"stalled-{index}"))
        finally:
            stalled.close()  # fails what is stuck on it: stopping need not wait it out
            service.stop()


def test_healthz_checks_engines_in_parallel_and_shows_no_details(
    sandbox: Sandbox, fake_slack: FakeSlack
) -> None:
    with SilentListener() as one, SilentListener() as two, SilentListener() as three:
        service = serve_bot(
            sandbox,
            fake_slack,
            engines={
                "local": {"url": sandbox.docker_host, "default": True},
                "a": {"url": one.url},
                "b": {"url": two.url},
                "c": {"url": three.url},
            },
        )
        try:
            started = time.monotonic()
            answer = requests.get(f"http://127.0.0.1:{service.port}/healthz", timeout=30)
            elapsed = time.monotonic() - started
        finally:
            for listener in (one, two, three):
                listener.close()  # fails what is stuck on them: stopping need not wait it out
            service.stop()
    # One 2 s budget for all engines (one after another took 2 s each: 6 s here).
    assert elapsed < 5, elapsed
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ok",
        "engines": {"local": "ok", "a": "unreachable", "b": "unreachable", "c": "unreachable"},
    }
    assert "127.0.0.1" not in answer.text and "unix://" not in answer.text


def test_an_engine_that_hangs_background_tasks_delays_the_stop_by_the_drain_at_most(
    sandbox: Sandbox, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """The background tasks (upgrade recovery, the health probe, ...) are stopped together
    and within the drain: each used to be waited for in turn (12 s here, upgrade recovery
    alone up to 10 s on a hung engine), so a stop could overrun the 15 s grace period before
    the people whose commands it cut short were told."""
    with SilentListener() as stalled:
        service = serve_bot(
            sandbox,
            fake_slack,
            engines={
                "local": {"url": sandbox.docker_host, "default": True},
                "stalled": {"url": stalled.url, "timeout_seconds": 60},
            },
        )
        deadline = time.monotonic() + 30
        while not stalled.waiting():  # a task asked the hung engine and waits for it
            assert time.monotonic() < deadline, "nothing reached the stalled engine"
            time.sleep(0.05)
        with caplog.at_level(logging.WARNING, logger="bot.server"):
            started = time.monotonic()
            service.stop(drain=1.0)
            elapsed = time.monotonic() - started
    # Positive control: something was still hung on the engine when the stop gave up on it.
    assert "stopping without waiting longer for" in caplog.text, caplog.text
    assert elapsed < 5, elapsed  # 1 s of drain, not 12 s of waits one after another


# --- Every failure reaches a person ---------------------------------------------------------


def test_an_approval_request_nobody_can_see_is_withdrawn(
    sandbox: Sandbox, fake_slack: FakeSlack, api: docker.APIClient, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path}/state.db"
    service = serve_bot(
        sandbox,
        fake_slack,
        chatops_database_url=database,
        approvals={"required_for": ["rm"], "approvers": ["admin"], "channel": "C0APPROVALS"},
    )
    bot = SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    name = sandbox.name("unseen")
    api.create_container(TEST_IMAGE, command=["true"], name=name, labels=sandbox.labels)
    fake_slack.errors["chat.postMessage"] = "not_in_channel"
    try:
        bot.command(f"rm {name}", name="ask")
        told = json.dumps(bot.responses("ask")[0])
    finally:
        service.stop()
    assert "withdrawn and nothing was run" in told
    assert "C0APPROVALS (not_in_channel)" in told and "/invite @docker" in told
    assert "Waiting for approval" not in told
    with open_database(database).connect() as connection:
        [state] = connection.execute(select(approvals.c.state)).scalars()
    assert state == "withdrawn" and '"withdrawn"' in everything_stored(database)
    assert api.containers(all=True, filters={"name": name})  # nothing was removed


def test_a_refused_response_url_falls_back_to_a_message(
    sandbox: Sandbox, fake_slack: FakeSlack
) -> None:
    service = serve_bot(sandbox, fake_slack)
    bot = SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    fake_slack.refused_responses.add("gone")
    try:
        bot.command("images", name="gone")
        [fallback] = fake_slack.wait_for("chat.postEphemeral")
    finally:
        service.stop()
    assert fallback.body["user"] == "U0ALICE" and fallback.body["channel"] == "C0OPS"
    assert '"table"' in json.dumps(fallback.body) or "REPOSITORY" in json.dumps(fallback.body)


def test_a_channel_the_bot_is_not_in_is_answered_by_dm_with_how_to_fix_it(
    sandbox: Sandbox, fake_slack: FakeSlack
) -> None:
    service = serve_bot(sandbox, fake_slack)
    bot = SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    fake_slack.refused_responses.add("expired")
    fake_slack.errors.update({"chat.postEphemeral": "not_in_channel"})
    try:
        bot.command("images", name="expired")
        dm = fake_slack.wait_for(
            "chat.postMessage", where=lambda call: call.body.get("channel") == "D0DIRECT"
        )[0]
    finally:
        service.stop()
    text = json.dumps(dm.body["blocks"])
    assert "/invite @docker" in text and "<#C0OPS>" in text
    assert '"table"' in text  # the answer itself follows the note


def test_an_execution_left_by_a_crash_is_reported_interrupted(
    sandbox: Sandbox, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """A request a dead process was running (its lease no longer renewed) is reported, once,
    and never run again."""
    from datetime import UTC, datetime, timedelta

    from bot.core.approvals import ApprovalState
    from bot.core.plans import ObjectKind, Plan, PlanItem
    from bot.state.approvals import SqlApprovalRepository

    database = f"sqlite:///{tmp_path}/state.db"
    repository = SqlApprovalRepository(engine=open_database(database), key=AUDIT_KEY.encode())
    now = datetime.now(UTC)
    plan = Plan(
        action="rm",
        items=(
            PlanItem(
                kind=ObjectKind.CONTAINER,
                id="c" * 64,
                target="web",
                description="web (busybox, Exited)",
            ),
        ),
    )
    created: dict[str, Any] = {
        "requester": "U0OPS",
        "channel_id": "C0OPS",
        "engine": "default",
        "command_text": "rm web",
        "plan": plan,
        "created_at": now,
        "expires_at": now,
    }
    dead = repository.create(**created)
    live = repository.create(**created)
    for record, holder, beat in ((dead, "dead", now - timedelta(minutes=5)), (live, "live", now)):
        repository.transition(
            record.id, current=ApprovalState.PENDING, target=ApprovalState.APPROVED
        )
        assert repository.begin_execution(record.id, holder=holder, now=beat)
    service = serve_bot(
        sandbox,
        fake_slack,
        chatops_database_url=database,
        approvals={"required_for": ["rm"], "channel": "C0APPROVALS", "interrupted_after": "60s"},
    )
    try:
        [notice] = fake_slack.wait_for(
            "chat.postMessage", where=lambda call: "interrupted" in json.dumps(call.body)
        )
    finally:
        service.stop()
    assert notice.body["channel"] == "C0APPROVALS"
    assert f"Request #{dead.id}" in json.dumps(notice.body)
    assert repository.get(dead.id).state is ApprovalState.INTERRUPTED  # type: ignore[union-attr]
    # The positive control: a lease renewed within the bound is a live execution, left alone.
    assert repository.get(live.id).state is ApprovalState.EXECUTING  # type: ignore[union-attr]
    assert not any(f"#{live.id}" in json.dumps(c.body) for c in fake_slack.of("chat.postMessage"))


# --- Acknowledgements never wait for work -------------------------------------------------


def test_work_runs_in_a_work_process_that_is_restarted_and_tells_who_it_lost(
    sandbox: Sandbox, fake_slack: FakeSlack, api: docker.APIClient
) -> None:
    # A container of its own, so that `ps -a` answers with a table whatever ran before.
    api.create_container(TEST_IMAGE, name=sandbox.name("listed-work"), labels=sandbox.labels)
    with SilentListener() as stalled:
        service = serve_bot(
            sandbox,
            fake_slack,
            engines={
                "local": {"url": sandbox.docker_host, "default": True},
                "stalled": {"url": stalled.url, "timeout_seconds": 5},
            },
        )
        bot = SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
        try:
            first = service.work_pid
            assert first is not None and first != os.getpid()
            bot.command("ps -a", name="before")
            assert '"table"' in json.dumps(bot.responses("before")[0])
            bot.command("-c stalled ps", name="taken")  # held by the stalled engine
            os.kill(first, signal.SIGKILL)  # the work process crashes with the order in hand
            deadline = time.monotonic() + 30
            while service.work_pid == first:  # polling for the restart, not waiting for time
                assert time.monotonic() < deadline, "the work process was not restarted"
                time.sleep(0.1)
            lost = json.dumps(bot.responses("taken")[0])
            assert "may or may not have run" in lost
            bot.command("ps -a", name="after")  # the new work process answers
            assert '"table"' in json.dumps(bot.responses("after")[0])
        finally:
            stalled.close()  # fails what is stuck on it: stopping need not wait it out
            service.stop()


def test_ready_only_once_the_work_process_has_started_below_the_front(
    sandbox: Sandbox, fake_slack: FakeSlack
) -> None:
    work = start_work_process(sandbox, fake_slack)
    try:
        assert not work.wait_started(0)  # its start-up takes a while (the control)...
        assert work.wait_started(60)
        assert work.pid is not None  # ...and it runs below the front from its start
        assert os.getpriority(os.PRIO_PROCESS, work.pid) == os.getpriority(os.PRIO_PROCESS, 0) + 5
    finally:
        work.close()
    service = serve_bot(sandbox, fake_slack)
    try:
        assert service.work_started  # start() waited for it: /readyz says ready only then
    finally:
        service.stop()


def test_work_can_stay_in_one_process(sandbox: Sandbox, fake_slack: FakeSlack) -> None:
    service = serve_bot(sandbox, fake_slack, work_process=False)
    bot = SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    try:
        assert service.work_pid is None
        bot.command("ps -a", name="here")
        assert '"table"' in json.dumps(bot.responses("here")[0])
    finally:
        service.stop()
