"""``python -m bot``: the command-line entry point (console, exec; serve comes with Slack)."""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
import threading
from collections.abc import Sequence

from bot import __version__
from bot.console import Console, exit_status
from bot.core.pipeline import Pipeline
from bot.core.policy import AllowEverything
from bot.engine.directory import DockerEngineDirectory
from bot.errors import ChatOpsError, ConfigError
from bot.server import SlackService
from bot.settings import Settings, load_settings
from bot.state.audit import SqlAuditLog
from bot.state.database import open_database


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Docker chat-ops bot.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("console", help="interactive console over the bot's command language")
    run = commands.add_parser("exec", help='run one command and exit, e.g. exec "ps -a"')
    run.add_argument("words", nargs=argparse.REMAINDER, help="the command, e.g. ps -a")
    commands.add_parser("serve", help="serve Slack (Socket Mode with SLACK_APP_TOKEN, else HTTP)")
    audit = commands.add_parser("audit", help="check the audit log's hash chain")
    audit.add_argument("action", choices=["verify"], help="verify: recompute the chain")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as err:
        print(f"Configuration error: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "audit":
        return verify_audit(settings)
    engines = DockerEngineDirectory.from_settings(settings)
    if args.command == "serve":
        try:
            return serve(settings, engines)
        finally:
            engines.close()
    console = Console(
        pipeline=Pipeline(engines=engines, policy=AllowEverything()), out=sys.stdout, err=sys.stderr
    )
    try:
        if args.command == "exec":
            # One argument is the whole command line ("ps -a"); several are its words.
            words: list[str] = args.words
            text = words[0] if len(words) == 1 else shlex.join(words)
            return exit_status(console.run_one(text))
        return console.repl(read=sys.stdin, banner=_banner(engines))
    finally:
        engines.close()


def verify_audit(settings: Settings) -> int:
    """``audit verify``: 0 if the chain is intact, 1 (naming the first bad entry) if not."""
    try:
        check = SqlAuditLog(engine=open_database(settings.chatops_database_url)).verify()
    except ConfigError as err:
        print(f"Configuration error: {err}", file=sys.stderr)
        return 2
    if check.ok:
        print(f"Audit log intact: {check.entries} entries.")
        return 0
    where = f"entry {check.first_bad}" if check.first_bad is not None else "the log"
    print(f"Audit log broken: {where} {check.problem}.", file=sys.stderr)
    return 1


def serve(settings: Settings, engines: DockerEngineDirectory) -> int:
    """Run the Slack service until SIGTERM or SIGINT."""
    try:
        service = SlackService(settings=settings, engines=engines, default_engine=engines.default)
    except ConfigError as err:
        print(f"Configuration error: {err}", file=sys.stderr)
        return 2
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    service.start()
    stopping.wait()
    logging.getLogger(__name__).info("stopping: finishing the work under way")
    service.stop()
    return 0


def _banner(engines: DockerEngineDirectory) -> str:
    engine = engines.get(None)
    others = [name for name in engines.names() if name != engine.name]
    also = f" (others: {', '.join(others)}; pick one with -c NAME)" if others else ""
    lines = [
        f"Docker chat-ops console {__version__}. Type `help`, or `exit` to leave.",
        f"Engine: {engine.name} at {engine.location}{also}",
    ]
    try:
        engine.ping()
    except ChatOpsError as err:
        lines.append(f"Warning: {err}")
    return "\n".join(lines)
