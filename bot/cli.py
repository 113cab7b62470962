"""``python -m bot``: the command-line entry point (console, exec; serve comes with Slack).

Each command imports what it needs when it runs: ``exec ps`` starts in a fraction of the time
``serve`` takes to import Slack, the database and the scheduler, and reads listings without the
docker SDK (``bot.engine.lean``).
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot import package_version
from bot.errors import ChatOpsError, ConfigError

if TYPE_CHECKING:
    from bot.engine.directory import DockerEngineDirectory
    from bot.engine.lean import LeanEngineDirectory
    from bot.settings import Settings


class _VersionAction(argparse.Action):
    """``--version``, read from the package metadata only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(f"{parser.prog} {package_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Docker chat-ops bot.")
    parser.add_argument("--version", action=_VersionAction, help="print the version and stop")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="console and exec: show the logs on stderr (by default they print answers only)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("console", help="interactive console over the bot's command language")
    run = commands.add_parser("exec", help='run one command and exit, e.g. exec "ps -a"')
    run.add_argument("words", nargs=argparse.REMAINDER, help="the command, e.g. ps -a")
    commands.add_parser("serve", help="serve Slack (Socket Mode with SLACK_APP_TOKEN, else HTTP)")
    audit = commands.add_parser("audit", help="check the audit log's hash chain")
    audit.add_argument("action", choices=["verify"], help="verify: recompute the chain")
    audit.add_argument(
        "--head",
        metavar="HASH",
        help="a head the bot published (Slack, log): it must still be in the chain",
    )
    config = commands.add_parser("config", help="check the configuration before serving it")
    config.add_argument(
        "action",
        choices=["check", "init"],
        help="check: read .env, the environment and the TOML file as serve would, and say "
        "every problem (with --offline, without asking Slack and the engines); "
        "init: write a minimal commented chatops.toml, asking for what the flags do not give",
    )
    config.add_argument("--offline", action="store_true", help="check: the files alone")
    config.add_argument("--json", action="store_true", help="check: one JSON object, for CI")
    config.add_argument(
        "--admin", action="append", default=[], metavar="ID", help="init: the first admin"
    )
    config.add_argument(
        "--operator", action="append", default=[], metavar="ID", help="init: an operator"
    )
    config.add_argument(
        "--channel", action="append", default=[], metavar="ID", help="init: a command channel"
    )
    config.add_argument("--notify", metavar="ID", help="init: the notifications channel")
    config.add_argument(
        "--output", default="chatops.toml", metavar="FILE", help="init: where (chatops.toml)"
    )
    config.add_argument("--force", action="store_true", help="init: overwrite FILE")
    database = commands.add_parser("db", help="the state database's schema")
    database.add_argument(
        "action",
        choices=["upgrade", "status"],
        help="upgrade: apply the migrations (adopting a database from before them); "
        "status: the schema's revision and this release's",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    verbose = given[:1] in (["-v"], ["--verbose"])
    if verbose:
        given = given[1:]
    if given[:1] == ["exec"] and given[1:2] not in (["-h"], ["--help"]):
        # Everything after `exec` is the command, options included (`exec -c prod ps`, as
        # `docker -c prod ps`): argparse would take `-c` for one of its own.
        args = argparse.Namespace(command="exec", words=given[1:], verbose=verbose)
    else:
        args = build_parser().parse_args(given)
        args.verbose = args.verbose or verbose
    if args.command == "config" and args.action == "init":
        return config_init(args)
    if args.command == "config":
        return config_check(offline=args.offline, as_json=args.json)
    if args.command in ("console", "exec"):
        from bot.composition.console import unconfigured_engines
        from bot.unconfigured import (
            DEFAULT_ENGINE_TIMEOUT_SECONDS,
            DEFAULT_LOG_LEVEL,
            unconfigured_engine_url,
        )

        url = unconfigured_engine_url(os.environ, cwd=Path.cwd())
        if url is not None:  # every setting is its default: no need to read them
            _configure_logging_as(DEFAULT_LOG_LEVEL, args=args, json_lines=False, secrets=[])
            lean = unconfigured_engines(url=url, timeout=DEFAULT_ENGINE_TIMEOUT_SECONDS)
            return console_command(args, lean)
    from bot.settings import load_settings

    try:
        settings = load_settings()
    except ConfigError as err:
        print(f"Configuration error: {err}", file=sys.stderr)
        return 2
    for renamed in settings.renamed_variables:
        print(f"Warning: {renamed}", file=sys.stderr)
    _configure_logging_as(
        settings.log_level,
        args=args,
        json_lines=settings.log_format == "json",
        secrets=settings.secret_values(),
    )
    if args.command == "audit":
        return verify_audit(settings, published=args.head)
    if args.command == "db":
        return database_command(settings, args.action)
    if args.command == "serve":
        from bot.config import engine_directory

        engines = engine_directory(settings)
        try:
            return serve(settings, engines)
        finally:
            engines.close()
    from bot.composition.console import configured_engines

    return console_command(args, configured_engines(settings))


def _configure_logging_as(
    level: str, *, args: argparse.Namespace, json_lines: bool, secrets: list[str]
) -> None:
    from bot.logs import configure_logging

    configure_logging(
        level=_log_level(level, command=args.command, verbose=args.verbose),
        json_lines=json_lines,
        secrets=secrets,
    )


def console_command(args: argparse.Namespace, engines: LeanEngineDirectory) -> int:
    """``exec`` (one command) or ``console`` (a session) on ``engines``."""
    from bot.composition.console import build_console
    from bot.console.session import exit_status

    console = build_console(engines=engines, out=sys.stdout, err=sys.stderr)
    try:
        if args.command == "exec":
            # One argument is the whole command line ("ps -a"); several are its words.
            words: list[str] = args.words
            text = words[0] if len(words) == 1 else shlex.join(words)
            return exit_status(console.run_one(text), text=text)
        return console.repl(read=sys.stdin, banner=_banner(engines))
    finally:
        engines.close()


def _log_level(configured: str, *, command: str, verbose: bool) -> str:
    """The console and exec answer on stdout and print nothing else unless something is wrong
    (WARNING and up) or ``-v`` asks for the logs; the other commands log as configured."""
    if command not in ("console", "exec") or verbose:
        return configured
    return max(configured, "WARNING", key=logging.getLevelName)


def config_check(*, offline: bool, as_json: bool) -> int:
    """``config check``: 0 when all is well, 1 when anything is wrong."""
    from bot.config_check import check_configuration

    report = check_configuration(offline=offline)
    print(report.as_json() if as_json else report.as_text())
    return 0 if report.ok else 1


def config_init(args: argparse.Namespace) -> int:
    """``config init``: 0 once the file is written; 1 if it exists (without --force) or a
    flag is not an ID; asks on stdin for what the flags do not give."""
    from datetime import date

    from bot.config_init import ask_essentials, checked_essentials, render_config

    target = Path(args.output)
    if target.exists() and not args.force:
        print(f"{target} exists; --force overwrites it.", file=sys.stderr)
        return 1
    try:
        given = checked_essentials(
            admins=args.admin, operators=args.operator, channels=args.channel, notify=args.notify
        )
        essentials = ask_essentials(ask=_ask, say=print, given=given)
    except ValueError as err:
        print(f"config init: {err}", file=sys.stderr)
        return 1
    except EOFError:
        print("config init: no answer (give --admin ID to run without asking)", file=sys.stderr)
        return 1
    target.write_text(render_config(essentials, written=date.today()), encoding="utf-8")
    print(
        f"Wrote {target}. Next: python -m bot config check "
        "(add --offline until the Slack credentials are set)"
    )
    return 0


def _ask(prompt: str) -> str:
    return input(prompt)


def database_command(settings: Settings, action: str) -> int:
    """``db upgrade``: 0 once the schema is this release's; ``db status``: 0 if it is, 1 if it
    needs an upgrade; 2 for a database that cannot be used."""
    # Each command imports what it needs: `exec ps` starts in a fraction of the time.
    from bot.state.database import open_database
    from bot.state.schema import schema_state

    try:
        if action == "upgrade":
            database = open_database(settings.chatops_database_url, upgrade=True)
            state = schema_state(database)
            print(f"The database schema is at revision {state.current} (this release's).")
            return 0
        from sqlalchemy import create_engine

        state = schema_state(create_engine(settings.chatops_database_url))
    except ConfigError as err:
        print(f"Configuration error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # an unreachable database, a bad URL: one line, no traceback
        print(f"Configuration error: the database could not be read: {err}", file=sys.stderr)
        return 2
    current = state.current or "none (empty, or made before migrations)"
    print(f"Schema revision: {current}; this release: {state.head}.")
    return 0 if state.up_to_date else 1


def verify_audit(settings: Settings, *, published: str | None = None) -> int:
    """``audit verify [--head HASH]``: 0 if the chain is intact (and holds HASH), 1 naming what
    is wrong, 2 for a configuration error (CHATOPS_AUDIT_KEY missing while entries are keyed)."""
    from bot.state.audit import SqlAuditLog, audit_key, verify_unkeyed
    from bot.state.database import open_database

    note = ""
    try:
        database = open_database(settings.chatops_database_url)
        if settings.chatops_audit_key is not None:
            audit = SqlAuditLog(engine=database, key=audit_key(settings.chatops_audit_key))
            check = audit.verify(published=published)
        else:
            unkeyed = verify_unkeyed(database, published=published)
            if unkeyed is None:
                raise ConfigError(
                    "CHATOPS_AUDIT_KEY is not set: the audit log holds keyed entries, which only "
                    "that key can verify."
                )
            check = unkeyed
            note = (
                "Note: the audit log is unkeyed (plain SHA-256): anyone who can write the "
                "database could have rewritten it. Set CHATOPS_AUDIT_KEY for the bot."
            )
    except ConfigError as err:
        print(f"Configuration error: {err}", file=sys.stderr)
        return 2
    if not check.ok:
        where = f"entry {check.first_bad} " if check.first_bad is not None else ""
        print(f"Audit log broken: {where}{check.problem}.", file=sys.stderr)
        return 1
    old = (
        f" ({check.unkeyed} unkeyed, from before CHATOPS_AUDIT_KEY)"
        if check.unkeyed and not note
        else ""
    )
    held = ", the published head among them" if published is not None else ""
    print(f"Audit log intact: {check.entries} entries{old}{held}.")
    if note:
        print(note, file=sys.stderr)
    return 0


def serve(settings: Settings, engines: DockerEngineDirectory) -> int:
    """Run the Slack service until SIGTERM or SIGINT."""
    from bot.server import SlackService

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        service = SlackService(settings=settings, engines=engines, default_engine=engines.default)
    except ConfigError as err:
        print(f"Configuration error: {err}", file=sys.stderr)
        return 2
    # What start-up built (modules, the app, the backend: ~100k objects) lives as long as the
    # process: out of the collector's sight, so that a full collection while serving pauses
    # acknowledgements for well under a millisecond instead of ~100 ms (README, Benchmarks).
    gc.collect()
    gc.freeze()
    try:
        service.start(until=stopping)
    except ConfigError as err:
        print(f"Configuration error: {err}", file=sys.stderr)
        service.stop()
        return 2
    stopping.wait()
    logging.getLogger(__name__).info("stopping: finishing the work under way")
    service.stop()
    # Whatever is still running now was told (or is an engine call past its drain): exit
    # rather than wait for threads an engine may hold for minutes.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _banner(engines: LeanEngineDirectory) -> str:
    engine = engines.get(None)
    others = [name for name in engines.names() if name != engine.name]
    also = f" (others: {', '.join(others)}; pick one with -c NAME)" if others else ""
    lines = [
        f"Docker chat-ops console {package_version()}. Type `help`, or `exit` to leave.",
        f"Engine: {engine.name} at {engine.location}{also}",
    ]
    try:
        engine.ping()
    except ChatOpsError as err:
        lines.append(f"Warning: {err}")
    return "\n".join(lines)
