"""`rm` and `rmi`: removals, refusals for running or used objects, missing objects."""

from __future__ import annotations

from typing import Any

import docker
import pytest

from bot.core.cleanup import CleanupRules
from bot.core.operations import RemoveImages
from bot.core.results import ActionResult
from bot.engine.planning import execute_plan, make_plan
from bot.errors import Conflict, NotFound
from tests.conftest import TEST_IMAGE, BotDriver, Sandbox, import_image


def test_rm_refuses_a_running_container_without_force(
    bot: BotDriver, sandbox: Sandbox, api: docker.APIClient
) -> None:
    name = sandbox.name("rm-run")
    bot.ok(f"run -d --name {name} {sandbox.label_args()} {TEST_IMAGE} sleep 300")
    reply = bot.handle(f"rm {name}")
    assert isinstance(reply.error, Conflict)
    assert "running" in str(reply.error).lower()
    assert api.inspect_container(name)["State"]["Running"]
    assert bot.ok(f"rm -f {name}").strip() == name
    with pytest.raises(docker.errors.NotFound):
        api.inspect_container(name)


def test_rm_missing_container(bot: BotDriver) -> None:
    reply = bot.handle("rm no-such-container-here")
    assert isinstance(reply.error, NotFound)
    assert "no-such-container-here" in str(reply.error)
    bot.run("rm no-such-container-here")
    assert bot.err.getvalue().startswith("Error: No such container: no-such-container-here")


def test_rm_several_carries_on_past_failures(
    bot: BotDriver, sandbox: Sandbox, api: docker.APIClient
) -> None:
    first, second = sandbox.name("rm-a"), sandbox.name("rm-b")
    for name in (first, second):
        bot.ok(f"run --name {name} {sandbox.label_args()} {TEST_IMAGE} true")
    reply = bot.run(f"rm {first} ghost-{sandbox.session} {second}")
    assert isinstance(reply.result, ActionResult)
    assert [o.ok for o in reply.result.outcomes] == [True, False, True]
    assert "No such container" in reply.result.outcomes[1].detail
    for name in (first, second):
        with pytest.raises(docker.errors.NotFound):
            api.inspect_container(name)
    out = bot.out.getvalue()
    assert first in out and second in out and f"Error: ghost-{sandbox.session}" in out


def test_rmi_removes_an_unused_image(
    bot: BotDriver, sandbox: Sandbox, api: docker.APIClient
) -> None:
    repository = f"chatops-test/rmi-{sandbox.session}"
    image_id = import_image(api, sandbox, repository=repository, content=b"rmi")
    out = bot.ok(f"rmi {repository}")
    assert f"Untagged: {repository}:latest" in out
    assert f"Deleted: {image_id}" in out
    with pytest.raises(docker.errors.ImageNotFound):
        api.inspect_image(image_id)


def test_rmi_refuses_an_image_in_use(
    bot: BotDriver, sandbox: Sandbox, api: docker.APIClient
) -> None:
    repository = f"chatops-test/used-{sandbox.session}"
    import_image(api, sandbox, repository=repository, content=b"used")
    name = sandbox.name("user")
    api.create_container(f"{repository}:latest", command=["x"], name=name, labels=sandbox.labels)
    reply = bot.handle(f"rmi {repository}")
    assert isinstance(reply.error, Conflict)
    assert "is using its referenced image" in str(reply.error)
    api.inspect_image(f"{repository}:latest")  # still there


def test_rmi_missing_image(bot: BotDriver) -> None:
    reply = bot.handle("rmi chatops-test/never-existed:9")
    assert isinstance(reply.error, NotFound)
    assert "never-existed" in str(reply.error)


class RepointBeforeRemoval:
    """The real engine client, except that ``reference`` is re-pointed at another image
    between the plan's last check and the removal: the race an approved `rmi` must lose."""

    def __init__(self, api: docker.APIClient, *, reference: str, other: str) -> None:
        self._api = api
        self._reference = reference
        self._other = other

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)

    def remove_image(self, image: str, **options: Any) -> Any:
        repository, _, tag = self._reference.rpartition(":")
        self._api.tag(self._other, repository, tag)
        return self._api.remove_image(image, **options)


def test_an_approved_rmi_removes_the_planned_image_not_the_name(
    sandbox: Sandbox, api: docker.APIClient
) -> None:
    planned = import_image(
        api, sandbox, repository=f"chatops-test/p-{sandbox.session}", content=b"planned"
    )
    other = import_image(
        api,
        sandbox,
        repository=f"chatops-test/o-{sandbox.session}",
        content=b"nobody approved this",
    )
    reference = f"chatops-test/p-{sandbox.session}:latest"
    rules = CleanupRules.from_text(
        container_grace="1h", image_grace="1h", keep_label="k", exclude=[]
    )
    plan = make_plan(api, RemoveImages(images=(reference,)), rules)
    assert [item.id for item in plan.items] == [planned]
    racing = RepointBeforeRemoval(api, reference=reference, other=other)
    result = execute_plan(racing, plan, engine="test")  # type: ignore[arg-type]
    assert [outcome.ok for outcome in result.outcomes] == [True]
    assert api.inspect_image(reference)["Id"] == other  # the re-pointed tag is untouched
    with pytest.raises(docker.errors.ImageNotFound):
        api.inspect_image(planned)  # and exactly the approved image is gone
