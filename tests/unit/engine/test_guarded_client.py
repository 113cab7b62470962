"""The engine client refuses a URL argument with a `.` or `..` path segment, before any
request: the backstop behind the parser for every argument position."""

from __future__ import annotations

import docker.errors
import pytest

from bot.engine.guarded_client import GuardedAPIClient


@pytest.fixture
def client() -> GuardedAPIClient:
    # A version given: no negotiation, so nothing is asked of any engine.
    return GuardedAPIClient(base_url="unix:///nowhere/docker.sock", version="1.41")


@pytest.mark.parametrize(
    "argument",
    ["x/../../containers/db", "..", "a/./b", "web-/../../images/busybox", "x/../distribution/h"],
)
def test_a_path_segment_is_refused(client: GuardedAPIClient, argument: str) -> None:
    with pytest.raises(docker.errors.InvalidArgument):
        client.inspect_container(argument)


@pytest.mark.parametrize(
    ("argument", "path"),
    [
        ("web", "/containers/web/json"),
        ("registry:5000/team/app:1", "/images/registry:5000/team/app:1/json"),
        ("a..b", "/containers/a..b/json"),  # a name may hold dots
    ],
)
def test_names_and_references_pass(client: GuardedAPIClient, argument: str, path: str) -> None:
    kind = "images" if "/" in argument else "containers"
    assert client._url(f"/{kind}/{{0}}/json", argument).endswith(path)
