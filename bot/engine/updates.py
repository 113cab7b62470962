"""Which running containers' tags now point elsewhere in their registry, read without a pull.

The engine asks the registry for the tag's manifest (``GET /distribution/NAME/json``), so its
own registry settings apply (insecure loopback registries, mirrors, the credentials it holds).
A container is listed when the digest the registry gives is none of its image's repo digests
for that repository; one registry that fails is told, and the others are still asked, each
reference once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import docker
import docker.errors

from bot.core.references import parse_image_reference
from bot.engine.registry_auth import NO_REGISTRY_AUTH, RegistryAuth
from bot.engine.translate import engine_words
from bot.errors import ChatOpsError


@dataclass(frozen=True, kw_only=True, slots=True)
class AvailableUpdate:
    """A running container whose tag moved in its registry."""

    container_id: str
    name: str
    reference: str  # as the container was run (``app:latest``)
    current_digest: str | None  # the image's digest in that repository; None: never pushed
    available_digest: str
    current_created: datetime | None  # the image the container runs


@dataclass(frozen=True, kw_only=True, slots=True)
class UpdateCheck:
    """What a check found: the moved tags, and each reference whose registry failed."""

    updates: tuple[AvailableUpdate, ...]
    failures: tuple[tuple[str, str], ...]  # (reference, why)
    checked: int  # containers whose registry answered


# The registry's answer for one reference: its digest, or raises.
DigestReader = Callable[[str], str]


def engine_digest_reader(
    api: docker.APIClient, auth: RegistryAuth = NO_REGISTRY_AUTH
) -> DigestReader:
    """The tag's digest as the engine reads it from the registry (no pull)."""

    def read(reference: str) -> str:
        document = api.inspect_distribution(reference, auth_config=auth.for_reference(reference))
        return str(document["Descriptor"]["digest"])

    return read


def check_updates(
    *,
    containers: Iterable[Mapping[str, Any]],
    images: Mapping[str, Mapping[str, Any]],
    read_digest: DigestReader,
    budget: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> UpdateCheck:
    """``containers``: inspect documents of running containers; ``images``: their images'
    inspect documents by ID. ``budget``: seconds the whole check may spend asking registries
    (each call is bounded by the engine's timeout, but a check of many references on slow
    registries would add them up); the references not asked by then are told as such."""
    answers: dict[str, str | Exception] = {}
    deadline = None if budget is None else clock() + budget
    updates, failures, checked = [], [], 0
    for container in containers:
        reference = str(container["Config"].get("Image") or "")
        try:
            parsed = parse_image_reference(reference)
        except ChatOpsError:
            continue  # run from an image ID: no tag to follow
        if parsed.tag is None or parsed.digest is not None:
            continue  # pinned by digest: it cannot move
        key = parsed.familiar()
        if key not in answers and deadline is not None and clock() >= deadline:
            answers[key] = TimeoutError()
            failures.append(
                (key, f"not asked: the check ran out of its {budget:g} s; ask again later")
            )
        if key not in answers:
            try:
                answers[key] = read_digest(key)
            except (docker.errors.DockerException, KeyError, TypeError) as err:
                answers[key] = err
                failures.append((key, _why(err)))
        answer = answers[key]
        if isinstance(answer, Exception):
            continue
        checked += 1
        image = images.get(str(container["Image"])) or {}
        current = _repo_digest(image, parsed.repository, parsed.canonical_repository)
        if current == answer:
            continue
        updates.append(
            AvailableUpdate(
                container_id=str(container["Id"]),
                name=str(container["Name"]).lstrip("/"),
                reference=key,
                current_digest=current,
                available_digest=answer,
                current_created=_created(image),
            )
        )
    return UpdateCheck(updates=tuple(updates), failures=tuple(failures), checked=checked)


def _repo_digest(image: Mapping[str, Any], *repositories: str) -> str | None:
    for entry in image.get("RepoDigests") or ():
        repository, _, digest = str(entry).partition("@")
        if repository in repositories:
            return digest
    return None


def _created(image: Mapping[str, Any]) -> datetime | None:
    text = str(image.get("Created") or "")
    try:
        # The engine writes nanoseconds; Python reads microseconds.
        head = text.partition(".")[0]
        return datetime.fromisoformat(head).replace(tzinfo=UTC) if head else None
    except ValueError:
        return None


def _why(err: Exception) -> str:
    if isinstance(err, docker.errors.DockerException):
        return engine_words(err)[:300]
    return f"the registry's answer could not be read ({type(err).__name__})"
