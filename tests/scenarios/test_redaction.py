"""Secrets a container carries never come back through the bot: its environment values and
secret shapes (a Slack token here) are redacted from inspect, ps, top, logs, run's output and
the notices, on the private engine, before anything is cut."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from bot.core.results import InspectResult
from bot.engine.directory import DockerEngineDirectory
from tests.conftest import TEST_IMAGE, BotDriver, Sandbox

TOKEN = "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
TOKEN_TAIL = "QrStUvWx"  # what a cut before redaction would leave
VALUE = "plain-env-value-7f3a9c"  # no shape: redacted because it is the container's own
HOOK = "https://hooks.slack.com/services/T0FAKE/B0FAKE/ZyXwVuTsRqPoNmLk"


def _leaks(text: str) -> list[str]:
    return [s for s in (TOKEN_TAIL, "AbCdEfGh", VALUE, "ZyXwVuTs") if s in text]


def _running(api: docker.APIClient, sandbox: Sandbox, stem: str) -> str:
    """A container whose command, healthcheck, label and output carry the token and its own
    environment value, and whose health log has an entry; its name."""
    name = sandbox.name(stem)
    script = f"echo start {TOKEN}; echo value $API_KEY; echo again {VALUE}; sleep 300; true"
    container = api.create_container(
        TEST_IMAGE,
        name=name,
        command=["sh", "-c", script],
        environment={"API_KEY": VALUE},
        labels=sandbox.labels | {"hook": HOOK},
        healthcheck={
            "Test": ["CMD-SHELL", f"echo health {TOKEN} $API_KEY"],
            "Interval": 200_000_000,
            "Timeout": 2_000_000_000,
        },
    )
    api.start(container)
    deadline = time.monotonic() + 30
    while not (api.inspect_container(name)["State"].get("Health") or {}).get("Log"):
        assert time.monotonic() < deadline, "no health check ran"
        time.sleep(0.1)
    health = api.inspect_container(name)["State"]["Health"]["Log"][-1]["Output"]
    assert TOKEN in health and VALUE in health  # the engine holds them: the control
    return name


@pytest.fixture
def carrier(api: docker.APIClient, sandbox: Sandbox) -> Iterator[str]:
    name = _running(api, sandbox, "carrier")
    yield name
    api.remove_container(name, force=True)


def test_inspect_shows_no_secret_in_command_healthcheck_log_or_labels(
    bot: BotDriver, carrier: str
) -> None:
    reply = bot.handle(f"inspect {carrier}")
    assert isinstance(reply.result, InspectResult)
    item = reply.result.items[0]
    document = item.document
    shown = json.dumps(document) + json.dumps(item.summary)
    assert _leaks(shown) == []
    assert document["Config"]["Env"][0] == "API_KEY=<redacted>"
    assert document["Config"]["Healthcheck"]["Test"] == [
        "CMD-SHELL",
        "echo health <redacted> $API_KEY",
    ]
    assert document["State"]["Health"]["Log"][-1]["Output"].startswith(
        "health <redacted> <redacted>"
    )
    assert document["Config"]["Labels"]["hook"] == "https://hooks.slack.com/<redacted>"
    assert "start <redacted>" in document["Args"][-1] and "again <redacted>" in document["Args"][-1]
    assert _leaks(bot.ok(f"inspect {carrier}")) == []


def test_ps_shows_no_secret_truncated_or_not(bot: BotDriver, carrier: str) -> None:
    wide = bot.ok(f"ps -a --no-trunc --filter name={carrier}")
    assert "echo start <redacted>" in wide and "echo again <redacted>" in wide
    assert _leaks(wide) == []
    assert _leaks(bot.ok(f"ps -a --filter name={carrier}")) == []


def test_top_logs_and_run_output_show_no_secret(
    bot: BotDriver, carrier: str, sandbox: Sandbox
) -> None:
    top = bot.ok(f"top {carrier}")
    assert "echo start <redacted>" in top and _leaks(top) == []
    logs = bot.ok(f"logs {carrier}")
    assert "start <redacted>\nvalue <redacted>\nagain <redacted>" in logs
    assert _leaks(logs) == []
    script = f"'echo {TOKEN}; echo $API_KEY'"
    for options in ("", "--rm"):
        ran = bot.ok(
            f"run {options} {sandbox.label_args()} -e API_KEY={VALUE} {TEST_IMAGE} sh -c {script}"
        )
        assert "<redacted>\n<redacted>" in ran and _leaks(ran) == []


def test_a_crash_notice_redacts_before_it_cuts(
    api: docker.APIClient, sandbox: Sandbox, engines: DockerEngineDirectory, carrier: str
) -> None:
    """A notice shows the last 4,000 characters of the log: the cut falls 20 characters into
    the token, and nothing of it shows (cut first, its tail did)."""
    name = sandbox.name("crash-cut")
    filler = "y" * (4_000 - 2 - (len(TOKEN) - 20))
    container = api.create_container(
        TEST_IMAGE,
        name=name,
        environment={"API_KEY": VALUE},
        labels=sandbox.labels,
        command=["sh", "-c", f"echo value $API_KEY; echo {TOKEN}; echo {filler}; exit 3"],
    )
    api.start(container)
    assert api.wait(container, timeout=30)["StatusCode"] == 3
    raw = api.logs(container).decode()
    assert raw[-4_000:].startswith(TOKEN[20:])  # where the cut falls: the control
    engine = engines.get(None)
    details = engine.notice_details(str(container["Id"]), lines=50)
    assert _leaks(details.log_tail) == [] and details.log_tail.endswith(filler + "\n")
    health = engine.notice_details(_id(api, carrier), lines=50)
    assert health.health_output.startswith("health <redacted> <redacted>")
    assert _leaks(health.log_tail + health.health_output) == []


def _id(api: docker.APIClient, name: str) -> str:
    doc: dict[str, Any] = api.inspect_container(name)
    return str(doc["Id"])
