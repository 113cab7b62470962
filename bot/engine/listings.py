"""``ps`` and ``images`` over any client that reads the Engine API's listings: the docker SDK's
``APIClient`` (``DockerEngine``) or the standard library's (``bot.engine.lean``), so that both
answer alike. Imports nothing of the docker SDK."""

from __future__ import annotations

from typing import Any, Protocol

from bot.core import operations, results
from bot.engine import mapping
from bot.engine.environments import InspectReader, ListedEnvironments


class ListingClient(Protocol):
    """What the listings ask of an Engine API client (as ``docker.APIClient`` names it)."""

    def containers(
        self,
        *,
        all: bool,
        limit: int,
        latest: bool,
        filters: dict[str, Any] | None,
        trunc: bool,
    ) -> Any: ...

    def images(self, *, all: bool, filters: dict[str, Any] | None) -> Any: ...


def container_list(
    api: ListingClient,
    op: operations.ListContainers,
    *,
    environments: ListedEnvironments,
    inspect: InspectReader,
) -> results.ContainerList:
    """``ps``: one listing call; commands redacted with each container's environment."""
    docs = api.containers(
        all=op.all or op.last is not None or op.latest,
        limit=op.last if op.last is not None else -1,
        latest=op.latest,
        filters=operations.filters_as_dict(op.filters) or None,
        trunc=False,
    )
    rows = tuple(environments.rows(inspect, docs))
    return results.ContainerList(rows=rows, quiet=op.quiet, no_trunc=op.no_trunc)


def image_list(api: ListingClient, op: operations.ListImages) -> results.ImageList:
    """``images``: one listing call, one row per tag, newest first."""
    docs = api.images(all=op.all, filters=operations.filters_as_dict(op.filters) or None)
    rows = [row for doc in docs for row in mapping.image_rows(doc)]
    rows.sort(key=lambda row: row.created, reverse=True)
    return results.ImageList(
        rows=tuple(rows), quiet=op.quiet, digests=op.digests, no_trunc=op.no_trunc
    )
