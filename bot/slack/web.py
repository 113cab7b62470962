"""The Slack Web API client the bot uses everywhere, Socket Mode's included."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler

from bot.service.metrics import SLACK_ERRORS, SLACK_RETRIES, Metrics


def retry_handlers(metrics: Metrics | None = None) -> list[RetryHandler]:
    """Slack's 429s waited out as ``Retry-After`` says; its 5xx answers and dropped
    connections retried with a growing pause (slack_sdk's backoff, with jitter); each retry
    counted in ``metrics``."""
    handlers: list[RetryHandler] = [
        RateLimitErrorRetryHandler(max_retry_count=5),
        ServerErrorRetryHandler(max_retry_count=3),
        ConnectionErrorRetryHandler(max_retry_count=2),
    ]
    if metrics is None:
        return handlers
    reasons = ("rate_limited", "server_error", "connection")
    pairs = zip(handlers, reasons, strict=True)
    return [_Counted(handler, reason, metrics) for handler, reason in pairs]


class _Counted(RetryHandler):
    """A retry handler that counts the retries it allows."""

    def __init__(self, inner: RetryHandler, reason: str, metrics: Metrics) -> None:
        super().__init__(
            max_retry_count=inner.max_retry_count, interval_calculator=inner.interval_calculator
        )
        self._inner = inner
        self._reason = reason
        self._metrics = metrics

    def can_retry(self, **kwargs: Any) -> bool:
        return self._inner.can_retry(**kwargs)

    def prepare_for_next_attempt(self, **kwargs: Any) -> None:
        self._metrics.count(SLACK_RETRIES, (("reason", self._reason),))
        self._inner.prepare_for_next_attempt(**kwargs)


class _CountingWebClient(WebClient):
    """Counts the API calls Slack refused, by method and error."""

    def __init__(self, *, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._metrics = metrics

    def api_call(self, api_method: str, **kwargs: Any) -> Any:
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as err:
            error = str(err.response.get("error") or err.response.status_code)
            self._metrics.count(SLACK_ERRORS, (("method", api_method), ("error", error)))
            raise
        except SlackClientError:
            self._metrics.count(SLACK_ERRORS, (("method", api_method), ("error", "connection")))
            raise


def make_web_client(
    *, token: str | None, base_url: str, timeout: int = 30, metrics: Metrics | None = None
) -> WebClient:
    """A client at ``base_url`` (GovSlack, a test fake) with ``retry_handlers``; with
    ``metrics``, its failures and retries counted."""
    if metrics is None:
        return WebClient(
            token=token, base_url=base_url, timeout=timeout, retry_handlers=retry_handlers()
        )
    return _CountingWebClient(
        metrics=metrics,
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=retry_handlers(metrics),
    )


def make_probe_client(*, token: str | None, base_url: str, timeout: int = 10) -> WebClient:
    """A client for the start-up check: no retries of its own and a quiet logger, because the
    caller retries with backoff and says so in one line per attempt."""
    quiet = logging.getLogger("bot.slack.probe")
    quiet.setLevel(logging.CRITICAL)
    return WebClient(
        token=token, base_url=base_url, timeout=timeout, retry_handlers=[], logger=quiet
    )
