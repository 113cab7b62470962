"""Probes apart: ``/livez`` says the process serves (engines down or not, Slack reached or
not), so a liveness probe never restarts a healthy bot; ``/readyz`` (and its alias
``/healthz``) says it is ready and its default engine answers, for load balancers."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.conftest import Sandbox, SlackBot, serve_bot
from tests.fakes.fake_slack import FakeSlack
from tests.serving import free_port, serve_process, stop


def probe(base: str, path: str) -> tuple[int, object]:
    answer = requests.get(f"{base}{path}", timeout=10)
    return answer.status_code, answer.json()


def test_an_engine_down_is_not_ready_but_alive(
    sandbox: Sandbox, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    gone = f"unix://{tmp_path}/no-engine.sock"
    service = serve_bot(sandbox, fake_slack, engines={"local": {"url": gone, "default": True}})
    base = f"http://127.0.0.1:{service.port}"
    try:
        degraded = {"status": "degraded", "engines": {"local": "unreachable"}}
        assert probe(base, "/readyz") == (503, degraded)
        assert probe(base, "/healthz") == (503, degraded)  # the alias, as before
        assert probe(base, "/livez") == (200, {"status": "alive"})
        head = requests.head(f"{base}/livez", timeout=10)
        assert head.status_code == 200
    finally:
        service.stop()


def test_ready_when_the_engine_answers(slack_bot: SlackBot) -> None:
    base = f"http://127.0.0.1:{slack_bot.service.port}"
    ready = {"status": "ok", "engines": {"default": "ok"}}
    assert probe(base, "/readyz") == (200, ready)
    assert probe(base, "/healthz") == (200, ready)
    assert probe(base, "/livez") == (200, {"status": "alive"})
    assert requests.post(f"{base}/livez", timeout=10).status_code == 404  # probes are GET/HEAD


def test_alive_while_slack_is_not_reached_yet(tmp_path: Path, sandbox: Sandbox) -> None:
    nobody = free_port()  # no Slack here: the bot keeps retrying, "starting"
    process, base = serve_process(
        tmp_path,
        started=False,
        DOCKER_HOST=sandbox.docker_host,
        SLACK_API_URL=f"http://127.0.0.1:{nobody}/api/",
    )
    try:
        status, body = probe(base, "/readyz")
        assert status == 503 and isinstance(body, dict) and body["status"] == "starting"
        assert probe(base, "/livez") == (200, {"status": "alive"})
    finally:
        stop(process, tmp_path)
