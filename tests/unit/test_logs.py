"""Log lines: JSON when asked, the request ID on each, never a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.core.request_ids import handling
from bot.logs import configure_logging


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    configure_logging(level="INFO", json_lines=True,
                      secrets=["xoxb-secret-token-123", "k" * 64, "short"])  # fmt: skip
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
