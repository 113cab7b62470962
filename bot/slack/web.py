"""The Slack Web API client the bot uses everywhere, Socket Mode's included."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler


def retry_handlers() -> list[RetryHandler]:
    """Slack's 429s waited out as ``Retry-After`` says; its 5xx answers and dropped
    connections retried with a growing pause (slack_sdk's backoff, with jitter)."""
    return [
        RateLimitErrorRetryHandler(max_retry_count=5),
        ServerErrorRetryHandler(max_retry_count=3),
        ConnectionErrorRetryHandler(max_retry_count=2),
    ]


def make_web_client(*, token: str | None, base_url: str, timeout: int = 30) -> WebClient:
    """A client at ``base_url`` (GovSlack, a test fake) with ``retry_handlers``."""
    return WebClient(
        token=token, base_url=base_url, timeout=timeout, retry_handlers=retry_handlers()
    )


def make_probe_client(*, token: str | None, base_url: str, timeout: int = 10) -> WebClient:
    """A client for the start-up check: no retries of its own and a quiet logger, because the
    caller retries with backoff and says so in one line per attempt."""
    quiet = logging.getLogger("bot.slack.probe")
    quiet.setLevel(logging.CRITICAL)
    return WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[],
                     logger=quiet)  # fmt: skip
