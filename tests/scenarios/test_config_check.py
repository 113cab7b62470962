"""`python -m bot config check` online, as an operator runs it: Slack IDs resolved to names
through the (fake) Web API, the bot's missing channel membership told, the engine pinged."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Sandbox
from tests.fakes.fake_slack import FakeSlack
from tests.scenarios.test_command_line import bot_process

CONFIG = """\
[roles]
admin = ["U0ADMIN"]
operator = ["S0SRE"]

[access]
channels = ["C0OPS", "C0QUIET"]
"""


def run_check(tmp_path: Path, fake: FakeSlack, docker_host: str, *args: str) -> tuple[int, str]:
    (tmp_path / "chatops.toml").write_text(CONFIG)
    done = bot_process(
        ["config", "check", *args],
        docker_host=docker_host,
        cwd=tmp_path,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="signing-secret",
        CHATOPS_AUDIT_KEY="k" * 64,
        SLACK_API_URL=fake.api_url,
    )
    assert done.stderr == "", done.stderr  # no traceback, no log lines
    return done.returncode, done.stdout


def test_ids_are_named_and_a_channel_without_the_bot_is_a_problem(
    tmp_path: Path, fake_slack: FakeSlack, sandbox: Sandbox
) -> None:
    fake_slack.user_names["U0ADMIN"] = "dana"
    fake_slack.group_handles["S0SRE"] = "sre"
    fake_slack.usergroups["S0SRE"] = ["U1", "U2", "U3", "U4"]
    fake_slack.channel_names |= {"C0OPS": "ops", "C0QUIET": "quiet"}
    fake_slack.not_a_member_of.add("C0QUIET")
    status, out = run_check(tmp_path, fake_slack, sandbox.docker_host)
    lines = {line.split()[1]: line for line in out.splitlines()[:-1]}
    assert "-> @dana" in lines["U0ADMIN"] and lines["U0ADMIN"].startswith("ok")
    assert "-> @sre (4 members)" in lines["S0SRE"]
    assert "-> #ops" in lines["C0OPS"] and lines["C0OPS"].startswith("ok")
    assert lines["C0QUIET"].startswith("PROBLEM") and "not a member" in lines["C0QUIET"]
    assert "not a swarm manager" in lines["engine"] and "Docker " in lines["engine"]
    assert status == 1 and out.endswith("1 problem.\n")

    # An app installed from an older manifest cannot read users: said, with the fix.
    fake_slack.errors["users.info"] = "missing_scope"
    status, out = run_check(tmp_path, fake_slack, sandbox.docker_host)
    [admin] = [line for line in out.splitlines() if "U0ADMIN" in line]
    assert admin.startswith("PROBLEM") and "lacks a scope" in admin and "reinstall" in admin
    del fake_slack.errors["users.info"]

    # Positive control: with the bot in the channel, all is well, and --json says so.
    fake_slack.not_a_member_of.clear()
    status, out = run_check(tmp_path, fake_slack, sandbox.docker_host, "--json")
    report = json.loads(out)
    assert status == 0 and report["ok"] is True
    assert {"status": "ok", "subject": "C0QUIET", "text": "-> #quiet"} in report["findings"]


def test_an_engine_or_slack_that_cannot_be_reached_is_a_problem(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    fake_slack.errors["auth.test"] = "invalid_auth"
    status, out = run_check(tmp_path, fake_slack, f"unix://{tmp_path}/no-engine.sock")
    problems = [line for line in out.splitlines() if line.startswith("PROBLEM")]
    assert status == 1 and len(problems) == 2, out
    assert "engine default" in problems[0] and "Cannot reach Docker engine" in problems[0]
    assert "auth.test failed: invalid_auth" in problems[1]
    # --offline asks neither: the same configuration is well.
    status, out = run_check(tmp_path, fake_slack, f"unix://{tmp_path}/no-engine.sock", "--offline")
    assert status == 0 and out.endswith("All is well.\n"), out
