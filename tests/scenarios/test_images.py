"""`images`: listings of real images, tags, digests, dangling ones."""

from __future__ import annotations

import docker

from bot.core.results import ImageList
from tests.conftest import TEST_IMAGE, BotDriver, Sandbox, import_image


def test_images_table(bot: BotDriver, api: docker.APIClient) -> None:
    out = bot.ok("images")
    lines = out.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    image_id = api.inspect_image(TEST_IMAGE)["Id"].removeprefix("sha256:")[:12]
    assert any(line.split()[:3] == ["chatops-test/busybox", "latest", image_id] for line in lines)
    assert "MB" in out


def test_images_quiet_filter_and_reference(bot: BotDriver, api: docker.APIClient) -> None:
    image_id = api.inspect_image(TEST_IMAGE)["Id"]
    assert image_id[7:19] in bot.ok("images -q").split()
    listed = bot.handle("images chatops-test/busybox")
    assert isinstance(listed.result, ImageList)
    assert {row.repository for row in listed.result.rows} == {"chatops-test/busybox"}
    nothing = bot.handle("images --filter reference=no-such-repo")
    assert isinstance(nothing.result, ImageList) and nothing.result.rows == ()


def test_dangling_images(bot: BotDriver, sandbox: Sandbox, api: docker.APIClient) -> None:
    repository = f"chatops-test/dangle-{sandbox.session}"
    old = import_image(api, sandbox, repository=repository, content=b"one")
    new = import_image(api, sandbox, repository=repository, content=b"two")  # takes the tag
    reply = bot.handle(f"images --filter dangling=true --filter label={sandbox.labels_filter()}")
    assert isinstance(reply.result, ImageList)
    # Other tests of this run may leave dangling images of their own: look for ours.
    listed = {row.id: row for row in reply.result.rows}
    assert old in listed and new not in listed
    assert listed[old].repository is None and listed[old].tag is None
    out = bot.ok(f"images -f dangling=true -f label={sandbox.labels_filter()}")
    assert out.splitlines()[1].split()[:2] == ["<none>", "<none>"]


def test_images_digests(bot: BotDriver, sandbox: Sandbox) -> None:
    remote = f"{sandbox.registry}/chatops-test/busybox:1.0"
    bot.ok(f"pull {remote}")
    out = bot.ok(f"images --digests {sandbox.registry}/chatops-test/busybox")
    assert "DIGEST" in out.splitlines()[0]
    assert "sha256:" in out.splitlines()[1]
