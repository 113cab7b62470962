"""Benchmark: housekeeping of 500 exited containers and 50 dangling images, bot vs Docker.

Run from the repository root, with the sandbox engine (never one whose containers matter:
both sides remove every stopped container and dangling image on it):
    eval "$(scripts/sandbox-engine start)" && .venv/bin/python -m benchmarks.cleanup

Builds the same objects twice and times, side by side in one run:
- baseline: `docker container prune -f && docker image prune -f` (the Docker CLI);
- bot: plan (every stopped container's stop time, dangling unused images) and apply exactly
  the plan, object by object, with grace periods of zero.
Prints both times and the ratio. Target: ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import docker

from bot.core.cleanup import STOPPED, CleanupRules, run_cleanup
from bot.engine.docker_engine import DockerEngine, EngineLimits

IMAGE = "chatops-test/busybox:latest"
LABEL = {"chatops.bench": "cleanup"}


def build(api: docker.APIClient, *, containers: int, images: int, round_: int) -> None:
    """``containers`` exited containers and ``images`` dangling images."""

    def exited(index: int) -> None:
        created = api.create_container(IMAGE, command=["true"], labels=LABEL)
        api.start(created["Id"])
        api.wait(created["Id"], timeout=60)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(exited, range(containers)))
    for index in range(images):
        for content in (b"first", b"second"):  # the second import leaves the first dangling
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w") as archive:
                data = content + str(index).encode()
                info = tarfile.TarInfo("content")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            api.import_image_from_data(
                buffer.getvalue(),
                repository=f"bench/dangling-{round_}-{index}",
                tag="v1",
                changes=["LABEL chatops.bench=cleanup"],
            )


def count(api: docker.APIClient) -> tuple[int, int]:
    stopped = api.containers(all=True, filters={"status": list(STOPPED)})
    return len(stopped), len(api.images(filters={"dangling": True}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=500)
    parser.add_argument("--images", type=int, default=50)
    args = parser.parse_args()
    host = os.environ.get("DOCKER_HOST")
    docker_cli = shutil.which("docker")
    if not host or docker_cli is None:
        sys.exit('Set DOCKER_HOST (eval "$(scripts/sandbox-engine start)") and install docker.')
    api = docker.APIClient(base_url=host, version="auto", timeout=300)
    zero = CleanupRules(container_grace=timedelta(0), image_grace=timedelta(0))
    engine = DockerEngine(
        name="bench", url=host, limits=EngineLimits(timeout_seconds=300), cleanup_rules=zero
    )

    def baseline() -> None:
        subprocess.run([docker_cli, "container", "prune", "-f"], check=True, capture_output=True)
        subprocess.run([docker_cli, "image", "prune", "-f"], check=True, capture_output=True)

    def bot() -> None:
        report = run_cleanup(engine, dry_run=False)
        assert not report.errors, report.errors

    baseline()  # start both from an engine with nothing stopped or dangling
    timings = {}
    setups = (
        ("baseline: docker container prune + image prune", baseline),
        ("bot: plan, then remove exactly the plan", bot),
    )
    for round_, (title, action) in enumerate(setups):
        build(api, containers=args.containers, images=args.images, round_=round_)
        before = count(api)
        started = time.perf_counter()
        action()
        timings[title] = time.perf_counter() - started
        after = count(api)
        print(f"{title:<50} {timings[title]:7.2f}s  (stopped/dangling {before} -> {after})")
    base, ours = timings.values()
    verdict = "OK" if ours / base <= 1.5 else "OVER"
    print(f"\nratio bot/baseline: {ours / base:.2f}x (target <= 1.50x): {verdict}")
    engine.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
