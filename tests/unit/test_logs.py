"""Log lines: JSON when asked, the request ID on each, never a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.core.trace_ids import handling
from bot.logs import REQUEST, conceal, configure_logging, request_fields


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    configure_logging(
        level="INFO", json_lines=True, secrets=["xoxb-secret-token-123", "k" * 64, "short"]
    )
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    yield stream
    root.handlers[:] = before[0]
    root.setLevel(before[1])


def test_json_lines_carry_the_request_id_and_no_secret(captured: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    with handling("abc123def456"):
        log.info("posting with %s", "xoxb-secret-token-123")
    log.warning("key %s", "k" * 64)
    try:
        raise RuntimeError("token xoxb-secret-token-123 refused")
    except RuntimeError:
        log.exception("failed")
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert lines[0]["request_id"] == "abc123def456" and lines[0]["level"] == "INFO"
    assert "request_id" not in lines[1]
    text = captured.getvalue()
    assert "xoxb-secret-token-123" not in text and "k" * 64 not in text
    assert "<redacted>" in lines[0]["message"] and "<redacted>" in lines[2]["exception"]
    assert "short" not in [line["message"] for line in lines]  # too short to be redacted: kept


def test_no_logger_writes_a_response_url_a_token_or_a_secret_shape(captured: io.StringIO) -> None:
    """Whatever writes the line (slack_sdk's retries, urllib3, an exception's traceback, a
    stack), response URLs the bot was given and secret shapes are out of it."""
    given = "http://127.0.0.1:8123/response/abc123"
    other = "http://127.0.0.1:8123/response/never-given"
    conceal(given)
    hook = "https://hooks.slack.com/commands/T0FAKE/123456/AbCdEfGhIjKl"
    retry = logging.getLogger("slack_sdk.webhook.client")
    retry.info("A retry handler found: ServerErrorRetryHandler for POST %s - HTTP 503", given)
    retry.info("Going to retry the same request: POST %s", given)
    logging.getLogger("urllib3.connectionpool").warning(
        "Retrying after %s: url=%s, token %s", "error", hook, "xoxp-1-2-3-abcdef"
    )
    logging.getLogger("bot.test").info("pull from https://bob:hunter22@registry.example.com/x")
    logging.getLogger("bot.test").info("posting to %s.", other)  # a URL not given: kept
    try:
        raise RuntimeError(f"POST {given} failed, body form response_url={hook}")
    except RuntimeError:
        logging.getLogger("bot.test").exception("delivery failed")
    logging.getLogger("bot.test").info("here %s", given, stack_info=True)
    text = captured.getvalue()
    for secret in (given, "AbCdEfGhIjKl", "abcdef", "hunter22", "/response/abc123"):
        assert secret not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["message"].endswith("POST <redacted> - HTTP 503")
    assert "https://bob:<redacted>@registry.example.com/x" in lines[3]["message"]
    assert lines[4]["message"] == f"posting to {other}."  # the positive control
    assert "RuntimeError: POST <redacted> failed" in lines[5]["exception"]
    assert lines[6]["message"] == "here <redacted>"


def test_a_malformed_call_is_still_logged_and_redacted(captured: io.StringIO) -> None:
    logging.getLogger("bot.test").info("two %s %s", "xoxb-1-2-abcdef")  # one argument short
    [line] = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert "two" in line["message"] and "abcdef" not in line["message"]


def test_a_request_is_one_line_of_fields(captured: io.StringIO) -> None:
    """Fields a log pipeline reads as they are: who, where, on which engine, what, how it
    ended and how long it took; the command's secrets are out of it like any message's."""
    log = logging.getLogger("bot.service.requests")
    with handling("feedc0ffee12"):
        log.info(
            REQUEST,
            extra=request_fields(
                user="U0ALICE",
                channel=None,
                engine="prod",
                command="run -e TOKEN=xoxb-secret-token-123 busybox",
                outcome="ok",
                seconds=0.2104,
            ),
        )
    [line] = [json.loads(text) for text in captured.getvalue().splitlines()]
    assert line["message"] == "request" and line["request_id"] == "feedc0ffee12"
    assert line["user"] == "U0ALICE" and line["channel"] == "-" and line["engine"] == "prod"
    assert line["outcome"] == "ok" and line["duration_ms"] == 210.4
    assert "xoxb-secret-token-123" not in line["command"] and "<redacted>" in line["command"]
    assert "trace_id" not in line and "plain_fields" not in line and "request_suffix" not in line


def test_the_plain_format_shows_a_requests_fields_as_key_values() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    try:
        configure_logging(level="INFO", json_lines=False, secrets=[])
        handler = root.handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(stream)
        fields = request_fields(
            user="U0BOB", channel="C0OPS", engine=None, command="ps -a", outcome="ok", seconds=1
        )
        logging.getLogger("bot.x").info(REQUEST, extra=fields)
        logging.getLogger("bot.x").info("something else")  # control: no fields, no suffix
    finally:
        root.handlers[:] = before[0]
        root.setLevel(before[1])
    first, second = stream.getvalue().splitlines()
    assert first.endswith(
        "request: user=U0BOB channel=C0OPS engine=- command=ps -a outcome=ok duration_ms=1000.0"
    )
    assert second.endswith("bot.x: something else")
