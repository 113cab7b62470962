"""The local console: a second chat adapter over the same service as Slack, answering in
plain text in a terminal."""

from __future__ import annotations

import contextlib
import shlex
import threading
from typing import TextIO

from bot.console.progress import TerminalProgress
from bot.console.text import render_reply
from bot.core.approval_records import ApprovalRecord
from bot.core.command import ParsedCommand
from bot.core.operations import RunContainer
from bot.core.parsing.parser import parse_command
from bot.core.pipeline import Pipeline, Reply
from bot.core.policy import Actor
from bot.core.results import ActionResult, InspectResult, PullProgress, RunResult
from bot.errors import ChatOpsError, CommandNotFound, CommandNotRunnable
from bot.service.chat import ProgressSink, Requester
from bot.service.orders import CommandOrder
from bot.service.requests import RequestService
from bot.workers import EngineWorkers

LOCAL_ACTOR = Actor(user_id="local", channel_id=None)
LOCAL_REQUESTER = Requester(channel_id="", user_id="local", reply_to="console")
PROMPT = "docker> "
_QUIT = frozenset({"exit", "quit", "q", ":q"})


class ConsoleChat:
    """``bot.service.chat.Chat`` for a terminal: every answer is printed, in one stream or the
    other; there are no channels, approvers or user groups."""

    def __init__(self, *, out: TextIO, err: TextIO) -> None:
        self._out = out
        self._err = err
        self.last: Reply | None = None

    def answer(
        self,
        to: Requester,
        reply: Reply,
        *,
        in_channel: bool,
        replace: bool,
        credit: str | None = None,
    ) -> None:
        self.last = reply
        self._print(reply)

    def tell(self, to: Requester, text: str) -> None:
        self._err.write(text + "\n")

    def pull_progress(self, to: Requester, command: ParsedCommand) -> ProgressSink | None:
        return _TerminalSink(TerminalProgress(stream=self._err)) if self._err.isatty() else None

    def post_request(self, record: ApprovalRecord, *, channel: str | None = None) -> str | None:
        return "the console has no approvers"

    def update_request(self, record: ApprovalRecord) -> None:
        return None

    def tell_requester(self, record: ApprovalRecord, text: str) -> None:
        self._err.write(text + "\n")

    def announce(self, record: ApprovalRecord, text: str) -> None:
        self._err.write(text + "\n")

    def groups_of(self, user: str) -> frozenset[str]:
        return frozenset()

    def _print(self, reply: Reply) -> None:
        rendered = render_reply(reply)
        if rendered:
            stream = self._out if reply.ok else self._err
            stream.write(rendered + "\n")
            stream.flush()


class _TerminalSink:
    def __init__(self, progress: TerminalProgress) -> None:
        self._progress = progress

    def __call__(self, event: PullProgress) -> None:
        self._progress(event)

    def finish(self, reply: Reply, *, credit: str | None) -> bool:
        self._progress.finish()
        return False  # the result is printed below the progress, not in its place

    def conclude(self, text: str) -> None:
        self._progress.finish()


class Console:
    """Runs command lines through the service and prints the answers."""

    def __init__(self, *, pipeline: Pipeline, out: TextIO, err: TextIO) -> None:
        self._pipeline = pipeline
        self._out = out
        self._chat = ConsoleChat(out=out, err=err)
        # One command at a time, on one worker: the console waits for each answer.
        self._service = RequestService(
            pipeline=pipeline,
            workers=EngineWorkers(engines=(), per_engine=1, control_threads=1),
            chat=self._chat,
            approvals=None,
            audit=None,
            default_engine="",
            changes_in_channel=True,
            listings_in_channel=True,
        )

    def run_one(self, text: str) -> Reply:
        """Run one command line, print its answer, and return the reply."""
        try:
            command = parse_command(text)
        except Exception:
            # The pipeline words the refusal (or the incident, for a bug) as it always does.
            reply = self._pipeline.handle(text, actor=LOCAL_ACTOR)
            self._chat.answer(LOCAL_REQUESTER, reply, in_channel=False, replace=False)
            return reply
        self._chat.last = None
        answered = threading.Event()
        order = CommandOrder(command=command, actor=LOCAL_ACTOR, reply_to="console")
        self._service.run(order, done=answered.set)
        answered.wait()
        if self._chat.last is None:  # the service logged what went wrong; say so here too
            lost = ChatOpsError("The command could not be answered (see the log).")
            return Reply(text=command.shown, command=command, error=lost)
        return self._chat.last

    def repl(self, *, read: TextIO, banner: str) -> int:
        """Read commands until ``exit`` or end of input; return the last command's status."""
        if read.isatty():
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (line editing and history for input())
        self._out.write(banner + "\n")
        status = 0
        while True:
            try:
                line = input(PROMPT) if read.isatty() else read.readline()
            except (EOFError, KeyboardInterrupt):
                self._out.write("\n")
                return status
            if not read.isatty() and not line:
                return status
            text = line.strip().removeprefix("/docker").strip()
            if text in _QUIT:
                return status
            if not text:
                continue
            status = exit_status(self.run_one(text))


def exit_status(reply: Reply, *, text: str = "") -> int:
    """A shell exit status like the Docker CLI's: a container's own code for a ``run`` that
    waited; for a ``run`` that failed 127 (its command was not found), 126 (it cannot be run)
    or 125 (refused before it ran: a missing image, a bad option); 1 for any other error.
    ``text``: the command as typed (a ``run`` that did not parse is still a ``run``)."""
    match reply.result:
        case _ if not reply.ok:
            if not _is_run(reply, text):
                return 1
            if isinstance(reply.error, CommandNotFound):
                return 127
            if isinstance(reply.error, CommandNotRunnable):
                return 126
            return 125
        case ActionResult() if reply.result.failed:
            return 1
        case InspectResult() if reply.result.missing:
            return 1
        case RunResult(exit_code=int(code)):
            return code & 0xFF
        case RunResult() if reply.result.timed_out_after is not None:
            return 124  # still running when the bot stopped waiting (as timeout(1) exits)
    return 0


def _is_run(reply: Reply, text: str) -> bool:
    if reply.command is not None:
        return isinstance(reply.command.operation, RunContainer)
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    if words[:1] in (["-c"], ["--context"]):
        words = words[2:]
    elif words and words[0].startswith(("--context=", "-c=")):
        words = words[1:]
    return words[:1] == ["run"] or words[:2] == ["container", "run"]
