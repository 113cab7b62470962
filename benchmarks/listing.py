"""Benchmark: `ps -a` over 500 containers and `images` over 200 images, bot vs Docker CLI.

Fills the engine at DOCKER_HOST (use the sandbox: `eval "$(scripts/sandbox-engine start)"`)
with labelled containers and images (created once, kept for later runs), then times, side by
side in one run:

- baseline: the Docker CLI (`docker ps -a`, `docker images`), a new process per call;
- bot (warm): command text -> parse -> engine -> rendered text inside a running bot, which is
  what a Slack user waits for;
- bot (cold): `python -m bot exec ...`, a new Python process per call (interpreter start-up
  and imports included), for comparison only.

Prints medians and the ratios bot/baseline. Target: warm ratio <= 1.5.
Remove the fixtures with `--clean`.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable

import docker

from bot.config import engine_directory
from bot.console.text import render_reply
from bot.core.pipeline import Pipeline
from bot.core.policy import Actor, AllowEverything
from bot.settings import load_settings

LABEL = "chatops.bench"
BASE_IMAGE = "chatops-test/busybox:latest"


def ensure_fixtures(api: docker.APIClient, *, containers: int, images: int) -> None:
    have = api.containers(all=True, filters={"label": LABEL}, quiet=True)
    for index in range(len(have), containers):
        api.create_container(
            BASE_IMAGE, command=["true"], name=f"bench-{index:04d}", labels={LABEL: "1"}
        )
    have_images = api.images(filters={"label": LABEL}, quiet=True)
    for index in range(len(have_images), images):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            content = f"bench image {index}".encode()
            info = tarfile.TarInfo("content")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        api.import_image_from_data(
            buffer.getvalue(),
            repository=f"bench/image-{index:03d}",
            tag="v1",
            changes=[f"LABEL {LABEL}=1"],
        )


def clean(api: docker.APIClient) -> None:
    for doc in api.containers(all=True, filters={"label": LABEL}):
        api.remove_container(doc["Id"], force=True)
    for doc in api.images(filters={"label": LABEL}):
        api.remove_image(doc["Id"], force=True)


def timed(action: Callable[[], object], *, runs: int) -> list[float]:
    action()  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def cli(docker_cli: str, args: list[str]) -> Callable[[], object]:
    def run() -> object:
        return subprocess.run([docker_cli, *args], capture_output=True, check=True)

    return run


def bot_warm(pipeline: Pipeline, text: str) -> Callable[[], object]:
    actor = Actor(user_id="bench")

    def run() -> object:
        reply = pipeline.handle(text, actor=actor)
        assert reply.ok, reply.error
        return render_reply(reply)

    return run


def bot_cold(text: str) -> Callable[[], object]:
    def run() -> object:
        return subprocess.run(
            [sys.executable, "-m", "bot", "exec", text], capture_output=True, check=True
        )

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=500)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--clean", action="store_true", help="remove the fixtures and stop")
    args = parser.parse_args()

    host = os.environ.get("DOCKER_HOST")
    if not host:
        sys.exit(
            'Set DOCKER_HOST (eval "$(scripts/sandbox-engine start)") - never a production engine.'
        )
    api = docker.APIClient(base_url=host, version="auto", timeout=120)
    if args.clean:
        clean(api)
        return 0
    docker_cli = shutil.which("docker")
    if docker_cli is None:
        sys.exit("The Docker CLI is the baseline: install it (docker.io).")
    print(f"engine {host}: preparing {args.containers} containers, {args.images} images ...")
    ensure_fixtures(api, containers=args.containers, images=args.images)
    counts = (len(api.containers(all=True)), len(api.images()))
    version = subprocess.run([docker_cli, "--version"], capture_output=True, text=True).stdout
    print(f"engine holds {counts[0]} containers, {counts[1]} images")
    print(f"baseline: {version.strip()} ({docker_cli})")

    directory = engine_directory(load_settings(_env_file=None, docker_host=host))
    pipeline = Pipeline(engines=directory, policy=AllowEverything())
    titles = ("baseline CLI", "bot warm", "ratio", "bot cold", "ratio")
    print(f"\n{'command':<10}" + "".join(f"{title:>14}" for title in titles))
    worst = 0.0
    for text in ("ps -a", "images"):
        base = statistics.median(timed(cli(docker_cli, text.split()), runs=args.runs))
        warm = statistics.median(timed(bot_warm(pipeline, text), runs=args.runs))
        cold = statistics.median(timed(bot_cold(text), runs=max(3, args.runs // 3)))
        worst = max(worst, warm / base)
        cells = (
            f"{base * 1000:.1f}ms",
            f"{warm * 1000:.1f}ms",
            f"{warm / base:.2f}x",
            f"{cold * 1000:.1f}ms",
            f"{cold / base:.2f}x",
        )
        print(f"{text:<10}" + "".join(f"{cell:>14}" for cell in cells))
    verdict = "OK" if worst <= 1.5 else "OVER"
    print(f"\nwarm ratio, worst case: {worst:.2f}x (target <= 1.50x): {verdict}")
    directory.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
