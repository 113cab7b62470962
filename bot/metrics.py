"""``GET /metrics`` for Prometheus (prometheus-client): the service's counters and timings,
and, read at each scrape, engine reachability and each event stream's lag."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.service import metrics as names
from bot.service.metrics import Labels

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class PrometheusMetrics:
    """``bot.service.metrics.Metrics`` on a registry of its own (no process-wide state)."""

    def __init__(
        self,
        *,
        engines_up: Callable[[], dict[str, bool]] = dict,
        stream_lag: Callable[[], dict[str, float]] = dict,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._counters = {
            names.COMMANDS: Counter(
                "chatops_commands_total",
                "Commands run, by action and outcome",
                ["action", "outcome"],
                registry=r,
            ),
            names.APPROVALS: Counter(
                "chatops_approvals_total", "Approval decisions by outcome", ["outcome"], registry=r
            ),
            names.HOUSEKEEPING_OBJECTS: Counter(
                "chatops_housekeeping_objects_total",
                "Objects housekeeping removed",
                ["engine"],
                registry=r,
            ),
            names.HOUSEKEEPING_BYTES: Counter(
                "chatops_housekeeping_reclaimed_bytes_total",
                "Bytes housekeeping reclaimed",
                ["engine"],
                registry=r,
            ),
            names.SLACK_ERRORS: Counter(
                "chatops_slack_api_errors_total",
                "Slack API calls that failed",
                ["method", "error"],
                registry=r,
            ),
            names.SLACK_RETRIES: Counter(
                "chatops_slack_api_retries_total", "Slack API calls retried", ["reason"], registry=r
            ),
        }
        self._histograms = {
            names.COMMAND_SECONDS: Histogram(
                "chatops_command_seconds",
                "From a command's acknowledgement to its answer",
                ["action"],
                buckets=_SECONDS,
                registry=r,
            ),
            names.ACK_SECONDS: Histogram(
                "chatops_ack_seconds",
                "Slack's requests, until the acknowledgement",
                buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
                registry=r,
            ),
        }
        r.register(_Live(engines_up=engines_up, stream_lag=stream_lag))
        self._lock = threading.Lock()

    def count(self, name: str, labels: Labels = (), amount: float = 1.0) -> None:
        counter = self._counters.get(name)
        if counter is not None:
            with _never_raises(name):
                (counter.labels(*[v for _, v in labels]) if labels else counter).inc(amount)

    def observe(self, name: str, value: float, labels: Labels = ()) -> None:
        histogram = self._histograms.get(name)
        if histogram is not None:
            with _never_raises(name):
                target = histogram.labels(*[v for _, v in labels]) if labels else histogram
                target.observe(value)

    def exposition(self) -> bytes:
        """The text Prometheus scrapes."""
        with self._lock:
            return generate_latest(self.registry)


@contextlib.contextmanager
def _never_raises(name: str) -> Iterator[None]:
    """Counting must never break what is counted (a Slack call, an answer)."""
    try:
        yield
    except Exception:
        log.exception("metric %s could not be recorded", name)


class _Live(Collector):
    """Values read when Prometheus scrapes, not counted."""

    def __init__(
        self,
        *,
        engines_up: Callable[[], dict[str, bool]],
        stream_lag: Callable[[], dict[str, float]],
    ) -> None:
        self._engines_up = engines_up
        self._stream_lag = stream_lag

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # nothing read at registration: what it reads may not exist yet

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "chatops_engine_up", "1 if the engine answered its last health probe", labels=["engine"]
        )
        for engine, ok in sorted(self._engines_up().items()):
            up.add_metric([engine], 1.0 if ok else 0.0)
        yield up
        lag = GaugeMetricFamily(
            "chatops_event_stream_lag_seconds",
            "From an engine event to the bot handling it, for the last event",
            labels=["engine"],
        )
        for engine, seconds in sorted(self._stream_lag().items()):
            lag.add_metric([engine], seconds)
        yield lag
