"""Benchmark: how fast Slack gets its acknowledgement, bot vs a bare Bolt app.

Run from the repository root, with the sandbox engine:
    eval "$(scripts/sandbox-engine start)" && .venv/bin/python -m benchmarks.slack_ack

Three servers, each in its own process and served the same way (waitress, same thread count),
sent bursts of 50 concurrent, correctly signed slash commands from this process, in turn (so
that the machine's other load falls on all of them alike); a fourth process plays Slack's Web
API and response URLs for the answers:

- baseline: a bare Bolt app whose handler only calls ack();
- bot: the real service, engine at DOCKER_HOST;
- bot, engine stalled: the real service with an engine that accepts connections and never
  answers.

The engine first gets ``--containers`` (500) labelled containers, so that `ps -a` is real
work; they are removed at the end. Rounds follow each other without a pause (sustained load:
a round's work is still running when the next round arrives), unless ``--drain`` asks for
a pause between them. Run it again with ``--containers 2000`` to see how the ratio grows.

Prints p50 and p99 acknowledgement latency and the ratio of the bot's p99 to the baseline's.
Targets: ratio <= 1.25; p99 < 3 s with the engine stalled.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.fakes.fake_slack import post_signed, slash_command_body, start_fake_slack

SECRET = "benchmark-secret"
THREADS = 16
BASELINE = "baseline: bare Bolt, ack only"


def serve(kind: str, api_url: str, docker_host: str, ports: multiprocessing.Queue[int]) -> None:
    """In a child process: start one server, report its port, serve until terminated."""
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from waitress.server import create_server

    from bot.engine.directory import DockerEngineDirectory
    from bot.server import SlackService
    from bot.settings import load_settings
    from bot.slack.web import make_web_client

    if kind == BASELINE:
        app = App(
            client=make_web_client(token="xoxb-bench", base_url=api_url), signing_secret=SECRET
        )

        @app.command("/docker")
        def only_ack(ack: Callable[[], None]) -> None:
            ack()

        server = create_server(SlackRequestHandler(app), host="127.0.0.1", port=0, threads=THREADS)
        ports.put(int(server.effective_port))  # type: ignore[union-attr]
        server.run()
        return
    settings = load_settings(
        _env_file=None, docker_host=docker_host, slack_bot_token="xoxb-bench",
        slack_signing_secret=SECRET, slack_api_url=api_url, host="127.0.0.1", port=0,
        http_threads=THREADS, engine_timeout_seconds=1 if "stalled" in kind else 60,
        chatops_audit_key="benchmark-audit-key-" + "0" * 20,
        access={"user_rate_limit": 0},  # the acknowledgement's cost, not the limit's refusals
    )  # fmt: skip
    engines = DockerEngineDirectory.from_settings(settings)
    service = SlackService(settings=settings, engines=engines, default_engine=engines.default)
    service.start()
    ports.put(service.port)
    threading.Event().wait()


def fake_slack(urls: multiprocessing.Queue[str]) -> None:
    """In a child process: the stand-in for Slack that receives the bots' answers."""
    fake = start_fake_slack()
    urls.put(fake.base_url)
    threading.Event().wait()


def burst(port: int, slack_url: str, *, concurrency: int, text: str) -> list[float]:
    url = f"http://127.0.0.1:{port}/slack/events"
    bodies = [
        # Many people, as in a busy workspace: one person's burst is cut by their fair share.
        slash_command_body(
            text=text, response_url=f"{slack_url}/response/b{index}", user_id=f"U0BENCH{index:03d}"
        )
        for index in range(concurrency)
    ]

    def one(body: str) -> float:
        started = time.perf_counter()
        answer = post_signed(url, body, secret=SECRET)
        elapsed = time.perf_counter() - started
        assert answer.status_code == 200, answer.status_code
        return elapsed

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(one, bodies))


