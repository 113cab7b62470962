from __future__ import annotations

import pytest

from bot.core.references import parse_image_reference
from bot.errors import ParseError


@pytest.mark.parametrize(
    ("text", "canonical", "familiar"),
    [
        ("nginx", "docker.io/library/nginx:latest", "nginx:latest"),
        ("nginx:1.27", "docker.io/library/nginx:1.27", "nginx:1.27"),
        ("library/nginx", "docker.io/library/nginx:latest", "nginx:latest"),
        ("docker.io/nginx", "docker.io/library/nginx:latest", "nginx:latest"),
        ("index.docker.io/library/nginx", "docker.io/library/nginx:latest", "nginx:latest"),
        ("bitnami/redis:7.2", "docker.io/bitnami/redis:7.2", "bitnami/redis:7.2"),
        ("ghcr.io/org/app:v1", "ghcr.io/org/app:v1", "ghcr.io/org/app:v1"),
        ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
        ("localhost:5000/a/b/c:t", "localhost:5000/a/b/c:t", "localhost:5000/a/b/c:t"),
        ("127.0.0.1:5055/x", "127.0.0.1:5055/x:latest", "127.0.0.1:5055/x:latest"),
        ("[::1]:5000/x:1", "[::1]:5000/x:1", "[::1]:5000/x:1"),
        ("a__b/c-d.e", "docker.io/a__b/c-d.e:latest", "a__b/c-d.e:latest"),
    ],
)
def test_normalisation(text: str, canonical: str, familiar: str) -> None:
    reference = parse_image_reference(text)
    assert reference.canonical() == canonical
    assert reference.familiar() == familiar


def test_digest_has_no_default_tag() -> None:
    digest = "sha256:" + "0" * 64
    reference = parse_image_reference(f"nginx@{digest}")
    assert reference.tag is None and reference.digest == digest
    assert reference.familiar() == f"nginx@{digest}"


def test_no_default_tag_when_asked() -> None:
    assert parse_image_reference("nginx", default_tag=False).tag is None


@pytest.mark.parametrize(
    "text",
    ["", "UPPER", "a b", "nginx:", "nginx:-bad", "a//b", "-a", "a/", "x@sha256:zz", "a.:1/b"],
)
def test_invalid(text: str) -> None:
    with pytest.raises(ParseError):
        parse_image_reference(text)
