"""Benchmark: an approved upgrade, from the approval to the replacement verified, against doing
it by hand with the Docker CLI.

Uses the engine at DOCKER_HOST and the registry at CHATOPS_TEST_REGISTRY (the sandbox's:
`eval "$(scripts/sandbox-engine start)"`). Each
round builds a fresh pair of images (old, new) under one tag, runs a container from the old one
(with environment, labels, a published port, a named volume and a restart policy), then times:

- baseline: `docker stop`, `docker rm`, `docker run -d ...` with the same settings, each a new
  CLI process (what someone upgrading by hand types);
- bot: the approved plan executed as the work process executes it (`execute_plan` on the
  real engine): inspect, create the replacement, stop and set aside the old one, rename,
  start, verify (settle 0 s: the settle is a choice, not a cost), remove the old one, tag the
  replaced image for rollback, each step recorded in the journal first.

The pull and the plan happen before anyone is asked, so they are not timed here. Prints the
medians and the ratio bot/baseline. Target: <= 1.5.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import subprocess
import time
import uuid

import docker
import docker.errors

from bot.core.command import ParsedCommand
from bot.core.operations import UpgradeContainers
from bot.engine.docker_engine import DockerEngine, EngineLimits

BASE_IMAGE = "chatops-test/busybox:latest"
LABEL = "chatops.bench"


def build(api: docker.APIClient, tag: str, version: str) -> str:
    dockerfile = (
        f"FROM {BASE_IMAGE}\nLABEL {LABEL}=upgrade version={version}\n"
        'CMD ["sh", "-c", "trap \'exit 0\' TERM; sleep 3600 & wait"]\n'
    )
    for chunk in api.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, decode=True):
        if "error" in chunk:
            raise SystemExit(chunk["error"])
    repository, _, version_tag = tag.rpartition(":")
    for line in api.push(repository, tag=version_tag, stream=True, decode=True):
        if "error" in line:
            raise SystemExit(line["error"])
    return str(api.inspect_image(tag)["Id"])


def start_old(api: docker.APIClient, reference: str, name: str, volume: str) -> str:
    container = api.create_container(
        reference,
        name=name,
        environment={"MODE": "bench", "TOKEN": "not-a-secret"},
        labels={LABEL: "upgrade", "team": "bench"},
        ports=[8080],
        host_config=api.create_host_config(
            binds=[f"{volume}:/data"],
            port_bindings={8080: ("127.0.0.1", None)},
            restart_policy={"Name": "unless-stopped"},
        ),
    )
    api.start(container["Id"])
    return str(container["Id"])


def by_hand(reference: str, name: str, volume: str) -> float:
    started = time.perf_counter()
    for argv in (
        ["docker", "stop", name],
        ["docker", "rm", name],
        [
            "docker",
            "run",
            "-d",
            "--name",
            name,
            "-e",
            "MODE=bench",
            "-e",
            "TOKEN=not-a-secret",
            "--label",
            f"{LABEL}=upgrade",
            "--label",
            "team=bench",
            "-p",
            "127.0.0.1::8080",
            "-v",
            f"{volume}:/data",
            "--restart",
            "unless-stopped",
            reference,
        ],
    ):
        subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - started


def by_bot(engine: DockerEngine, name: str) -> float:
    plan = engine.plan(ParsedCommand(operation=UpgradeContainers(containers=(name,))))
    assert plan.items, "nothing to upgrade"
    started = time.perf_counter()  # the approval: from here the work process runs the plan
    result = engine.execute_plan(plan)
    elapsed = time.perf_counter() - started
    assert not result.failed, result
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    api = docker.APIClient(base_url=host, version="auto", timeout=120)
    engine = DockerEngine(name="bench", url=host, limits=EngineLimits(), upgrade_settle=0.0)
    hand: list[float] = []
    bot: list[float] = []
    # The upgrade pulls, so the images live in a registry: the sandbox's loopback one.
    registry = os.environ.get("CHATOPS_TEST_REGISTRY", "127.0.0.1:5055")
    repository = f"{registry}/chatops-bench/upgrade-{uuid.uuid4().hex[:8]}"
    volume = api.create_volume(f"chatops-bench-upgrade-{uuid.uuid4().hex[:8]}")["Name"]
    try:
        for index in range(rounds):
            for who, times in (("hand", hand), ("bot", bot)):
                name = f"chatops-bench-upgrade-{who}-{index}"
                build(api, f"{repository}:latest", f"old-{index}")
                start_old(api, f"{repository}:latest", name, volume)
                build(api, f"{repository}:latest", f"new-{index}")
                if who == "hand":
                    times.append(by_hand(f"{repository}:latest", name, volume))
                else:
                    times.append(by_bot(engine, name))
                api.remove_container(name, force=True)
    finally:
        for doc in api.containers(all=True, filters={"label": f"{LABEL}=upgrade"}):
            api.remove_container(doc["Id"], force=True)
        api.remove_volume(volume, force=True)
        for doc in api.images(filters={"label": f"{LABEL}=upgrade"}):
            with contextlib.suppress(docker.errors.APIError):
                api.remove_image(doc["Id"], force=True)
        engine.close()
    hand_median, bot_median = statistics.median(hand), statistics.median(bot)
    print(f"{'':28}{'median':>10}")
    print(f"{'by hand (stop, rm, run)':28}{hand_median:>9.3f}s")
    print(f"{'bot (approved plan)':28}{bot_median:>9.3f}s")
    ratio = bot_median / hand_median
    print(
        f"ratio bot/by hand: {ratio:.2f}x (target <= 1.5x): {'met' if ratio <= 1.5 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
