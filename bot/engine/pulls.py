"""Pulling an image: the engine's progress stream, with its failures made the project's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker
import docker.errors

from bot.core.references import ImageReference
from bot.core.results import PullProgress
from bot.engine.translate import api_error
from bot.errors import PullFailed


def progress_of(event: dict[str, Any]) -> PullProgress | None:
    """A pull stream's event as layer progress (None: a status line of no layer, such as
    "Pulling from REPO", whose id is the tag)."""
    status = str(event.get("status", ""))
    if not event.get("id") or status.startswith("Pulling from"):
        return None
    detail = event.get("progressDetail") or {}
    return PullProgress(
        layer=str(event["id"]),
        status=status,
        current=detail.get("current"),
        total=detail.get("total"),
    )


def pull_events(
    api: docker.APIClient,
    image: ImageReference,
    *,
    all_tags: bool = False,
    platform: str | None = None,
    auth_config: dict[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    """The pull's progress events; ``PullFailed`` for an error answer or an error inside the
    stream (a failed pull can still answer 200 and report the error in the stream)."""
    reference = image.repository if all_tags else image.familiar()
    try:
        stream = api.pull(
            image.repository,
            tag=None if all_tags else (image.digest or image.tag),
            all_tags=all_tags,
            platform=platform,
            auth_config=auth_config,
            stream=True,
            decode=True,
        )
        for event in stream:
            if "error" in event:
                detail = (event.get("errorDetail") or {}).get("message") or event["error"]
                raise PullFailed(f"Pull of {reference} failed: {detail}")
            yield event
    except docker.errors.APIError as err:
        raise PullFailed(f"Pull of {reference} failed: {api_error(err)}") from None
