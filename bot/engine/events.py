"""The real engine's event stream and what a notice reads (docker-py's low-level client)."""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import docker
import docker.errors

from bot.core import redaction
from bot.core.cleanup import parse_engine_time
from bot.core.notices.events import WATCHED_ACTIONS, ContainerBrief, ContainerEvent, NoticeDetails
from bot.engine import mapping
from bot.errors import EngineError

# Attributes Docker adds to a container event beside the container's labels.
_NOT_LABELS = frozenset({"name", "image", "exitCode", "signal", "execID", "exitcode"})
_DETAIL_CHARACTERS = 4_000


def event_from_doc(doc: dict[str, Any]) -> ContainerEvent | None:
    """A container event, or None for anything else the engine sent."""
    if doc.get("Type") != "container":
        return None
    actor = doc.get("Actor") or {}
    attributes = {str(k): str(v) for k, v in (actor.get("Attributes") or {}).items()}
    action, _, health = str(doc.get("Action", "")).partition(":")
    exit_code = attributes.get("exitCode")
    return ContainerEvent(
        action=action,
        container_id=str(actor.get("ID", "")),
        name=attributes.get("name", ""),
        image=attributes.get("image", ""),
        time_ns=int(doc.get("timeNano") or int(doc.get("time") or 0) * 1_000_000_000),
        exit_code=int(exit_code) if exit_code and exit_code.lstrip("-").isdigit() else None,
        health=health.strip() or None,
        signal=attributes.get("signal"),
        labels={k: v for k, v in attributes.items() if k not in _NOT_LABELS},
    )


def event_filters() -> dict[str, list[str]]:
    return {"type": ["container"], "event": list(WATCHED_ACTIONS)}


class DockerEventStream:
    """``EventStream`` over one ``GET /events`` response; ``close()`` ends it from any thread."""

    def __init__(
        self, *, stream: Any, errors: Callable[[], Any], on_close: Callable[[], None]
    ) -> None:
        self._stream = stream
        self._errors = errors
        self._on_close = on_close
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[ContainerEvent]:
        iterator = iter(self._stream)
        while True:
            try:
                with self._errors():
                    doc = next(iterator)
            except StopIteration:
                return
            except EngineError:
                if self._closed.is_set():
                    return
                raise
            event = event_from_doc(doc) if isinstance(doc, dict) else None
            if event is not None:
                yield event

    def close(self) -> None:
        self._closed.set()
        for close in (self._stream.close, self._on_close):
            with contextlib.suppress(Exception):  # a broken stream may fail to close; it is
                close()


def brief(doc: dict[str, Any]) -> ContainerBrief:
    names = [str(name).lstrip("/") for name in doc.get("Names") or ()]
    return ContainerBrief(
        container_id=str(doc.get("Id", "")),
        name=names[0] if names else str(doc.get("Id", ""))[:12],
        image=str(doc.get("Image") or ""),
        running=doc.get("State") == "running",
        status=str(doc.get("Status") or doc.get("State") or ""),
        labels={str(k): str(v) for k, v in (doc.get("Labels") or {}).items()},
    )


def engine_time_ns(api: docker.APIClient) -> int:
    """The engine's clock, from ``GET /info`` (its events carry the same clock)."""
    text = str(api.info().get("SystemTime") or "")
    main, _, rest = text.partition(".")
    digits = "".join(itertools.takewhile(str.isdigit, rest))
    moment = parse_engine_time(main + rest[len(digits) :])
    if moment is None:
        raise docker.errors.DockerException(f"the engine reported no time ({text!r})")
    return int(moment.timestamp()) * 1_000_000_000 + int(digits.ljust(9, "0")[:9] or 0)


def notice_details(api: docker.APIClient, container_id: str, *, lines: int) -> NoticeDetails:
    """The log tail and last health output of a container, redacted (its environment values
    and secret shapes) before they are cut."""
    try:
        doc = api.inspect_container(container_id)
        raw = api.logs(container_id, stdout=True, stderr=True, tail=lines)
    except docker.errors.NotFound:
        return NoticeDetails(missing=True)
    data = raw if isinstance(raw, bytes) else b"".join(raw)
    secrets = secret_values(doc)
    health = ((doc.get("State") or {}).get("Health") or {}).get("Log") or []
    output = str(health[-1].get("Output") or "") if health else ""
    return NoticeDetails(
        log_tail=redaction.redacted_tail(data, _DETAIL_CHARACTERS, secrets),
        health_output=redaction.redacted_tail(output, _DETAIL_CHARACTERS, secrets),
    )


def redact_values(text: str, secrets: list[str]) -> str:
    """``text`` with each of ``secrets`` and every secret shape replaced by ``<redacted>``."""
    return redaction.redact(text, secrets)


def secret_values(doc: dict[str, Any]) -> list[str]:
    """The values of a container's environment (an inspect document) that could be secrets,
    longest first: what is redacted from its logs and process lists."""
    return mapping.secret_values(doc)
