"""Benchmark: how fast Slack gets its acknowledgement from `python -m bot serve`, against a bare
Bolt app, under sustained load.

Run from the repository root, with the sandbox engine:
    eval "$(scripts/sandbox-engine start)" && .venv/bin/python -m benchmarks.slack_ack

Both servers run as processes of their own, as deployed, and are sent the same rounds:

- baseline: a bare Bolt app whose `/docker` handler only calls ack(), served by waitress with
  the bot's HTTP settings (16 threads);
- bot: `python -m bot serve` configured as README's "Running in production" says: the work
  process (CHATOPS_WORK_PROCESS's default), SQLite state, CHATOPS_AUDIT_KEY, and
  chatops.example.toml copied as chatops.toml (roles, approvals, the default `[access]
  user_rate_limit` of 30).

The engine first gets ``--containers`` (500) labelled containers, so that `ps -a` is real work
for the bot's work process; they are removed at the end. A fourth process plays Slack (the Web
API and the response URLs the bot answers to). Each round sends ``--concurrency`` (50)
concurrent, correctly signed `/docker ps -a` to each server in turn (which one goes first
alternates), each request from a different person, so that the rate limit is counted but never
refuses (a refusal would stop the benchmark). Rounds follow each other without a pause: a
round's work is still running in the bot's work process when the next round arrives.

Prints p50 and p99 of the acknowledgement (signed request sent to HTTP 200 received) for each,
and the ratio of the bot's p99 to the baseline's, for each block of ``--rounds`` (20) rounds and
for all ``--blocks`` (5) together. A round's 50 requests queue for the same two cores, so the
p99 of a block (its 10th worst of 1,000) is one burst's tail: one burst that something else on
the machine held up decides it, for either server. The verdict is therefore on the median of the
blocks' ratios (the all-blocks ratio is printed beside it). Target: median ratio <= 1.25, with
500 containers and with ``--containers 2000``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.conftest import REPO, SIGNING_SECRET
from tests.fakes.fake_slack import post_signed, slash_command_body, start_fake_slack
from tests.serving import environment, free_port, serve_process, stop

THREADS = 16  # HTTP_THREADS's default, for both servers
BASELINE = "baseline: bare Bolt, ack only"
BOT = "bot: python -m bot serve"
BENCH_LABEL = "chatops.benchmark.slack_ack"
IMAGE = "chatops-test/busybox:latest"
TARGET = 1.25


def serve_baseline(port: int, api_url: str) -> None:
    """The baseline's process: a bare Bolt app on waitress, as the bot serves its own."""
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient
    from waitress.server import create_server

    app = App(client=WebClient(token="xoxb-bench", base_url=api_url), signing_secret=SIGNING_SECRET)

    @app.command("/docker")
    def only_ack(ack: Callable[[], None]) -> None:
        ack()

    create_server(
        SlackRequestHandler(app),
        host="127.0.0.1",
        port=port,
        threads=THREADS,
        ident="baseline",
        max_request_body_size=64 * 1024,
        max_request_header_size=16 * 1024,
        connection_limit=1000,
        channel_timeout=30,
    ).run()


def fake_slack(urls: multiprocessing.Queue[str]) -> None:
    """In a child process: the stand-in for Slack that receives the bot's answers."""
    fake = start_fake_slack()
    urls.put(fake.base_url)
    threading.Event().wait()


def burst(url: str, slack_url: str, *, users: list[str], text: str) -> list[float]:
    """One request from each of ``users`` at once; the seconds each waited for its 200."""
    bodies = [
        slash_command_body(text=text, response_url=f"{slack_url}/response/{user}", user_id=user)
        for user in users
    ]

    def one(body: str) -> float:
        started = time.perf_counter()
        answer = post_signed(url, body, secret=SIGNING_SECRET)
        elapsed = time.perf_counter() - started
        if answer.status_code != 200 or "Try again in" in answer.text:
            raise SystemExit(f"{url} answered {answer.status_code}: {answer.text[:200]}")
        return elapsed

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(one, bodies))


def percentile(samples: list[float], fraction: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[round(fraction * 100) - 1]


def fill_engine(docker_host: str, count: int) -> None:
    """Exactly ``count`` labelled (created, never started) containers on the engine."""
    import docker

    api = docker.APIClient(base_url=docker_host, version="auto", timeout=120)
    have = [doc["Id"] for doc in api.containers(all=True, filters={"label": BENCH_LABEL})]

    def remove(container: str) -> None:
        try:
            api.remove_container(container, force=True)
        except docker.errors.APIError as err:
            if err.status_code not in (404, 409):  # gone already, or going
                raise

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(remove, have[count:]))
        list(
            pool.map(
                lambda _: api.create_container(IMAGE, command=["true"], labels={BENCH_LABEL: "1"}),
                range(count - len(have)),
            )
        )
    api.close()


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} never became ready")
        time.sleep(0.1)


Samples = dict[str, list[float]]  # server title -> acknowledgement times (s)


