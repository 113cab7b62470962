"""[registries."HOST"] credentials on the real engine and a registry that wants a login: a pull,
`updates` and an upgrade's plan use them; without them the same requests are refused by the
registry and say so (the positive control that the login is needed at all)."""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections.abc import Iterator

import docker
import docker.errors
import pytest

from bot.config import engine_directory
from bot.core.command import ParsedCommand
from bot.core.operations import ListUpdates
from bot.core.parsing.parser import parse_command
from bot.core.results import PullResult, UpdateList
from bot.engine.directory import DockerEngineDirectory
from bot.errors import PullFailed
from tests.conftest import (
    AUTH_REGISTRY_PASSWORD,
    AUTH_REGISTRY_USER,
    TEST_IMAGE,
    Sandbox,
    auth_registry,
    make_settings,
)

LOGIN = {"username": AUTH_REGISTRY_USER, "password": AUTH_REGISTRY_PASSWORD}


@pytest.fixture(scope="module")
def registry() -> str:
    return auth_registry()


def push(api: docker.APIClient, sandbox: Sandbox, repository: str, marker: str) -> str:
    """An image unlike any other, pushed (with the login) as ``repository:1``; its ID."""
    dockerfile = f"FROM {TEST_IMAGE}\nLABEL chatops-test.session={sandbox.session} m={marker}\n"
    for chunk in api.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag=f"{repository}:1", rm=True, decode=True
    ):
        assert "error" not in chunk, chunk
    for line in api.push(repository, tag="1", stream=True, decode=True, auth_config=LOGIN):
        assert "error" not in line, line
    return str(api.inspect_image(f"{repository}:1")["Id"])


def engines(sandbox: Sandbox, registry: str, *, login: bool) -> DockerEngineDirectory:
    extra = (
        {
            "registries": {registry: {"username": AUTH_REGISTRY_USER}},
            "chatops_registry_passwords": json.dumps({registry: AUTH_REGISTRY_PASSWORD}),
        }
        if login
        else {}
    )
    return engine_directory(make_settings(sandbox.docker_host, **extra))


@pytest.fixture
def private(api: docker.APIClient, sandbox: Sandbox, registry: str) -> Iterator[str]:
    repository = f"{registry}/chatops-test/private-{uuid.uuid4().hex[:8]}"
    push(api, sandbox, repository, "first")
    api.remove_image(f"{repository}:1")  # only the registry has it now
    yield repository
    for image in api.images(name=repository):
        # One a container still runs goes with the session's labelled leftovers.
        with contextlib.suppress(docker.errors.APIError):
            api.remove_image(image["Id"], force=True)


def test_a_pull_uses_the_configured_login(
    api: docker.APIClient, sandbox: Sandbox, registry: str, private: str
) -> None:
    anonymous = engines(sandbox, registry, login=False).get(None)
    with pytest.raises(PullFailed) as refused:
        anonymous.execute(parse_command(f"pull {private}:1").operation)  # type: ignore[arg-type]
    assert "no basic auth credentials" in str(refused.value) or "unauthorized" in str(refused.value)
    assert api.images(name=private) == []
    pulled = (
        engines(sandbox, registry, login=True)
        .get(None)
        .execute(
            parse_command(f"pull {private}:1").operation  # type: ignore[arg-type]
        )
    )
    assert isinstance(pulled, PullResult)
    assert api.images(name=private) != []


def test_updates_and_an_upgrade_plan_read_the_registry_with_the_login(
    api: docker.APIClient, sandbox: Sandbox, registry: str, private: str
) -> None:
    for line in api.pull(private, tag="1", stream=True, decode=True, auth_config=LOGIN):
        assert "error" not in line, line
    name = sandbox.name(f"priv-{uuid.uuid4().hex[:6]}")
    api.start(
        api.create_container(
            f"{private}:1", command=["sleep", "300"], name=name, labels=sandbox.labels
        )
    )
    moved = push(api, sandbox, private, "second")  # the tag moves; the container runs the first
    api.remove_image(f"{private}:1")
    logged_in = engines(sandbox, registry, login=True).get(None)
    found = logged_in.execute(ListUpdates())
    assert isinstance(found, UpdateList)
    assert [row.container for row in found.rows if row.container == name] == [name]
    # Without the login the registry refuses the read: told, not listed.
    anonymous = engines(sandbox, registry, login=False).get(None).execute(ListUpdates())
    assert isinstance(anonymous, UpdateList)
    assert name not in [row.container for row in anonymous.rows]
    assert f"{private}:1" in [reference for reference, _ in anonymous.failures]
    # The upgrade's plan pulls the moved tag with the login and plans old -> new.
    plan = logged_in.plan(ParsedCommand(operation=parse_command(f"upgrade {name}").operation))
    assert [item.target for item in plan.items] == [name]
    assert api.inspect_image(f"{private}:1")["Id"] == moved
