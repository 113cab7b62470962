"""`run`: containers started for real, reached over 127.0.0.1, with mounts, env and limits."""

from __future__ import annotations

import contextlib
import socket
import time
import urllib.request
from pathlib import Path

import docker
import pytest

from bot.config import engine_directory
from bot.core.pipeline import Pipeline
from bot.core.policy import AllowEverything
from bot.core.results import RunResult
from bot.errors import CommandNotFound, Conflict, PullFailed
from tests.conftest import TEST_IMAGE, BotDriver, Sandbox, make_settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_range(count: int, *, start: int = 18000) -> int:
    """The first of ``count`` consecutive free loopback ports from ``start`` on."""
    first = start
    while first + count <= 65535:
        with contextlib.ExitStack() as probes:
            try:
                for port in range(first, first + count):
                    probe = probes.enter_context(socket.socket())
                    probe.bind(("127.0.0.1", port))
            except OSError:
                first = port + 1
                continue
        return first
    raise AssertionError(f"no {count} consecutive free ports from {start}")


def fetch(url: str, *, attempts: int = 50) -> str:
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return str(answer.read().decode())
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered at {url}")


def test_detached_web_server_answers_on_published_port(
    bot: BotDriver, sandbox: Sandbox, api: docker.APIClient
) -> None:
    port = free_port()
    name = sandbox.name("web")
    out = bot.ok(
        f"run -d --name {name} {sandbox.label_args()} -p 127.0.0.1:{port}:80 "
        f"{TEST_IMAGE} httpd -f -p 80 -h /www"
    )
    assert f"Started container {name}." in out
    assert fetch(f"http://127.0.0.1:{port}/index.html").strip() == "chatops sandbox"
    state = api.inspect_container(name)
    assert state["State"]["Running"] is True
    assert state["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
    }


def test_bind_mount_is_readable_and_read_only(
    bot: BotDriver, sandbox: Sandbox, tmp_path: Path
) -> None:
    (tmp_path / "hello.txt").write_text("from the host\n")
    out = bot.ok(
        f"run --rm {sandbox.label_args()} -v {tmp_path}:/data:ro {TEST_IMAGE} cat /data/hello.txt"
    )
    assert "from the host" in out
    reply = bot.run(
        f"run --rm {sandbox.label_args()} -v {tmp_path}:/data:ro {TEST_IMAGE} "
        "sh -c 'echo x > /data/new'"
    )
    assert isinstance(reply.result, RunResult)
    assert reply.result.exit_code != 0
    assert not (tmp_path / "new").exists()


def test_foreground_run_returns_exit_code_and_output_and_removes(
    bot: BotDriver, sandbox: Sandbox, api: docker.APIClient
) -> None:
    name = sandbox.name("fg")
    reply = bot.run(
        f"run --rm --name {name} {sandbox.label_args()} -e GREETING=hej -w /tmp {TEST_IMAGE} "
        "sh -c 'echo $GREETING from $(pwd); exit 3'"
    )
    assert isinstance(reply.result, RunResult)
    assert reply.result.exit_code == 3
    assert "hej from /tmp" in reply.result.output
    assert reply.result.removed
    with pytest.raises(docker.errors.NotFound):
        api.inspect_container(name)
    assert "exited with code 3, removed" in bot.out.getvalue()


