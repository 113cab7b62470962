"""Translating docker SDK and ``requests`` exceptions into the project's errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import docker.errors
import requests.exceptions

from bot.core import redaction
from bot.errors import (
    ChatOpsError,
    Conflict,
    EngineError,
    EngineRequestFailed,
    EngineTimeout,
    EngineUnreachable,
    NotFound,
)


@contextmanager
def engine_errors(*, engine: str, location: str) -> Iterator[None]:
    """Re-raise any failure talking to ``engine`` as an ``EngineError`` subclass."""
    try:
        yield
    except ChatOpsError:
        raise
    except docker.errors.APIError as err:
        raise api_error(err) from None
    except (requests.exceptions.RequestException, docker.errors.DockerException, OSError) as err:
        # docker-py wraps a timeout during API version negotiation in a DockerException.
        if isinstance(err, requests.exceptions.Timeout) or isinstance(
            err.__cause__, requests.exceptions.Timeout
        ):
            raise EngineTimeout(
                f"Docker engine `{engine}` at {location} did not answer in time."
            ) from None
        # After start-up, docker-py lets requests' connection errors through unwrapped.
        raise unreachable(engine=engine, location=location, cause=err) from None


def api_error(err: docker.errors.APIError) -> EngineError:
    """The project's error for an error answer from the engine."""
    explanation = engine_words(err)
    status = err.status_code
    if status == 404:
        return NotFound(explanation)
    if status == 409:
        return Conflict(explanation)
    return EngineRequestFailed(explanation)


def unreachable(*, engine: str, location: str, cause: BaseException) -> EngineUnreachable:
    detail = _short_cause(cause)
    return EngineUnreachable(
        f"Cannot reach Docker engine `{engine}` at {location}: {detail}. Is the engine running, "
        "and may the bot use it? Set DOCKER_HOST or [engines.NAME] url in chatops.toml to point "
        "elsewhere."
    )


def engine_words(err: docker.errors.DockerException) -> str:
    """What the engine (or the client) said, redacted: for a message of our own."""
    text = err.explanation if isinstance(err, docker.errors.APIError) else str(err)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    # The engine's message may quote a container's command line (a start that failed).
    text = redaction.redact((text or str(err)).strip())
    return text[:1].upper() + text[1:] if text else "The engine refused the request."


_KNOWN_CAUSES = (
    ("FileNotFoundError", "the socket does not exist"),
    ("No such file", "the socket does not exist"),
    ("ConnectionRefusedError", "connection refused"),
    ("Connection refused", "connection refused"),
    ("PermissionError", "permission denied on the socket"),
    ("Permission denied", "permission denied on the socket"),
)


def _short_cause(cause: BaseException) -> str:
    text = str(cause)
    for marker, meaning in _KNOWN_CAUSES:
        if marker in text:
            return meaning
    return text.splitlines()[0][:200] if text else type(cause).__name__
