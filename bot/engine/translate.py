"""Translating docker SDK and ``requests`` exceptions into the project's errors.

The docker SDK is imported only once an error needs it: ``bot.engine.lean``, which reads
listings without the SDK, words its errors with the same functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    import docker.errors


@contextmanager
def engine_errors(*, engine: str, location: str) -> Iterator[None]:
    """Re-raise any failure talking to ``engine`` as an ``EngineError`` subclass."""
    try:
        yield
    except ChatOpsError:
        raise
    except Exception as err:
        import docker.errors
        import requests.exceptions

        if isinstance(err, docker.errors.APIError):
            raise api_error(err) from None
        if not isinstance(
            err, requests.exceptions.RequestException | docker.errors.DockerException | OSError
        ):
            raise
        # docker-py wraps a timeout during API version negotiation in a DockerException.
        if isinstance(err, requests.exceptions.Timeout) or isinstance(
            err.__cause__, requests.exceptions.Timeout
        ):
            raise timed_out(engine=engine, location=location) from None
        # After start-up, docker-py lets requests' connection errors through unwrapped.
        raise unreachable(engine=engine, location=location, cause=err) from None


def api_error(err: docker.errors.APIError) -> EngineError:
    """The project's error for an error answer from the engine."""
    return answer_error(err.status_code, engine_words(err))


def answer_error(status: int | None, explanation: str) -> EngineError:
    """The project's error for an error answer (``status``) from the engine, whose words
    (``explanation``) are already redacted."""
    if status == 404:
        return NotFound(explanation)
    if status == 409:
        return Conflict(explanation)
    return EngineRequestFailed(explanation)


def timed_out(*, engine: str, location: str) -> EngineTimeout:
    return EngineTimeout(f"Docker engine `{engine}` at {location} did not answer in time.")


def unreachable(*, engine: str, location: str, cause: BaseException) -> EngineUnreachable:
    detail = _short_cause(cause)
    return EngineUnreachable(
        f"Cannot reach Docker engine `{engine}` at {location}: {detail}. Is the engine running, "
        "and may the bot use it? Set DOCKER_HOST or [engines.NAME] url in chatops.toml to point "
        "elsewhere."
    )


def engine_words(err: docker.errors.DockerException) -> str:
    """What the engine (or the client) said, redacted: for a message of our own."""
    import docker.errors

    text = err.explanation if isinstance(err, docker.errors.APIError) else str(err)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return said(text or str(err))


def said(text: str) -> str:
    """The engine's words as a message of our own: redacted (they may quote a container's
    command line, for a start that failed), with a capital letter."""
    text = redaction.redact(text.strip())
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
