"""The local console: the same pipeline as Slack, answering in plain text in a terminal."""

from __future__ import annotations

import contextlib
from typing import TextIO

from bot.core.pipeline import Pipeline, Reply
from bot.core.policy import Actor
from bot.core.results import ActionResult, InspectResult, RunResult
from bot.render.progress import TerminalProgress
from bot.render.text import render_reply

LOCAL_ACTOR = Actor(user_id="local", channel_id=None)
PROMPT = "docker> "
_QUIT = frozenset({"exit", "quit", "q", ":q"})


class Console:
    """Runs command lines through the pipeline and prints the rendered replies."""

    def __init__(self, *, pipeline: Pipeline, out: TextIO, err: TextIO) -> None:
        self._pipeline = pipeline
        self._out = out
        self._err = err

    def run_one(self, text: str) -> Reply:
        """Run one command line, print its answer, and return the reply."""
        progress = TerminalProgress(stream=self._err) if self._err.isatty() else None
        reply = self._pipeline.handle(text, actor=LOCAL_ACTOR, progress=progress)
        if progress is not None:
            progress.finish()
        rendered = render_reply(reply)
        if rendered:
            (self._out if reply.ok else self._err).write(rendered + "\n")
            (self._out if reply.ok else self._err).flush()
        return reply

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


def exit_status(reply: Reply) -> int:
    """A shell exit status like the Docker CLI's: 1 on any error, a container's own code for
    a ``run`` that waited."""
    match reply.result:
        case _ if not reply.ok:
            return 1
        case ActionResult() if reply.result.failed:
            return 1
        case InspectResult() if reply.result.missing:
            return 1
        case RunResult(exit_code=int(code)):
            return code & 0xFF
    return 0
