"""Image references (``[registry[:port]/]path[:tag][@digest]``), parsed and normalised.

Follows the grammar of Docker's ``distribution/reference`` package, so ``nginx`` means
``docker.io/library/nginx:latest`` exactly as the Docker CLI understands it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import ParseError

DEFAULT_REGISTRY = "docker.io"
DEFAULT_TAG = "latest"
_LEGACY_REGISTRIES = frozenset({"index.docker.io", "registry-1.docker.io"})

_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
_DOMAIN = re.compile(
    r"(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
    r"(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*"
    r"|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?\Z"
)
_TAG = re.compile(r"[\w][\w.-]{0,127}\Z")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}\Z")
_MAX_NAME = 255
# The longest valid reference: a 255-character name, a 128-character tag and a sha512 digest.
# Longer text is refused before any regular expression reads it.
_MAX_REFERENCE = _MAX_NAME + 1 + 128 + 1 + len("sha512:") + 128


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageReference:
    """A normalised image reference. ``registry`` is ``docker.io`` for Docker Hub."""

    registry: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        """The repository in the short ("familiar") form the engine and users know."""
        if self.registry == DEFAULT_REGISTRY:
            return self.path.removeprefix("library/")
        return f"{self.registry}/{self.path}"

    @property
    def canonical_repository(self) -> str:
        return f"{self.registry}/{self.path}"

    def familiar(self) -> str:
        """``nginx:latest``, ``127.0.0.1:5000/team/app@sha256:...``."""
        return self.repository + self._suffix()

    def canonical(self) -> str:
        """``docker.io/library/nginx:latest``: the form to compare references with."""
        return self.canonical_repository + self._suffix()

    def _suffix(self) -> str:
        text = f":{self.tag}" if self.tag else ""
        return text + (f"@{self.digest}" if self.digest else "")

    def __str__(self) -> str:
        return self.familiar()


def parse_image_reference(text: str, *, default_tag: bool = True) -> ImageReference:
    """Parse ``text`` as an image reference; a missing tag means ``latest`` if ``default_tag``.

    Raises ParseError with a message that says what is wrong with the reference.
    """
    if not text:
        raise ParseError("The image name is empty.")
    if len(text) > _MAX_REFERENCE:
        raise ParseError(
            f"Invalid image reference {text[:40]!r}…: it is longer than {_MAX_REFERENCE} "
            "characters."
        )
    if any(ch.isspace() for ch in text):
        raise ParseError(f"Invalid image reference {text!r}: it contains white space.")
    remainder, digest = _split_digest(text)
    name, tag = _split_tag(remainder)
    registry, path = _split_registry(name, original=text)
    for component in path.split("/"):
        if not _PATH_COMPONENT.match(component):
            if component.lower() != component and _PATH_COMPONENT.match(component.lower()):
                raise ParseError(
                    f"Invalid image reference {text!r}: repository names must be lowercase."
                )
            raise ParseError(
                f"Invalid image reference {text!r}: {component!r} is not a valid name component "
                "(lowercase letters, digits and single separators . _ - only)."
            )
    if len(name) > _MAX_NAME:
        raise ParseError(
            f"Invalid image reference: the name is longer than {_MAX_NAME} characters."
        )
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return ImageReference(registry=registry, path=path, tag=tag, digest=digest)


def _split_digest(text: str) -> tuple[str, str | None]:
    if "@" not in text:
        return text, None
    remainder, _, digest = text.partition("@")
    if not _DIGEST.match(digest):
        raise ParseError(
            f"Invalid image reference {text!r}: {digest!r} is not a digest "
            "(expected e.g. sha256: followed by 64 hex digits)."
        )
    return remainder, digest


def _split_tag(text: str) -> tuple[str, str | None]:
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon <= slash:  # the colon (if any) belongs to a registry port
        return text, None
    name, tag = text[:colon], text[colon + 1 :]
    if not _TAG.match(tag):
        raise ParseError(
            f"Invalid image reference {text!r}: {tag!r} is not a valid tag "
            "(letters, digits, _ . - ; at most 128 characters)."
        )
    return name, tag


def _split_registry(name: str, *, original: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    is_domain = bool(sep) and (
        "." in first or ":" in first or first == "localhost" or first.lower() != first
    )
    if not is_domain:
        path = name if sep else f"library/{name}"
        return DEFAULT_REGISTRY, path
    if not _DOMAIN.match(first):
        raise ParseError(f"Invalid image reference {original!r}: {first!r} is not a registry host.")
    registry = DEFAULT_REGISTRY if first in _LEGACY_REGISTRIES else first
    if registry == DEFAULT_REGISTRY and "/" not in rest:
        rest = f"library/{rest}"
    return registry, rest
