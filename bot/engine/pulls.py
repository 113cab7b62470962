"""Pulling an image: the engine's progress stream, with its failures made the project's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker
import docker.errors

from bot.core.references import ImageReference
from bot.engine.translate import api_error
from bot.errors import PullFailed


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
