"""docker-py's API client, refusing any URL argument with a `.` or `..` path segment.

docker-py puts names, IDs and references into the engine API's URL paths keeping `/` (image
references hold it), and dockerd collapses `..`: `x/../../containers/NAME` in an image's place
reached the containers endpoints. The parser accepts no such argument; this refuses it again
at the one place every request is made, whatever argument position a future command adds.
"""

from __future__ import annotations

from typing import Any

import docker
import docker.errors


class GuardedAPIClient(docker.APIClient):
    def _url(self, pathfmt: str, *args: Any, **kwargs: Any) -> str:
        for arg in args:
            if isinstance(arg, str) and any(part in (".", "..") for part in arg.split("/")):
                raise docker.errors.InvalidArgument(
                    f"{arg[:60]!r} is not a name, ID or reference (a path segment . or ..)"
                )
        # docker-py's own (private, stable since 1.x): not in its type stubs.
        return str(super()._url(pathfmt, *args, **kwargs))  # type: ignore[misc]
