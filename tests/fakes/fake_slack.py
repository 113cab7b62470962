"""A local stand-in for Slack: the Web API, response URLs and file uploads, recording every call.

Modelled on bolt-python's ``tests/mock_web_api_server``: a threaded HTTP server the bot reaches
through ``SLACK_API_URL``. Tests read ``calls`` to see what the bot sent, and can make a method
answer with an error or a 429 first.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests


@dataclass
class Call:
    """One request that reached the fake: ``method`` is the API method or the path kind."""

    method: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    received: float = field(default_factory=time.time)  # wall clock, for latency benchmarks


@dataclass
class FakeSlack:
    """The server's state; shared with the request handler."""

    calls: list[Call] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # method -> Slack error code
    rate_limited: dict[str, int] = field(default_factory=dict)  # method -> 429s still to send
    # method (or "response" for response URLs) -> 5xx answers still to send
    server_errors: dict[str, int] = field(default_factory=dict)
    socket_mode_url: str = ""
    usergroups: dict[str, list[str]] = field(default_factory=dict)  # group ID -> user IDs
    # Who the IDs are, for users.info, conversations.info and usergroups.list.
    user_names: dict[str, str] = field(default_factory=dict)  # user ID -> name
    channel_names: dict[str, str] = field(default_factory=dict)  # channel ID -> name
    not_a_member_of: set[str] = field(default_factory=set)  # channel IDs
    group_handles: dict[str, str] = field(default_factory=dict)  # group ID -> handle
    # Response URL names Slack refuses (expired, used too often): answered 404 expired_url.
    refused_responses: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(default_factory=threading.Condition)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))  # type: ignore[type-arg]

    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.base_url}/response/{name}"

    def reset(self) -> None:
        """Forget every call and scripted failure: a fresh fake for the next test of a module
        that shares one served bot (its server and URLs stay)."""
        with self.changed:
            self.calls.clear()
            self.errors.clear()
            self.rate_limited.clear()
            self.server_errors.clear()
            self.refused_responses.clear()
            self.usergroups.clear()
            self.user_names.clear()
            self.channel_names.clear()
            self.not_a_member_of.clear()
            self.group_handles.clear()

    def record(self, call: Call) -> None:
        with self.changed:
            self.calls.append(call)
            self.changed.notify_all()

    def of(self, method: str) -> list[Call]:
        with self.lock:
            return [call for call in self.calls if call.method == method]

    def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        timeout: float = 30.0,
        where: Callable[[Call], bool] = lambda call: True,
    ) -> list[Call]:
        """The calls of ``method`` (matching ``where``), once there are ``count`` of them."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [call for call in self.calls if call.method == method and where(call)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [call.method for call in self.calls]
                    raise AssertionError(f"no {count} x {method} within {timeout}s; saw {seen}")
                self.changed.wait(remaining)

    def answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method in self.errors:
            return {"ok": False, "error": self.errors[method]}
        if method == "users.info":
            user = str(body.get("user", ""))
            if user not in self.user_names:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": user, "name": self.user_names[user]}}
        if method == "conversations.info":
            channel = str(body.get("channel", ""))
            if channel not in self.channel_names:
                return {"ok": False, "error": "channel_not_found"}
            member = channel not in self.not_a_member_of
            info = {"id": channel, "name": self.channel_names[channel], "is_member": member}
            return {"ok": True, "channel": info}
        if method == "usergroups.list":
            groups = [
                {"id": group, "handle": handle, "user_count": len(self.usergroups.get(group, []))}
                for group, handle in self.group_handles.items()
            ]
            return {"ok": True, "usergroups": groups}
        ts = f"1700000000.{next(self._ts):06d}"
        answers: dict[str, dict[str, Any]] = {
            "auth.test": {
                "url": "https://fake.slack.com/",
                "team": "Fake",
                "user": "dockerbot",
                "team_id": "T0FAKE",
                "user_id": "U0BOT",
                "bot_id": "B0BOT",
                "is_enterprise_install": False,
            },
            "chat.postMessage": {"channel": body.get("channel"), "ts": ts},
            "chat.update": {"channel": body.get("channel"), "ts": body.get("ts")},
            "chat.postEphemeral": {"message_ts": ts},
            "conversations.open": {"channel": {"id": "D0DIRECT"}},
            "files.getUploadURLExternal": {
                "upload_url": f"{self.base_url}/upload/F{ts[-6:]}",
                "file_id": f"F{ts[-6:]}",
            },
            "files.completeUploadExternal": {"files": [{"id": "F1", "title": "file"}]},
            "apps.connections.open": {"url": self.socket_mode_url},
            "usergroups.users.list": {"users": self.usergroups.get(body.get("usergroup", ""), [])},
        }
        return {"ok": True, **answers.get(method, {})}


class _Handler(BaseHTTPRequestHandler):
    state: FakeSlack

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        body = _decode(raw, self.headers.get("Content-Type", ""))
        headers = {key.lower(): value for key, value in self.headers.items()}
        if self.path.startswith("/api/"):
            method = self.path[len("/api/") :].split("?")[0]
            self.state.record(Call(method=method, path=self.path, body=body, headers=headers))
            if self._server_error(method):
                return
            left = self.state.rate_limited.get(method, 0)
            if left:
                self.state.rate_limited[method] = left - 1
                self._send(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
                return
            self._send(200, self.state.answer(method, body))
            return
        kind = self.path.strip("/").split("/")[0]  # "response" or "upload"
        if kind == "upload":  # file bytes, whatever the Content-Type says
            body = {"raw": raw.decode(errors="replace")}
        self.state.record(Call(method=kind, path=self.path, body=body, headers=headers))
        if kind == "response" and self._server_error("response"):
            return
        if kind == "response" and self.path.rsplit("/", 1)[-1] in self.state.refused_responses:
            self._send(404, {"ok": False, "error": "expired_url"})
            return
        self._send(200, {"ok": True} if kind == "response" else None)

    def _server_error(self, method: str) -> bool:
        """Answer 503 if ``method`` still has server errors to send."""
        with self.state.changed:
            left = self.state.server_errors.get(method, 0)
            if left:
                self.state.server_errors[method] = left - 1
        if left:
            self._send(503, {"ok": False, "error": "service_unavailable"})
        return bool(left)

    def _send(
        self, status: int, body: dict[str, Any] | None, extra: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode() if body is not None else b"OK"
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if body is not None else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return None


def _decode(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if "json" in content_type:
        return dict(json.loads(raw))
    if "x-www-form-urlencoded" in content_type:
        return {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
    return {"raw": raw.decode(errors="replace")}


def start_fake_slack(port: int = 0, *, host: str = "127.0.0.1") -> FakeSlack:
    """The fake on ``host`` (a bridge's address on this host, for a bot in a container)."""
    state = FakeSlack()
    handler = type("Handler", (_Handler,), {"state": state})
    state.server = ThreadingHTTPServer((host, port), handler)
    state.server.daemon_threads = True
    threading.Thread(target=state.server.serve_forever, daemon=True).start()
    return state


def stop_fake_slack(state: FakeSlack) -> None:
    assert state.server is not None
    state.server.shutdown()
    state.server.server_close()


# --- requests as Slack sends them ----------------------------------------------------------


def sign(secret: str, body: str, timestamp: int) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slash_command_body(
    *,
    text: str,
    response_url: str,
    user_id: str = "U0ALICE",
    channel_id: str = "C0OPS",
    command: str = "/docker",
) -> str:
    """Form-encoded, field for field as Slack posts a slash command."""
    return urllib.parse.urlencode(
        {
            "token": "verification-token-unused",
            "team_id": "T0FAKE",
            "team_domain": "fake",
            "channel_id": channel_id,
            "channel_name": "ops",
            "user_id": user_id,
            "user_name": "alice",
            "command": command,
            "text": text,
            "api_app_id": "A0APP",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
    )


def post_signed(
    url: str,
    body: str,
    *,
    secret: str,
    timestamp: int | None = None,
    signature: str | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    timestamp = int(time.time()) if timestamp is None else timestamp
    json_body = body.startswith("{")  # Events API deliveries are JSON; the rest form-encoded
    return requests.post(
        url,
        data=body,
        headers={
            "Content-Type": "application/json"
            if json_body
            else "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature or sign(secret, body, timestamp),
            **(headers or {}),
        },
        timeout=10,
    )


def event_body(event: dict[str, Any], *, event_id: str = "Ev0001", team_id: str = "T0FAKE") -> str:
    """An Events API ``event_callback`` delivery, as Slack posts it (JSON)."""
    return json.dumps(
        {
            "token": "verification-token-unused",
            "team_id": team_id,
            "api_app_id": "A0APP",
            "event": {"event_ts": event.get("ts", "1700000000.000100"), **event},
            "type": "event_callback",
            "event_id": event_id,
            "event_time": 1700000000,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": "U0BOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-fake",
        }
    )


def mention_event(
    text: str,
    *,
    user: str = "U0ALICE",
    channel: str = "C0OPS",
    ts: str = "1700000100.000100",
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """``app_mention``: ``text`` as Slack sends it (the mention as ``<@U0BOT>``)."""
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@U0BOT> {text}",
        "ts": ts,
        "channel": channel,
        "client_msg_id": "c0ffee",
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def direct_message_event(
    text: str,
    *,
    user: str = "U0ALICE",
    channel: str = "D0ALICE",
    ts: str = "1700000200.000100",
) -> dict[str, Any]:
    """``message.im``: a direct message to the bot."""
    return {
        "type": "message",
        "channel_type": "im",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "client_msg_id": "d0ffee",
    }


def block_actions_body(
    *,
    action_id: str,
    value: str,
    user_id: str,
    response_url: str,
    channel_id: str = "C0OPS",
    message_ts: str = "1700000000.000001",
    action: dict[str, Any] | None = None,
    ephemeral: bool = False,
) -> str:
    """A button click (or, with ``action``, any element's action), form-encoded as Slack posts
    ``block_actions`` interactivity payloads."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            "team_id": "T0FAKE",
        },
        "api_app_id": "A0APP",
        "token": "verification-token-unused",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": "1.2.3",
        "team": {"id": "T0FAKE", "domain": "fake"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "ops"},
        "message": {"type": "message", "ts": message_ts, "text": "Approval request"},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            action
            or {
                "action_id": action_id,
                "block_id": "approval",
                "value": value,
                "type": "button",
                "action_ts": "1700000001.000000",
                "text": {"type": "plain_text", "text": "Approve"},
            }
        ],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})