def measure(args: argparse.Namespace, docker_host: str) -> list[Samples]:
    """Each block's samples, in order."""
    context = multiprocessing.get_context("spawn")
    urls: multiprocessing.Queue[str] = context.Queue()
    slack = context.Process(target=fake_slack, args=(urls,), daemon=True)
    slack.start()
    slack_url = urls.get(timeout=60)
    work = Path(tempfile.mkdtemp(prefix="slack-ack-"))
    shutil.copy(REPO / "chatops.example.toml", work / "chatops.toml")  # README's production set-up
    port = free_port()
    baseline = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.slack_ack",
            "--serve-baseline",
            str(port),
            "--api-url",
            f"{slack_url}/api/",
        ],
        env=environment(),
        cwd=REPO,
        stderr=subprocess.DEVNULL,  # waitress's queue warnings
    )
    bot, bot_base = serve_process(
        work,
        DOCKER_HOST=docker_host,
        SLACK_API_URL=f"{slack_url}/api/",
        CHATOPS_CONFIG=str(work / "chatops.toml"),
    )
    servers = {BASELINE: f"http://127.0.0.1:{port}/slack/events", BOT: f"{bot_base}/slack/events"}
    blocks: list[Samples] = []
    try:
        wait_ready(f"{bot_base}/readyz")
        for _ in range(100):
            try:
                requests.get(servers[BASELINE], timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        people = (f"U0B{n:05d}" for n in range(10**5))  # each request its own person
        for url in servers.values():  # warm-up, not counted
            burst(
                url,
                slack_url,
                users=[next(people) for _ in range(args.concurrency)],
                text=args.text,
            )
        for round_ in range(args.rounds * args.blocks):
            if round_ % args.rounds == 0:
                blocks.append({title: [] for title in servers})
            order = list(servers) if round_ % 2 == 0 else list(reversed(servers))
            for title in order:
                users = [next(people) for _ in range(args.concurrency)]
                measured = burst(servers[title], slack_url, users=users, text=args.text)
                blocks[-1][title] += measured
                if args.each_round:
                    print(
                        f"round {round_ + 1} {title[:8]:<9} p50 "
                        f"{statistics.median(measured) * 1000:6.1f}ms  max "
                        f"{max(measured) * 1000:6.1f}ms",
                        file=sys.stderr,
                    )
    finally:
        baseline.kill()
        baseline.wait()
        log = stop(bot, work)  # SIGTERM: the work process gets its 7 s, then is stopped
        slack.kill()
        if args.keep_log:
            print(f"serve's log: {work / 'serve.log'}")
        else:
            shutil.rmtree(work, ignore_errors=True)
        if "Traceback" in log:
            print(log[-4000:], file=sys.stderr)
    return blocks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="rounds in a block (20)")
    parser.add_argument("--blocks", type=int, default=5, help="blocks, each judged apart (5)")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--text", default="ps -a")
    parser.add_argument("--containers", type=int, default=500)
    parser.add_argument("--each-round", action="store_true", help="print each round's p50/max")
    parser.add_argument("--keep-log", action="store_true", help="keep and name serve's log")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline is not None:
        serve_baseline(args.serve_baseline, args.api_url)
        return 0
    docker_host = os.environ.get("DOCKER_HOST") or os.environ.get("CHATOPS_TEST_DOCKER_HOST")
    if not docker_host:
        sys.exit('Set DOCKER_HOST (eval "$(scripts/sandbox-engine start)").')
    fill_engine(docker_host, args.containers)
    try:
        started = time.monotonic()
        blocks = measure(args, docker_host)
        took = time.monotonic() - started
    finally:
        fill_engine(docker_host, 0)
    print(
        f"{args.blocks} blocks of {args.rounds} rounds of {args.concurrency} concurrent signed "
        f"`/docker {args.text}` (each from another person) to each server, "
        f"{args.containers} containers on the engine, {took:.0f} s"
    )
    print(f"{'':<10}{'bare Bolt p50':>14}{'p99':>9}{'bot p50':>10}{'p99':>9}{'p99 ratio':>11}")
    ratios = [report(f"block {n}", block) for n, block in enumerate(blocks, start=1)]
    together = {title: [t for block in blocks for t in block[title]] for title in (BASELINE, BOT)}
    overall = report("all", together)
    ratio = statistics.median(ratios)
    verdict = "OK" if ratio <= TARGET else "OVER"
    print(
        f"\np99 ratio bot/baseline, median of the blocks: {ratio:.2f}x (target <= {TARGET}x): "
        f"{verdict}; all blocks together: {overall:.2f}x"
    )
    return 0 if ratio <= TARGET else 1


def report(name: str, samples: Samples) -> float:
    """Prints one line of p50/p99 for both servers; returns the p99 ratio bot/baseline."""
    (base50, base99), (bot50, bot99) = (
        (percentile(samples[title], 0.50) * 1000, percentile(samples[title], 0.99) * 1000)
        for title in (BASELINE, BOT)
    )
    ratio = bot99 / base99
    print(
        f"{name:<10}{base50:>12.1f}ms{base99:>7.1f}ms{bot50:>8.1f}ms{bot99:>7.1f}ms{ratio:>10.2f}x"
    )
    return ratio


if __name__ == "__main__":
    raise SystemExit(main())
