"""Benchmark: the parser's worst case on hostile text, bot vs ``shlex.split``.

Any workspace member can send any text up to Slack's 4,000 characters, and the bot parses it
before the policy decides anything; so the worst case of ``parse_command`` is a cost anyone can
impose. (``run -p1-65535`` x40, 411 characters, once took 3.4 s and 335 MB.)

Run from the repository root (no engine needed):
    .venv/bin/python -m benchmarks.hostile_parse

For each input of a corpus of hostile texts (port ranges, long words, deep quoting, thousands
of short options, huge numbers, unicode, plus seeded random ones), side by side in one run:

- baseline: ``shlex.split`` of the same text: splitting into words, the least any parser does;
- bot: ``parse_command``, the whole parse (words, options, values, the operation).

Prints the median time of each, the ratio bot/baseline, and the peak memory of one call of
each (tracemalloc, measured in a separate call so it does not slow the timed ones); then the
worst case, and the process RSS from /proc/self/status before and after the whole corpus.
Targets: every parse under 20 ms and 4 MB, and at most 5x the baseline (times depend on the
machine and its load; the ratio and the memory much less).
"""

from __future__ import annotations

import argparse
import random
import shlex
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from bot.core.parsing.parser import parse_command
from bot.core.parsing.tokens import MAX_COMMAND_LENGTH
from bot.errors import ParseError

TIME_TARGET = 0.020
PEAK_TARGET = 4 * 1024 * 1024
RATIO_TARGET = 5.0
BASELINE = "shlex.split"


