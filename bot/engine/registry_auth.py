"""Registry credentials for pulls and tag reads: the Docker client's own where it has them
(``config.json`` under ``DOCKER_CONFIG``, as ``docker login`` writes it: docker-py reads it),
else the bot's ``[registries."HOST"]``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import docker.auth
import docker.errors

from bot.core.references import parse_image_reference
from bot.errors import ChatOpsError

# Sent as the login (an empty one): docker-py then looks up none of its own.
NO_LOGIN: dict[str, str] = {}


class RegistryAuth:
    """The credentials to send with a pull or a tag read of one reference, or None (the
    client sends its own, or the registry is anonymous)."""

    def __init__(self, *, credentials: Mapping[str, tuple[str, str]]) -> None:
        """``credentials``: registry host -> (username, password)."""
        self._credentials = dict(credentials)
        self._own: docker.auth.AuthConfig | None = None
        self._lock = threading.Lock()

    def for_reference(self, reference: str) -> dict[str, str] | None:
        """None: the client sends its own login for that registry, if it has one. ``{}``: no
        login at all, not even the client's."""
        try:
            ours = parse_image_reference(reference, default_tag=False).registry
            registry, _ = docker.auth.resolve_repository_name(reference)
        except (ChatOpsError, docker.errors.DockerException):
            return NO_LOGIN
        if ours != registry:
            # Read differently by two parsers (`LOCALHOST/x`: a host to the engine, Docker Hub
            # to docker-py, which would pick Hub's login): no login goes at all, neither ours
            # nor the one docker login wrote.
            return NO_LOGIN
        if not self._credentials:
            return None
        found = self._credentials.get(registry)
        if found is None or self._client_has(registry):
            return None
        username, password = found
        return {"username": username, "password": password, "serveraddress": registry}

    def _client_has(self, registry: str) -> bool:
        with self._lock:
            if self._own is None:
                self._own = docker.auth.load_config()
        return bool(self._own.resolve_authconfig(registry))


NO_REGISTRY_AUTH = RegistryAuth(credentials={})
