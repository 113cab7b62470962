"""`container prune` and `image prune` (filtered to this run's label: the engine is shared)."""

from __future__ import annotations

import docker
import pytest

from bot.core.results import PruneResult
from tests.conftest import TEST_IMAGE, BotDriver, Sandbox, import_image


def test_container_prune_takes_stopped_only(
    bot: BotDriver, sandbox: Sandbox, api: docker.APIClient
) -> None:
    up, done = sandbox.name("prune-up"), sandbox.name("prune-done")
    bot.ok(f"run -d --name {up} {sandbox.label_args()} {TEST_IMAGE} sleep 300")
    bot.ok(f"run --name {done} {sandbox.label_args()} {TEST_IMAGE} true")
    done_id = api.inspect_container(done)["Id"]
    reply = bot.run(f"container prune -f --filter label={sandbox.labels_filter()}")
    assert isinstance(reply.result, PruneResult)
    assert done_id in reply.result.deleted
    assert api.inspect_container(up)["State"]["Running"]
    with pytest.raises(docker.errors.NotFound):
        api.inspect_container(done)
    assert "Total reclaimed space:" in bot.out.getvalue()


def test_image_prune_takes_dangling_only(
    bot: BotDriver, sandbox: Sandbox, api: docker.APIClient
) -> None:
    repository = f"chatops-test/prune-{sandbox.session}"
    old = import_image(api, sandbox, repository=repository, content=b"old")
    new = import_image(api, sandbox, repository=repository, content=b"new")
    reply = bot.handle(f"image prune --filter label={sandbox.labels_filter()}")
    assert isinstance(reply.result, PruneResult)
    assert old in reply.result.deleted and new not in reply.result.deleted
    api.inspect_image(new)
    with pytest.raises(docker.errors.ImageNotFound):
        api.inspect_image(old)
