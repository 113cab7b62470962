"""Benchmark: one person floods the engine; how long does another person wait for `ps -a`?

Run from the repository root, with the sandbox engine:
    eval "$(scripts/sandbox-engine start)" && .venv/bin/python -m benchmarks.fair_share

`python -m bot serve` runs as a process, as deployed (work process included), answering to a
stand-in for Slack in this process. Another person's `/docker ps -a` is timed from the signed
request to its answer at the response URL, ``--samples`` times one after the other: first on an
idle bot, then right after one person has sent ``--flood`` (45) `run --rm ... sleep 2` at once.
Twice: with the defaults (``[access] user_rate_limit`` 30, fair queue), and with the rate limit
off (the fair queue alone; the whole flood reaches the engine's queue). Prints p50 and max side
by side, and what became of the flood. Target: the other person's answer within 3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import requests

from tests.conftest import SIGNING_SECRET
from tests.fakes.fake_slack import (
    FakeSlack,
    post_signed,
    slash_command_body,
    start_fake_slack,
    stop_fake_slack,
)
from tests.serving import serve_process, stop

IMAGE = "chatops-test/busybox:latest"
BENCH_LABEL = "chatops-bench.fair-share"
TARGET = 3.0


def answered(fake: FakeSlack, name: str, timeout: float = 120) -> dict[str, object]:
    found = fake.wait_for("response", timeout=timeout, where=lambda c: c.path.endswith(f"/{name}"))
    return found[0].body


def other_ps(fake: FakeSlack, events: str, name: str) -> float:
    """Seconds from another person's signed `ps -a` to its answer."""
    body = slash_command_body(text="ps -a", response_url=fake.response_url(name), user_id="U0OTHER")
    started = time.perf_counter()
    assert post_signed(events, body, secret=SIGNING_SECRET).status_code == 200
    answered(fake, name)
    return time.perf_counter() - started


def flood(fake: FakeSlack, events: str, *, user: str, count: int, tag: str) -> list[str]:
    """``count`` runs at once by ``user``; the acknowledgements' texts."""
    text = f"run --rm --label {BENCH_LABEL}=1 {IMAGE} sleep 2"

    def one(index: int) -> str:
        body = slash_command_body(
            text=text, response_url=fake.response_url(f"{tag}-{index}"), user_id=user
        )
        answer = post_signed(events, body, secret=SIGNING_SECRET)
        assert answer.status_code == 200, answer.status_code
        return answer.text

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def run_setup(
    title: str, *, docker_host: str, samples: int, count: int, rate_limit: int | None
) -> dict[str, object]:
    fake = start_fake_slack()
    work = Path(tempfile.mkdtemp(prefix="fair-share-"))
    limit = f"user_rate_limit = {rate_limit}\n" if rate_limit is not None else ""
    (work / "chatops.toml").write_text(f'[roles]\noperator = ["U0FLOOD"]\n[access]\n{limit}')
    process, base = serve_process(
        work,
        DOCKER_HOST=docker_host,
        SLACK_API_URL=fake.api_url,
        CHATOPS_CONFIG=str(work / "chatops.toml"),
    )
    events = f"{base}/slack/events"
    try:
        deadline = time.monotonic() + 60
        while requests.get(f"{base}/readyz", timeout=10).status_code != 200:
            if time.monotonic() > deadline:
                raise SystemExit(f"{title}: the bot never became ready")
            time.sleep(0.1)
        other_ps(fake, events, "warm-up")
        idle = [other_ps(fake, events, f"idle-{i}") for i in range(samples)]
        acks = flood(fake, events, user="U0FLOOD", count=count, tag="flood")
        during = [other_ps(fake, events, f"during-{i}") for i in range(samples)]
        limited = sum("Try again in" in ack for ack in acks)
        taken = count - limited
        answers = [
            json.dumps(answered(fake, f"flood-{i}", timeout=300))
            for i in range(count)
            if "Try again in" not in acks[i]
        ]
        share = sum("You have" in text for text in answers)
        ran = sum("exited with code 0" in text for text in answers)
        if share + ran != taken:
            raise SystemExit(f"{title}: {taken - share - ran} of the flood failed otherwise")
        return {
            "title": title,
            "idle": idle,
            "during": during,
            "limited": limited,
            "share": share,
            "ran": ran,
        }
    finally:
        stop(process, work)
        stop_fake_slack(fake)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--flood", type=int, default=45)
    args = parser.parse_args()
    docker_host = os.environ.get("DOCKER_HOST") or os.environ.get("CHATOPS_TEST_DOCKER_HOST")
    if not docker_host:
        sys.exit('Set DOCKER_HOST (eval "$(scripts/sandbox-engine start)").')
    results = []
    try:
        for title, limit in (
            ("defaults (30 a minute, fair queue)", None),
            ("rate limit off (fair queue alone)", 0),
        ):
            results.append(
                run_setup(
                    title,
                    docker_host=docker_host,
                    samples=args.samples,
                    count=args.flood,
                    rate_limit=limit,
                )
            )
    finally:
        api = docker.APIClient(base_url=docker_host, version="auto")
        for container in api.containers(all=True, filters={"label": BENCH_LABEL}):
            api.remove_container(container["Id"], force=True)
    print(
        f"Another person's `/docker ps -a`, answered in (p50 / max of {args.samples}), "
        f"while one person sends {args.flood} `run --rm ... sleep 2` at once:"
    )
    print(f"{'setup':<38}{'idle':>18}{'during the flood':>22}   the flood")
    worst = 0.0
    for r in results:
        idle, during = r["idle"], r["during"]
        assert isinstance(idle, list) and isinstance(during, list)
        worst = max(worst, *during)
        print(
            f"{r['title']:<38}"
            f"{statistics.median(idle):>8.2f} / {max(idle):.2f} s"
            f"{statistics.median(during):>12.2f} / {max(during):.2f} s"
            f"   {r['limited']} refused by the rate limit, {r['share']} by their share of "
            f"the engine, {r['ran']} ran"
        )
    verdict = "OK" if worst < TARGET else "OVER"
    print(f"\nworst answer during a flood: {worst:.2f} s (target < {TARGET:.0f} s): {verdict}")
    return 0 if worst < TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