def test_run_options_reach_the_engine(
    bot: BotDriver, sandbox: Sandbox, api: docker.APIClient
) -> None:
    name = sandbox.name("opts")
    bot.ok(
        f"run -d --name {name} {sandbox.label_args()} -l team=web -e A=1 -m 64m --cpus 0.5 "
        "--restart on-failure:2 -h box -u 65534 --entrypoint /bin/sleep -v /scratch "
        f"{TEST_IMAGE} 300"
    )
    doc = api.inspect_container(name)
    assert doc["Config"]["Labels"]["team"] == "web"
    assert "A=1" in doc["Config"]["Env"]
    assert doc["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert doc["HostConfig"]["NanoCpus"] == 500_000_000
    assert doc["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert doc["Config"]["Hostname"] == "box"
    assert doc["Config"]["User"] == "65534"
    assert doc["Config"]["Entrypoint"] == ["/bin/sleep"]
    assert doc["Config"]["Cmd"] == ["300"]
    assert any(m["Destination"] == "/scratch" and m["Type"] == "volume" for m in doc["Mounts"])


def test_tutorial_spelling_runs_what_was_meant(
    bot: BotDriver, sandbox: Sandbox, api: docker.APIClient
) -> None:
    name = sandbox.name("tutorial")
    reply = bot.run(f"run {TEST_IMAGE} --name {name} {sandbox.label_args()} -d sleep 60")
    assert reply.ok, reply.error
    assert reply.warnings and "came after the image" in reply.warnings[0]
    assert api.inspect_container(name)["Config"]["Cmd"] == ["sleep", "60"]
    assert "Note:" in bot.out.getvalue() or "Note:" in bot.err.getvalue() or reply.warnings


def test_missing_image_is_pulled_first(
    bot: BotDriver, sandbox: Sandbox, api: docker.APIClient
) -> None:
    image = f"{sandbox.registry}/chatops-test/busybox:1.0"
    with contextlib.suppress(docker.errors.NotFound):
        api.remove_image(image)
    out = bot.ok(f"run --rm {sandbox.label_args()} {image} echo pulled-and-ran")
    assert "pulled-and-ran" in out


def test_image_that_exists_nowhere(bot: BotDriver, sandbox: Sandbox) -> None:
    reply = bot.run(f"run --rm {sandbox.registry}/chatops-test/nothing-here:1 true")
    assert isinstance(reply.error, PullFailed)
    assert "nothing-here" in str(reply.error)


def test_name_in_use_is_a_conflict(bot: BotDriver, sandbox: Sandbox) -> None:
    name = sandbox.name("twice")
    bot.ok(f"run -d --name {name} {sandbox.label_args()} {TEST_IMAGE} sleep 60")
    reply = bot.run(f"run -d --name {name} {sandbox.label_args()} {TEST_IMAGE} sleep 60")
    assert isinstance(reply.error, Conflict)
    assert name in str(reply.error)


def test_failed_start_leaves_no_container_behind(
    bot: BotDriver, sandbox: Sandbox, api: docker.APIClient
) -> None:
    name = sandbox.name("nostart")
    reply = bot.run(f"run -d --name {name} {sandbox.label_args()} {TEST_IMAGE} /no/such/program")
    assert isinstance(reply.error, CommandNotFound)  # `docker run` would exit 127
    assert "could not start and was removed" in str(reply.error)
    with pytest.raises(docker.errors.NotFound):
        api.inspect_container(name)


def test_foreground_run_is_bounded_by_the_wait(sandbox: Sandbox, api: docker.APIClient) -> None:
    directory = engine_directory(make_settings(sandbox.docker_host, run_wait_seconds=1))
    driver = BotDriver(pipeline=Pipeline(engines=directory, policy=AllowEverything()))
    name = sandbox.name("slow")
    started = time.monotonic()
    reply = driver.run(
        f"run --name {name} {sandbox.label_args()} {TEST_IMAGE} sh -c 'echo begun; sleep 30'"
    )
    assert time.monotonic() - started < 20
    assert isinstance(reply.result, RunResult)
    assert reply.result.timed_out_after == 1
    assert reply.result.exit_code is None
    assert api.inspect_container(name)["State"]["Running"] is True
    assert "Still running after 1s" in driver.out.getvalue()
    directory.close()


def test_port_ranges_publish_port_by_port_or_pick_in_the_host_range(
    bot: BotDriver, sandbox: Sandbox, api: docker.APIClient
) -> None:
    """One -p range is one mapping in the bot; the engine still gets every port."""
    first = free_range(4)
    name = sandbox.name("ranges")
    bot.ok(
        f"run -d --name {name} {sandbox.label_args()} -p 127.0.0.1:{first}-{first + 3}:8000-8003 "
        f"{TEST_IMAGE} sh -c 'for p in 8000 8001 8002 8003; do httpd -p $p -h /www; done; "
        "sleep 300'"
    )
    doc = api.inspect_container(name)
    expected = {
        f"{8000 + i}/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(first + i)}] for i in range(4)
    }
    assert doc["HostConfig"]["PortBindings"] == expected
    assert doc["NetworkSettings"]["Ports"] == expected
    assert set(doc["Config"]["ExposedPorts"]) == set(expected)
    for i in range(4):
        assert fetch(f"http://127.0.0.1:{first + i}/index.html").strip() == "chatops sandbox"

    pool = free_range(3, start=first + 10)
    picked_name = sandbox.name("pool")
    bot.ok(
        f"run -d --name {picked_name} {sandbox.label_args()} -p 127.0.0.1:{pool}-{pool + 2}:80 "
        f"{TEST_IMAGE} httpd -f -p 80 -h /www"
    )
    doc = api.inspect_container(picked_name)
    assert doc["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": f"{pool}-{pool + 2}"}]
    }
    [binding] = doc["NetworkSettings"]["Ports"]["80/tcp"]
    assert binding["HostIp"] == "127.0.0.1"
    assert pool <= int(binding["HostPort"]) <= pool + 2
    assert fetch(f"http://127.0.0.1:{binding['HostPort']}/index.html").strip() == "chatops sandbox"


