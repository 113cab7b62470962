"""The deployment's Docker socket proxy (deploy/haproxy.cfg, as compose.yaml runs it): every
command the bot offers works through it, and what the bot never needs is refused.

A local HAProxy (Debian's package, the major version compose's proxy image is built with:
deploy/haproxy.version) runs that very file in front of the private engine, so a rule that
blocks something the bot needs fails here.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from bot.config import engine_directory
from bot.core.pipeline import Pipeline
from bot.core.policy import AllowEverything
from bot.core.results import ActionResult, EventList, RunResult, UpdateList
from tests.conftest import REPO, TEST_IMAGE, BotDriver, Sandbox, make_settings
from tests.serving import free_port

CONFIG = REPO / "deploy" / "haproxy.cfg"
PINNED = REPO / "deploy" / "haproxy.version"


def haproxy_binary() -> str:
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    assert Path(haproxy).exists(), "haproxy is missing: scripts/bootstrap --sandbox installs it"
    return haproxy


def test_the_local_haproxy_is_the_version_compose_deploys() -> None:
    """What passes here passes in the deployment: same major version (deploy/haproxy.version,
    which the proxy image's build checks too)."""
    pinned = PINNED.read_text().strip()
    assert re.fullmatch(r"[0-9]+\.[0-9]+", pinned), pinned
    shown = subprocess.run([haproxy_binary(), "-v"], capture_output=True, text=True, check=True)
    found = re.search(r"version ([0-9]+\.[0-9]+)\.", shown.stdout)
    assert found is not None, shown.stdout
    assert found.group(1) == pinned


@pytest.fixture(scope="module")
def proxy(sandbox: Sandbox) -> Iterator[str]:
    """``tcp://127.0.0.1:PORT``: HAProxy with deploy/haproxy.cfg before the private engine."""
    haproxy = haproxy_binary()
    port = free_port()
    env = os.environ | {
        "PROXY_BIND": f"127.0.0.1:{port}",
        "DOCKER_SOCKET": sandbox.docker_host.removeprefix("unix://"),
        "BOT_ADDRESS": "127.0.0.1",  # compose: the bot's static address
    }
    process = subprocess.Popen(
        [haproxy, "-db", "-f", str(CONFIG)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(200):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.05)  # waiting for the proxy to listen, not for time to pass
        yield f"tcp://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def through_proxy(proxy: str) -> Iterator[BotDriver]:
    directory = engine_directory(
        make_settings(proxy, run_wait_seconds=20, upgrades={"settle": "1s"})
    )
    yield BotDriver(pipeline=Pipeline(engines=directory, policy=AllowEverything()))
    directory.close()


def test_every_command_works_through_the_proxy(
    through_proxy: BotDriver, sandbox: Sandbox, api: docker.APIClient
) -> None:
    bot = through_proxy
    labels = sandbox.label_args()
    name, quick, gone = sandbox.name("px-web"), sandbox.name("px-quick"), sandbox.name("px-rm")
    reference = f"{sandbox.registry}/chatops-test/proxy-{sandbox.session}:v1"
    repository, tag = reference.rsplit(":", 1)
    api.tag(TEST_IMAGE, repository, tag)
    for line in api.push(repository, tag=tag, stream=True, decode=True):
        assert "error" not in line, line
    api.remove_image(reference)
    try:
        bot.ok(f"pull {reference}")
        # It exits on SIGTERM, as a served process does: `stop` and `restart` do not wait out
        # their grace period (10 s) for a PID 1 that ignores the signal.
        serve = "sh -c \"trap 'exit 0' TERM; sleep 300 & wait\""
        bot.ok(f"run -d --name {name} {labels} -p 127.0.0.1::80 {TEST_IMAGE} {serve}")
        reply = bot.run(f"run --name {quick} {labels} {TEST_IMAGE} sh -c 'echo hi; exit 3'")
        assert isinstance(reply.result, RunResult) and reply.result.exit_code == 3
        removed = bot.run(f"run --rm --name {gone} {labels} {TEST_IMAGE} sh -c 'echo bye'")
        assert isinstance(removed.result, RunResult), removed.error  # wait + attach (upgrade)
        assert removed.result.removed and "bye" in removed.result.output
        for text in (
            f"ps -a --filter label={sandbox.labels_filter()}",
            "images",
            f"images {repository}",
            f"logs {quick}",
            f"inspect {name}",
            f"inspect {reference}",
            f"stats {name}",
            f"top {name}",
            f"port {name}",
            "system df",
            "volume ls",
            "network ls",
            f"stop {name}",
            f"start {name}",
            f"restart -t 1 {name}",
            f"pause {name}",
            f"unpause {name}",
            f"rm -f {name}",
            f"rm {quick}",
            f"rmi {reference}",
            f"container prune -f --filter label={sandbox.labels_filter()}",
            "image prune -f --filter label=chatops.test.none=1",
            "cleanup --dry-run",
        ):
            bot.ok(text)
        # Swarm's calls pass the proxy: this engine answers that it is no manager.
        services = bot.run("service ls")
        assert services.error is not None and "not a swarm manager" in str(services.error)
        events = bot.run("events --since 5m")
        assert isinstance(events.result, EventList) and events.result.events
    finally:
        for leftover in (name, quick, gone):
            with contextlib.suppress(docker.errors.NotFound):
                api.remove_container(leftover, force=True)
        with contextlib.suppress(docker.errors.ImageNotFound):
            api.remove_image(reference)


def test_updates_upgrade_and_rollback_work_through_the_proxy(
    through_proxy: BotDriver, sandbox: Sandbox, api: docker.APIClient
) -> None:
    # rename, network connect, image tag and /distribution: the calls only upgrades make.
    repository = f"{sandbox.registry}/chatops-test/proxy-upgrade-{sandbox.session}"
    network = sandbox.name("px-upnet")
    api.create_network(network, labels=sandbox.labels)
    name = sandbox.name("px-upgraded")
    try:
        for version in ("v1", "v2"):
            dockerfile = (
                f"FROM {TEST_IMAGE}\nLABEL chatops-test.session={sandbox.session} v={version}\n"
            )
            for chunk in api.build(
                fileobj=io.BytesIO(dockerfile.encode()), tag=f"{repository}:latest", decode=True
            ):
                assert "error" not in chunk, chunk
            for line in api.push(repository, tag="latest", stream=True, decode=True):
                assert "error" not in line, line
            if version == "v1":
                # A service that stops on SIGTERM: no 10 s wait for each stop.
                serve = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]
                old = api.create_container(
                    f"{repository}:latest", serve, name=name, labels=sandbox.labels
                )["Id"]
                api.connect_container_to_network(old, network)
                old_image = api.inspect_container(old)["Image"]
                api.start(old)
        listing = through_proxy.run("updates").result
        # Other tests' moved tags may be listed too: this one's container is among them.
        assert isinstance(listing, UpdateList) and name in [r.container for r in listing.rows]
        done = through_proxy.run(f"upgrade {name}")
        assert isinstance(done.result, ActionResult) and not done.result.failed, done.error
        doc = api.inspect_container(name)
        assert doc["Id"] != old and set(doc["NetworkSettings"]["Networks"]) == {"bridge", network}
        kept = api.inspect_image(old_image)["RepoTags"]
        assert any(tag.startswith("chatops-rollback:") for tag in kept), kept  # tag passed
        back = through_proxy.run(f"rollback {name}")
        assert isinstance(back.result, ActionResult) and not back.result.failed, back.error
        assert api.inspect_container(name)["Image"] == api.inspect_image(old_image)["Id"]
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_container(name, force=True)
        api.remove_network(network)


def test_notifications_stream_through_the_proxy(
    proxy: str, sandbox: Sandbox, api: docker.APIClient
) -> None:
    directory = engine_directory(make_settings(proxy))
    engine = directory.get(None)
    try:
        start = engine.engine_time_ns()
        name = sandbox.name("px-event")
        api.start(
            api.create_container(
                TEST_IMAGE, ["sh", "-c", "exit 5"], name=name, labels=sandbox.labels
            )
        )
        api.wait(name, timeout=30)
        stream = engine.events(since_ns=start)
        try:
            for event in stream:
                if event.name == name and event.action == "die":
                    assert event.exit_code == 5
                    break
        finally:
            stream.close()
        assert [brief for brief in engine.containers() if brief.name == name]  # type: ignore[attr-defined,unused-ignore]
    finally:
        directory.close()


def test_what_the_bot_never_needs_is_refused(
    proxy: str, sandbox: Sandbox, api: docker.APIClient
) -> None:
    name = sandbox.name("px-exec")
    api.start(api.create_container(TEST_IMAGE, ["sleep", "300"], name=name, labels=sandbox.labels))
    client = docker.APIClient(base_url=proxy, version="auto", timeout=10)
    raw: Any = client  # docker-py's own request helpers (untyped), for a hand-made path
    refused = [
        lambda: client.exec_create(name, ["id"]),
        lambda: client.create_network(f"px-{sandbox.session}"),
        lambda: client.inspect_swarm(),
        lambda: client.get_archive(name, "/etc/passwd"),
        lambda: raw._get(raw._url("/containers/{0}/export", name)),  # export() streams lazily
        lambda: client.commit(name, repository="px-commit"),
        lambda: client.kill(name),
        lambda: client.tag(TEST_IMAGE, "px-tag", "1"),
        lambda: client.push("px-tag"),
        lambda: client.plugins(),
        lambda: client.secrets(),
        # An import from a URL: the engine would fetch it (the host's loopback included).
        lambda: client.import_image_from_url("http://127.0.0.1:9/x.tar", repository="px-import"),
        lambda: raw._post(raw._url("/images/create"), params={"fromImage": "x", "fromSrc": "-"}),
        lambda: raw._post(raw._url("/images/create"), params={"fromImage": "x", "repo": "y"}),
        # Query parameters the bot never sends, on an endpoint it uses.
        lambda: raw._get(raw._url("/containers/json"), params={"all": 1, "xyz": 1}),
        lambda: raw._get(raw._url("/containers/{0}/../../exec", name)),
        lambda: raw._get(f"{proxy.replace('tcp', 'http')}/containers/a%2F..%2F..%2Fsecrets/json"),
        lambda: raw._get(f"{proxy.replace('tcp', 'http')}/containers/%2e%2e/%2e%2e/swarm/json"),
        lambda: raw._delete(f"{proxy.replace('tcp', 'http')}/images/x%2F..%2Fplugins%2Fx"),
    ]
    try:
        for index, call in enumerate(refused):
            with pytest.raises(docker.errors.APIError, match="403") as caught:
                result = call()
                if hasattr(result, "status_code"):  # a raw request: raise as the SDK would
                    raw._raise_for_status(result)
            assert caught.value.status_code == 403, (index, caught.value)
        # Positive control: the same client through the same proxy reads what the bot reads,
        # a container called "exec" included.
        assert client.inspect_container(name)["State"]["Running"]
        with pytest.raises(docker.errors.NotFound):
            client.inspect_container("exec")
        assert client.containers(all=True, filters={"name": name})
        # A volume `run -v NEW:/x` makes, and the networks the bot inspects, pass.
        volume = client.create_volume(f"px-{sandbox.session}", labels=sandbox.labels)
        assert client.inspect_volume(volume["Name"])["Name"] == volume["Name"]
        api.remove_volume(volume["Name"])
        assert client.inspect_network("bridge")["Name"] == "bridge"
    finally:
        client.close()
        api.remove_container(name, force=True)


def _ping_from(source: str, proxy: str) -> bytes:
    """What comes back to a ping from ``source``: nothing when the connection is dropped
    (reset at once, while being sent, or closed without a byte)."""
    host, port = proxy.removeprefix("tcp://").rsplit(":", 1)
    answer = b""
    with (
        contextlib.suppress(ConnectionResetError, BrokenPipeError),
        socket.create_connection((host, int(port)), timeout=5, source_address=(source, 0)) as s,
    ):
        s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        while chunk := s.recv(4096):
            answer += chunk
    return answer


def _create(proxy: str, body: bytes, *, chunked: bool = False) -> int:
    """The status of a hand-made ``POST /containers/create`` through the proxy."""
    host, port = proxy.removeprefix("tcp://").rsplit(":", 1)
    head = "POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
    head += "Content-Type: application/json\r\n"
    if chunked:
        payload = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
        head += "Transfer-Encoding: chunked\r\n\r\n"
    else:
        payload = body
        head += f"Content-Length: {len(body)}\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(head.encode() + payload)
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := s.recv(65536):
                answer += chunk
    return int(answer.split(b" ", 2)[1])


def test_a_privileged_create_is_refused_in_any_spelling(
    proxy: str, sandbox: Sandbox, api: docker.APIClient
) -> None:
    """The finding: a container that could talk to the proxy created a privileged one with /
    mounted. Only the bot may talk to it now; and not even the bot gets a privileged one."""
    client = docker.APIClient(base_url=proxy, version="auto", timeout=10)
    image, labels = TEST_IMAGE, json.dumps(sandbox.labels)
    try:
        with pytest.raises(docker.errors.APIError, match="403"):
            client.create_container(
                image,
                ["true"],
                labels=sandbox.labels,
                host_config=client.create_host_config(privileged=True),
            )
        spellings = [
            '{"HostConfig": {"Privileged": true}}',
            '{"HostConfig":{"privileged":true}}',
            '{"HostConfig":{"PRIVILEGED" :\n true}}',
            '{"HostConfig":{"\\u0050rivileged":true}}',
            '{"HostConfig":{"Pr\\u0069vileged":true}}',
        ]
        for spelling in spellings:
            body = spelling[:-1] + f', "Image": "{image}", "Labels": {labels}}}'
            assert _create(proxy, body.encode()) == 403, spelling
        # Too large to be judged whole, or with no length to judge it by: refused too.
        padding = json.dumps(
            {"Image": image, "Labels": sandbox.labels, "Env": ["X=" + "x" * 140_000]}
        )
        assert _create(proxy, padding.encode()) == 403
        plain = json.dumps({"Image": image, "Cmd": ["true"], "Labels": sandbox.labels}).encode()
        assert _create(proxy, plain, chunked=True) == 403
        # Positive controls: the same request unprivileged is created, and so is the largest
        # the bot sends (1,024 published ports), and "privileged" inside a value is no key.
        assert _create(proxy, plain) == 201
        ports = range(20000, 21024)
        created = client.create_container(
            image,
            ["echo", '"privileged": true'],
            labels=sandbox.labels,
            ports=list(ports),
            host_config=client.create_host_config(
                port_bindings={port: ("127.0.0.1", port) for port in ports}
            ),
        )
        assert created["Id"]
    finally:
        client.close()
        for doc in api.containers(all=True, filters={"label": sandbox.labels_filter()}):
            if doc.get("Status", "").startswith("Created"):
                api.remove_container(doc["Id"], force=True)


def test_only_the_bots_address_is_served(proxy: str) -> None:
    """Another source on the proxy's network (127.0.0.2 here, any container but the bot in
    compose) is dropped before a byte of HTTP is read; the bot's address is served."""
    assert _ping_from("127.0.0.1", proxy).startswith(b"HTTP/1.0 200")  # positive control
    assert _ping_from("127.0.0.2", proxy) == b""