def filled(head: str, unit: str, tail: str = "") -> str:
    """``head``, then ``unit`` repeated as often as fits the length limit, then ``tail``."""
    return head + unit * ((MAX_COMMAND_LENGTH - len(head) - len(tail)) // len(unit)) + tail


def corpus(seed: int) -> list[tuple[str, str]]:
    """(name, text) pairs, each at most MAX_COMMAND_LENGTH characters."""
    cases = [
        ("ports: -p1-65535 x40 (411 chars)", "run " + "-p1-65535 " * 40 + "busybox"),
        ("ports: -p1-65535 to the limit", filled("run ", "-p1-65535 ", "busybox")),
        ("ports: ip:range:range/udp", filled("run ", "-p 127.0.0.1:1-65535:1-65535/udp ", "x")),
        ("ports: 1024 single -p", filled("run ", "-p1 ", "busybox")),
        ("ports: huge number", filled("run -p ", "9", " busybox")),
        ("ports: colons in brackets", filled("run -p [", ":", "]:80:80 busybox")),
        ("long word: command", filled("", "x")),
        ("long word: unknown option", filled("ps --", "abcdefghij")),
        ("long word: bundle of -a", filled("ps -", "a")),
        ("long word: unknown bundle", filled("ps -", "z")),
        ("long word: image", filled("run ", "a")),
        ("long word: image a-a-a", filled("run ", "a-")),
        ("long word: registry a.a.a", filled("run ", "a.", "a:1/x")),
        ("long word: digest", filled("run a@sha256:", "a")),
        ("long word: help topic", filled("help ", "x")),
        ("quoting: 'a' x1330", filled("ps ", "'a'")),
        ("quoting: escaped quotes", filled('ps "', '\\"', '"')),
        ("quoting: alternating", filled("run busybox echo ", "'\"'\"'\"'", "'")),
        ("quoting: backslashes", filled("run busybox echo ", "\\\\")),
        ("quoting: unclosed", filled("ps '", "a")),
        ("options: -a x1330", filled("ps ", "-a ")),
        ("options: -all x798", filled("ps ", "-all ")),
        ("options: -e A=1 x665", filled("run ", "-eA=1 ", "busybox")),
        ("options: after the image", filled("run busybox ", "-d ")),
        ("options: --filter x130", filled("ps ", "--filter status=running ")),
        ("numbers: --since 1e3990", filled("logs --since 1", "0", " web")),
        ("numbers: --since 1s1s1s", filled("logs --since ", "1s", " web")),
        ("numbers: ISO fraction", filled("logs --since 2026-01-01T00:00:00.", "1", " web")),
        ("numbers: until filter", filled("container prune --filter until=", "9")),
        ("numbers: -m 999...", filled("run -m ", "9", " busybox")),
        ("numbers: --restart :999...", filled("run --restart on-failure:", "9", " busybox")),
        ("numbers: cancel 999...", filled("cancel ", "9")),
        ("unicode: é image", filled("run ", "é")),
        ("unicode: emoji image", filled("run ", "😀")),
        ("unicode: smart quotes", filled("run -e ", "“A=1” ", "busybox")),
        ("unicode: em dashes", filled("ps ", "—all ")),
    ]
    rng = random.Random(seed)
    pieces = [
        "-p1-65535",
        "-p 127.0.0.1::1-9",
        "-d",
        "--rm",
        "-e A=1",
        "'x y'",
        '"\\""',
        "-m 9999999999",
        "--since 1h1h1h",
        "😀",
        "-all",
        "--",
        "a" * 200,
    ]
    for index in range(8):
        words = ["run"]
        while sum(len(word) + 1 for word in words) < MAX_COMMAND_LENGTH - 220:
            words.append(rng.choice(pieces))
        cases.append((f"random run #{index}", " ".join([*words, "busybox"])))
    return cases


def parse(text: str) -> object:
    try:
        return parse_command(text)
    except ParseError as err:
        return err


def split(text: str) -> object:
    try:
        return shlex.split(text, comments=False, posix=True)
    except ValueError as err:
        return err


def median_time(action: Callable[[str], object], text: str, *, runs: int) -> float:
    action(text)  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action(text)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def peak_bytes(action: Callable[[str], object], text: str) -> int:
    tracemalloc.start()
    try:
        action(text)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def rss() -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of this process, in kB."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(value.split()[0])
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    cases = corpus(args.seed)
    parse("run -p 80 busybox")  # imports and caches, before the first measurement
    before = rss()
    titles = ("chars", BASELINE, "bot", "ratio", "base peak", "bot peak", "outcome")
    print(f"{'input':<34}" + "".join(f"{title:>12}" for title in titles))
    worst_time = worst_peak = 0.0
    worst_ratio = 0.0
    worst_time_name = worst_peak_name = worst_ratio_name = ""
    for name, text in cases:
        base = median_time(split, text, runs=args.runs)
        ours = median_time(parse, text, runs=args.runs)
        base_peak, our_peak = peak_bytes(split, text), peak_bytes(parse, text)
        result = parse(text)
        outcome = "refused" if isinstance(result, ParseError) else "parsed"
        ratio = ours / base
        if ours > worst_time:
            worst_time, worst_time_name = ours, name
        if our_peak > worst_peak:
            worst_peak, worst_peak_name = our_peak, name
        if ratio > worst_ratio:
            worst_ratio, worst_ratio_name = ratio, name
        cells = (
            str(len(text)),
            f"{base * 1000:.2f}ms",
            f"{ours * 1000:.2f}ms",
            f"{ratio:.2f}x",
            f"{base_peak / 1024:.0f}kB",
            f"{our_peak / 1024:.0f}kB",
            outcome,
        )
        print(f"{name:<34}" + "".join(f"{cell:>12}" for cell in cells))
    after = rss()

    print(f"\n{len(cases)} inputs of up to {MAX_COMMAND_LENGTH} characters, median of {args.runs}")
    verdicts = (
        (
            "worst parse time",
            f"{worst_time * 1000:.2f}ms",
            worst_time_name,
            worst_time <= TIME_TARGET,
            f"<= {TIME_TARGET * 1000:.0f}ms",
        ),
        (
            "worst parse peak memory",
            f"{worst_peak / 1024:.0f}kB",
            worst_peak_name,
            worst_peak <= PEAK_TARGET,
            f"<= {PEAK_TARGET // 1024 // 1024}MB",
        ),
        (
            f"worst ratio bot/{BASELINE}",
            f"{worst_ratio:.2f}x",
            worst_ratio_name,
            worst_ratio <= RATIO_TARGET,
            f"<= {RATIO_TARGET:.2f}x",
        ),
    )
    for title, value, where, ok, target in verdicts:
        print(f"{title:<30} {value:>10}  ({where}; target {target}): {'OK' if ok else 'OVER'}")
    print(
        f"process RSS: {before['VmRSS']} kB before, {after['VmRSS']} kB after; "
        f"peak RSS (VmHWM): {before['VmHWM']} kB before, {after['VmHWM']} kB after"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
