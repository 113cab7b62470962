"""The metrics port: what the service counts and times, whatever collects it.

Names are plain strings (``bot.metrics`` declares them for Prometheus); labels are ordered
(name, value) pairs. The work process forwards to the front, which serves ``/metrics``.
"""

from __future__ import annotations

from typing import Protocol

Labels = tuple[tuple[str, str], ...]

COMMANDS = "commands"  # labels: action, outcome (ok, error, approval, withdrawn, failed)
COMMAND_SECONDS = "command_seconds"  # labels: action
ACK_SECONDS = "ack_seconds"  # Slack's requests, until the acknowledgement went back
APPROVALS = "approvals"  # labels: outcome (approved, rejected, executed, refused, expired...)
HOUSEKEEPING_OBJECTS = "housekeeping_objects"  # labels: engine
HOUSEKEEPING_BYTES = "housekeeping_bytes"  # labels: engine
SLACK_ERRORS = "slack_api_errors"  # labels: method, error
SLACK_RETRIES = "slack_api_retries"  # labels: reason (rate_limited, server_error, connection)


class Metrics(Protocol):
    def count(self, name: str, labels: Labels = (), amount: float = 1.0) -> None: ...

    def observe(self, name: str, value: float, labels: Labels = ()) -> None: ...


class NoMetrics:
    """Counts nothing (the console, unit tests that are about something else)."""

    def count(self, name: str, labels: Labels = (), amount: float = 1.0) -> None:
        return None

    def observe(self, name: str, value: float, labels: Labels = ()) -> None:
        return None
