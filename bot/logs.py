"""Logging: plain lines or one JSON object a line (``CHATOPS_LOG_FORMAT=json``,
python-json-logger), each with the ID of the request being handled, and never a secret: the
Slack tokens, the signing secret, the audit key, the response URLs the bot was given
(``conceal``) and every recognisable secret shape (bot/core/redaction.py) are replaced
wherever they would appear, whichever logger writes the line (slack_sdk's retries and
urllib3's included), in messages and tracebacks alike."""

from __future__ import annotations

import logging
import re
import threading
import urllib.parse
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pythonjsonlogger.json
from pythonjsonlogger.core import RESERVED_ATTRS

from bot.core import redaction
from bot.core.trace_ids import current_trace_id

REDACTED = redaction.REDACTED
_MIN_SECRET = 8  # shorter values would blank ordinary words
_CONCEALED_KEPT = 4_096  # response URLs live 30 minutes; the most recent are remembered
_URL = re.compile(r"https?(?::|%3A)[^\s\"'<>\\&]+", re.IGNORECASE)
_TRAILING = ".,;:)]}"


class _Concealed:
    """Values this process was given that are credentials in themselves (response URLs): out
    of every log line. Looked up by URL, so a line costs the same however many there are."""

    def __init__(self) -> None:
        self._order: deque[str] = deque()
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        with self._lock:
            if value in self._known or not value:
                return
            self._order.append(value)
            self._known.add(value)
            while len(self._order) > _CONCEALED_KEPT:
                self._known.discard(self._order.popleft())

    def out_of(self, text: str) -> str:
        if not self._known:
            return text
        return _URL.sub(self._replace, text)

    def _replace(self, match: re.Match[str]) -> str:
        found = match.group(0)
        url = found.rstrip(_TRAILING)
        with self._lock:
            hidden = url in self._known or urllib.parse.unquote(url) in self._known
        return REDACTED + found[len(url) :] if hidden else found


_CONCEALED = _Concealed()


def conceal(value: str) -> None:
    """Keep ``value`` (a response URL: whoever has it may post as the bot) out of every log
    line this process writes from now on."""
    _CONCEALED.add(value)


class _RequestAndSecrets(logging.Filter):
    """Adds the trace ID (``trace_id``) to every record and takes secrets out of its message."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = current_trace_id() or ""
        try:
            message = record.getMessage()
        except Exception:  # a malformed call still logs, redacted like the rest
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = self._clean(message), None
        for key in REQUEST_FIELDS:  # a command is rendered redacted already; belt and braces
            value = getattr(record, key, None)
            if isinstance(value, str):
                setattr(record, key, self._clean(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
            # Formatters would format the traceback again from exc_info, unredacted; both
            # formats print exc_text when exc_info is gone.
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self._clean(record.stack_info)
        return True

    def _clean(self, text: str) -> str:
        return redaction.redact(_CONCEALED.out_of(text), self._secrets)


# What a request's one line holds (``log.info(REQUEST, extra=request_fields(...))``): fields,
# so that a log pipeline reads them without parsing prose.
REQUEST = "request"
REQUEST_FIELDS = ("user", "channel", "engine", "command", "outcome", "duration_ms")


def request_fields(
    *,
    user: str,
    channel: str | None,
    engine: str | None,
    command: str,
    outcome: str,
    seconds: float,
) -> dict[str, object]:
    """The ``extra`` of a request's log line."""
    return {
        "user": user,
        "channel": channel or "-",
        "engine": engine or "-",
        "command": command,
        "outcome": outcome,
        "duration_ms": round(seconds * 1000.0, 1),
    }


class JsonFormatter(pythonjsonlogger.json.JsonFormatter):
    """One JSON object a line (python-json-logger): time, level, logger, process, message,
    request_id (the trace ID, under the name log pipelines already read), exception, and
    the fields a line was logged with (a request's: ``REQUEST_FIELDS``)."""

    def __init__(self, *, process: str) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
            static_fields={"process": process},
            # Ours, for the plain format only; the trace ID is added as request_id below.
            reserved_attrs=[*RESERVED_ATTRS, "trace_id", "request_suffix", "plain_fields"],
            timestamp="time",
            json_ensure_ascii=False,
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["time"] = record_time(record)
        trace = getattr(record, "trace_id", "")
        if trace:
            log_data["request_id"] = trace


def record_time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def configure_logging(
    *, level: str, json_lines: bool, secrets: Iterable[str], process: str = "front"
) -> None:
    """Set up the root logger for this process (``process``: front or work)."""
    handler = logging.StreamHandler()
    if json_lines:
        handler.setFormatter(JsonFormatter(process=process))
    else:
        tag = "" if process == "front" else f" [{process}]"
        handler.setFormatter(
            logging.Formatter(
                f"%(asctime)s %(levelname)s %(name)s{tag}: %(message)s%(plain_fields)s"
                "%(request_suffix)s"
            )
        )
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
    trace = getattr(record, "trace_id", "")
    record.request_suffix = f" [request {trace}]" if trace else ""
    # A request's fields, read as key=value in the plain format.
    shown = [f"{key}={getattr(record, key)}" for key in REQUEST_FIELDS if hasattr(record, key)]
    record.plain_fields = (": " + " ".join(shown)) if shown else ""
    return True