def percentile(samples: list[float], fraction: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(fraction * 100) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--text", default="ps -a")
    parser.add_argument("--containers", type=int, default=500)
    parser.add_argument("--drain", action="store_true", help="pause 0.3 s between rounds")
    args = parser.parse_args()
    docker_host = os.environ.get("DOCKER_HOST") or os.environ.get("CHATOPS_TEST_DOCKER_HOST")
    if not docker_host:
        sys.exit('Set DOCKER_HOST (eval "$(scripts/sandbox-engine start)").')
    fill_engine(docker_host, args.containers)
    try:
        return measure(args, docker_host)
    finally:
        fill_engine(docker_host, 0)


BENCH_LABEL = "chatops.benchmark.slack_ack"


def fill_engine(docker_host: str, count: int) -> None:
    """Exactly ``count`` labelled (created, never started) containers on the engine."""
    import docker

    api = docker.APIClient(base_url=docker_host, version="auto", timeout=120)
    have = [doc["Id"] for doc in api.containers(all=True, filters={"label": BENCH_LABEL})]
    for container in have[count:]:
        api.remove_container(container, force=True)
    if len(have) < count:
        image = "chatops-test/busybox:latest"
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda _: api.create_container(image, command=["true"],
                                                         labels={BENCH_LABEL: "1"}),
                          range(count - len(have))))  # fmt: skip
    api.close()


def measure(args: argparse.Namespace, docker_host: str) -> int:
    context = multiprocessing.get_context("spawn")
    children = []
    urls: multiprocessing.Queue[str] = context.Queue()
    children.append(context.Process(target=fake_slack, args=(urls,), daemon=True))
    children[-1].start()
    slack_url = urls.get(timeout=60)
    stall_dir = Path(tempfile.mkdtemp())
    stalled = socket.socket(socket.AF_UNIX)
    stalled.bind(str(stall_dir / "stalled.sock"))
    stalled.listen(4096)
    setups = {
        BASELINE: docker_host,
        "bot, live engine": docker_host,
        "bot, engine stalled": f"unix://{stall_dir}/stalled.sock",
    }
    ports: dict[str, int] = {}
    for title, host in setups.items():
        queue: multiprocessing.Queue[int] = context.Queue()
        child = context.Process(
            target=serve,
            args=(title, f"{slack_url}/api/", host, queue),
            daemon=False,  # the bot starts its own work process
        )
        child.start()
        children.append(child)
        ports[title] = queue.get(timeout=60)
    samples: dict[str, list[float]] = {title: [] for title in setups}
    try:
        for title in setups:  # warm-up
            burst(ports[title], slack_url, concurrency=args.concurrency, text=args.text)
        for round_ in range(args.rounds):
            order = list(setups)[round_ % 3 :] + list(setups)[: round_ % 3]
            for title in order:
                samples[title] += burst(
                    ports[title], slack_url, concurrency=args.concurrency, text=args.text
                )
                if args.drain:
                    time.sleep(0.3)  # let the burst's background work drain
    finally:
        for child in children:
            os.kill(child.pid or 0, signal.SIGKILL)
    mode = "drained" if args.drain else "sustained"
    print(
        f"{args.concurrency} concurrent signed `/docker {args.text}`, waitress {THREADS} "
        f"threads, {args.containers} containers on the engine, {args.rounds} {mode} rounds"
    )
    print(f"{'server':<32}{'requests':>10}{'p50':>10}{'p99':>10}")
    results: dict[str, tuple[float, float]] = {}
    for title, measured in samples.items():
        p50, p99 = percentile(measured, 0.50), percentile(measured, 0.99)
        results[title] = (p50, p99)
        print(f"{title:<32}{len(measured):>10}{p50 * 1000:>8.1f}ms{p99 * 1000:>8.1f}ms")
    base, live = results[BASELINE][1], results["bot, live engine"][1]
    stall = results["bot, engine stalled"][1]
    print(f"\np99 ratio bot/baseline: {live / base:.2f}x (target <= 1.25x): "
          f"{'OK' if live / base <= 1.25 else 'OVER'}")  # fmt: skip
    print(f"p99 with the engine stalled: {stall * 1000:.0f}ms (target < 3000ms): "
          f"{'OK' if stall < 3 else 'OVER'}")  # fmt: skip
    stalled.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