def test_a_named_volume_that_is_a_host_path_is_refused(
    bot: BotDriver, sandbox: Sandbox, api: docker.APIClient, tmp_path: Path
) -> None:
    """`docker volume create -o o=bind -o device=/dir` is a bind mount under another name."""
    hostile = f"t{sandbox.session[:6]}-hostvol"
    plain = f"t{sandbox.session[:6]}-plainvol"
    api.create_volume(
        hostile, driver="local", driver_opts={"type": "none", "o": "bind", "device": str(tmp_path)}
    )
    try:
        name = sandbox.name("hostvol")
        reply = bot.handle(
            f"run --name {name} {sandbox.label_args()} -v {hostile}:/h "
            f"{TEST_IMAGE} touch /h/planted"
        )
        assert reply.error is not None and "volume_allowlist" in str(reply.error)
        assert not (tmp_path / "planted").exists()
        assert api.containers(all=True, filters={"name": name}) == []
        # The positive control: a plain volume (made on first use) is fine.
        out = bot.ok(f"run --rm {sandbox.label_args()} -v {plain}:/p {TEST_IMAGE} touch /p/x")
        assert "Error" not in out
    finally:
        for volume in (hostile, plain):
            with contextlib.suppress(docker.errors.APIError):
                api.remove_volume(volume, force=True)


def test_a_missing_host_path_is_not_created_on_the_host(
    bot: BotDriver, sandbox: Sandbox, tmp_path: Path
) -> None:
    missing = tmp_path / "not" / "there"
    reply = bot.handle(f"run --rm {sandbox.label_args()} -v {missing}:/m:ro {TEST_IMAGE} true")
    assert reply.error is not None
    assert not missing.exists() and not (tmp_path / "not").exists()


def test_rm_removes_even_when_the_wait_ends_first(sandbox: Sandbox, api: docker.APIClient) -> None:
    directory = engine_directory(make_settings(sandbox.docker_host, run_wait_seconds=1))
    driver = BotDriver(pipeline=Pipeline(engines=directory, policy=AllowEverything()))
    name = sandbox.name("rm-later")
    try:
        reply = driver.run(
            f"run --rm --name {name} {sandbox.label_args()} {TEST_IMAGE} "
            "sh -c 'echo begun; sleep 3; echo done'"
        )
        assert isinstance(reply.result, RunResult)
        assert reply.result.timed_out_after == 1 and reply.result.removes_on_exit
        assert "begun" in reply.result.output
        assert "It will be removed when it exits (--rm)" in driver.out.getvalue()
        assert api.inspect_container(name)["HostConfig"]["AutoRemove"] is True
        # The engine removes it once it exits, though nobody waits for it any more.
        with contextlib.suppress(docker.errors.NotFound):
            api.wait(name, timeout=60, condition="removed")
        assert not api.containers(all=True, filters={"name": name})
    finally:
        directory.close()


def test_rm_that_exits_at_once_keeps_its_code_and_output(
    bot: BotDriver, sandbox: Sandbox, api: docker.APIClient
) -> None:
    """Removed by the engine the moment it exits: the code and output still arrive, as the
    wait and the attach were in place before the start."""
    for index in range(5):
        name = sandbox.name(f"rm-quick-{index}")
        reply = bot.run(
            f"run --rm --name {name} {sandbox.label_args()} {TEST_IMAGE} sh -c 'echo q{index}; exit 4'"
        )
        assert isinstance(reply.result, RunResult), reply.error
        assert reply.result.exit_code == 4 and reply.result.removed
        assert f"q{index}" in reply.result.output
        assert not api.containers(all=True, filters={"name": name})
