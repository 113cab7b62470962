"""Socket Mode: the same command handling over a WebSocket, with a local server for Slack."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from websockets.sync.server import Server, ServerConnection, serve

from tests.conftest import Sandbox, serve_bot
from tests.fakes.fake_slack import FakeSlack


@dataclass
class FakeSocketModeSlack:
    """Sends queued envelopes to whoever connects and collects their acknowledgements."""

    to_send: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    acks: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    connected: threading.Event = field(default_factory=threading.Event)
    server: Server | None = None

    def handle(self, connection: ServerConnection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1}))
        self.connected.set()
        while True:
            try:
                envelope = self.to_send.get(timeout=0.1)
                connection.send(json.dumps(envelope))
            except queue.Empty:
                pass
            try:
                self.acks.put(json.loads(connection.recv(timeout=0.1)))
            except TimeoutError:
                continue
            except Exception:
                return


@pytest.fixture
def socket_slack(fake_slack: FakeSlack) -> Iterator[FakeSocketModeSlack]:
    fake = FakeSocketModeSlack()
    fake.server = serve(fake.handle, "127.0.0.1", 0)
    threading.Thread(target=fake.server.serve_forever, daemon=True).start()
    port = fake.server.socket.getsockname()[1]
    fake_slack.socket_mode_url = f"ws://127.0.0.1:{port}/link/?ticket=t"
    yield fake
    fake.server.shutdown()


def test_slash_command_over_socket_mode(
    sandbox: Sandbox, fake_slack: FakeSlack, socket_slack: FakeSocketModeSlack
) -> None:
    service = serve_bot(
        sandbox, fake_slack, slack_app_token="xapp-test-token", slack_signing_secret=None
    )
    try:
        assert service.socket_mode
        opened = fake_slack.wait_for("apps.connections.open")
        assert opened[0].headers["authorization"] == "Bearer xapp-test-token"
        assert socket_slack.connected.wait(10)
        payload = {
            "token": "unused",
            "team_id": "T0FAKE",
            "team_domain": "fake",
            "channel_id": "C0OPS",
            "channel_name": "ops",
            "user_id": "U0ALICE",
            "user_name": "alice",
            "command": "/docker",
            "text": "ps -a",
            "api_app_id": "A0APP",
            "response_url": fake_slack.response_url("sock"),
            "trigger_id": "1.2.3",
        }
        socket_slack.to_send.put(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "payload": payload,
                "accepts_response_payload": True,
            }
        )
        ack = socket_slack.acks.get(timeout=10)
        assert ack["envelope_id"] == "env-1"
        fake_slack.wait_for("response")
        [posted] = [c.body for c in fake_slack.of("response") if c.path.endswith("/sock")]
        assert any(block["type"] == "table" for block in posted["blocks"])
        health = requests.get(f"http://127.0.0.1:{service.port}/healthz", timeout=10)
        assert health.status_code == 200
        events = requests.post(f"http://127.0.0.1:{service.port}/slack/events", timeout=10)
        assert events.status_code == 404  # nothing comes over HTTP in Socket Mode
    finally:
        service.stop()


def test_bad_input_is_acknowledged_over_the_socket(
    sandbox: Sandbox, fake_slack: FakeSlack, socket_slack: FakeSocketModeSlack
) -> None:
    service = serve_bot(
        sandbox, fake_slack, slack_app_token="xapp-test-token", slack_signing_secret=None
    )
    try:
        assert socket_slack.connected.wait(10)
        socket_slack.to_send.put(
            {
                "envelope_id": "env-2",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    "command": "/docker",
                    "text": "pss",
                    "user_id": "U0ALICE",
                    "channel_id": "C0OPS",
                    "response_url": fake_slack.response_url("x"),
                },
            }
        )
        ack = socket_slack.acks.get(timeout=10)
        assert ack["envelope_id"] == "env-2"
        assert "Did you mean `ps`?" in json.dumps(ack["payload"])
    finally:
        service.stop()
