"""Logging: plain lines or one JSON object a line (``LOG_FORMAT=json``), each with the ID of
the request being handled, and never a secret: the Slack tokens, the signing secret and the
audit key are replaced wherever they would appear."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from bot.core.request_ids import current_request_id

REDACTED = "<redacted>"
_MIN_SECRET = 8  # shorter values would blank ordinary words


class _RequestAndSecrets(logging.Filter):
    """Adds ``request_id`` to every record and takes secrets out of its message."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or ""
        if self._secrets:
            message = record.getMessage()
            for secret in self._secrets:
                message = message.replace(secret, REDACTED)
            record.msg, record.args = message, None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                for secret in self._secrets:
                    record.exc_text = record.exc_text.replace(secret, REDACTED)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id (and exception)."""

    def __init__(self, *, process: str) -> None:
        super().__init__()
        self._process = process

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": self._process,
            "message": record.getMessage(),
        }
        request = getattr(record, "request_id", "")
        if request:
            line["request_id"] = request
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def configure_logging(
    *, level: str, json_lines: bool, secrets: Iterable[str], process: str = "front"
) -> None:
    """Set up the root logger for this process (``process``: front or work)."""
    handler = logging.StreamHandler()
    if json_lines:
        handler.setFormatter(JsonFormatter(process=process))
    else:
        tag = "" if process == "front" else f" [{process}]"
        handler.setFormatter(logging.Formatter(
            f"%(asctime)s %(levelname)s %(name)s{tag}: %(message)s%(request_suffix)s"))  # fmt: skip
    handler.addFilter(_RequestAndSecrets(secrets))
    handler.addFilter(_suffix)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic narrates its set-up at INFO; what the bot does with the schema it says itself.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _suffix(record: logging.LogRecord) -> bool:
    request = getattr(record, "request_id", "")
    record.request_suffix = f" [request {request}]" if request else ""
    return True
