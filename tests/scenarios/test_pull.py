"""`pull`: real pulls from the loopback registry, with progress, digests and failures."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import docker
import pytest

from bot.core.policy import Actor
from bot.core.results import PullProgress, PullResult
from bot.errors import ParseError, PullFailed
from tests.conftest import SESSION_LABEL, BotDriver, Sandbox


def _layer_tar(content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("payload.bin")
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def remote_image(sandbox: Sandbox, api: docker.APIClient) -> Iterator[str]:
    """An image that exists only in the registry: pulling it downloads a real layer."""
    repository = f"{sandbox.registry}/chatops-test/pull-{sandbox.session}"
    payload = os.urandom(4_000_000)  # incompressible, so that progress events arrive
    api.import_image_from_data(
        _layer_tar(payload),
        repository=repository,
        tag="v1",
        changes=[f"LABEL {SESSION_LABEL}={sandbox.session}"],
    )
    for line in api.push(repository, tag="v1", stream=True, decode=True):
        assert "error" not in line, line
    api.remove_image(f"{repository}:v1", force=True)
    yield f"{repository}:v1"


def test_pull_downloads_with_progress(
    bot: BotDriver, remote_image: str, api: docker.APIClient
) -> None:
    events: list[PullProgress] = []
    reply = bot.pipeline.handle(
        f"pull {remote_image}", actor=Actor(user_id="U1"), progress=events.append
    )
    assert reply.ok, reply.error
    result = reply.result
    assert isinstance(result, PullResult)
    assert result.reference == remote_image
    assert result.digest and result.digest.startswith("sha256:")
    assert not result.up_to_date
    assert result.size and result.size >= 4_000_000
    assert result.image_id == api.inspect_image(remote_image)["Id"]
    measured = [e for e in events if e.total]
    assert measured and all(0 <= (e.current or 0) <= e.total for e in measured if e.total)
    assert any(e.status == "Pull complete" for e in events)
    again = bot.handle(f"pull {remote_image}")
    assert isinstance(again.result, PullResult) and again.result.up_to_date


def test_pull_renders_digest_and_size(bot: BotDriver, remote_image: str) -> None:
    out = bot.ok(f"pull {remote_image}")
    assert remote_image in out and "digest sha256:" in out and "MB" in out
    assert bot.ok(f"pull -q {remote_image}").strip() == remote_image


def test_pull_by_digest(bot: BotDriver, remote_image: str, api: docker.APIClient) -> None:
    digest = api.inspect_image(remote_image)["RepoDigests"][0].partition("@")[2]
    repository = remote_image.rpartition(":")[0]
    reply = bot.handle(f"pull {repository}@{digest}")
    assert isinstance(reply.result, PullResult), reply.error
    assert reply.result.digest == digest


def test_pull_missing_tag_fails_clearly(bot: BotDriver, sandbox: Sandbox) -> None:
    reply = bot.handle(f"pull {sandbox.registry}/chatops-test/busybox:no-such-tag")
    assert isinstance(reply.error, PullFailed)
    assert "no-such-tag" in str(reply.error)
    bot.run(f"pull {sandbox.registry}/chatops-test/busybox:no-such-tag")
    assert bot.err.getvalue().startswith("Error: Pull of ")
    assert bot.out.getvalue() == ""


def test_pull_from_unreachable_registry(bot: BotDriver) -> None:
    reply = bot.handle("pull 127.0.0.1:1/nobody/home:1")
    assert isinstance(reply.error, PullFailed)
    assert "127.0.0.1:1" in str(reply.error)


def test_pull_all_tags(bot: BotDriver, sandbox: Sandbox) -> None:
    reply = bot.handle(f"pull -a {sandbox.registry}/chatops-test/busybox")
    assert isinstance(reply.result, PullResult), reply.error
    assert reply.result.reference == f"{sandbox.registry}/chatops-test/busybox"


def test_pull_bad_reference_never_reaches_the_engine(bot: BotDriver) -> None:
    reply = bot.handle("pull UPPER/Case")
    assert isinstance(reply.error, ParseError)


class BrokenBlobRegistry(BaseHTTPRequestHandler):
    """A registry whose manifests resolve but whose blobs fail: the engine has already
    answered 200 when the failure comes, so it arrives inside the progress stream."""

    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 10,
                "digest": "sha256:" + "1" * 64,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 10,
                    "digest": "sha256:" + "2" * 64,
                }
            ],
        }
    ).encode()

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if "/manifests/" in self.path:
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
            digest = "sha256:" + hashlib.sha256(self.manifest).hexdigest()
            self.send_header("Docker-Content-Digest", digest)
            self.send_header("Content-Length", str(len(self.manifest)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(self.manifest)
            return
        status = 200 if self.path == "/v2/" else 500
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        return None


def test_failure_inside_the_pull_stream(bot: BotDriver) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BrokenBlobRegistry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        reference = f"127.0.0.1:{server.server_address[1]}/broken/image:1"
        reply = bot.handle(f"pull {reference}")
    finally:
        server.shutdown()
        server.server_close()
    assert isinstance(reply.error, PullFailed), reply
    assert str(reply.error).startswith(f"Pull of {reference} failed: ")
