"""The console is a second chat adapter over the service: on the fake engine, no dockerd."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from bot.console.session import Console, exit_status
from bot.core.pipeline import Pipeline
from bot.core.policy import AllowEverything
from bot.engine.fake import FakeClock, FakeEngine, FakeEngineDirectory


def console_on(engine: FakeEngine) -> tuple[Console, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    pipeline = Pipeline(engines=FakeEngineDirectory(engine), policy=AllowEverything())
    return Console(pipeline=pipeline, out=out, err=err), out, err


def test_answers_go_to_the_right_stream_with_dockers_exit_status() -> None:
    engine = FakeEngine(clock=FakeClock(now=datetime(2026, 11, 29, tzinfo=UTC)))
    engine.add_image("app:1")
    engine.add_container("web", "app:1")
    console, out, err = console_on(engine)
    assert exit_status(console.run_one("ps -a")) == 0
    assert "web" in out.getvalue() and err.getvalue() == ""
    assert exit_status(console.run_one("rm ghost")) == 1
    assert "ghost" in err.getvalue()
    assert exit_status(console.run_one("ps --alll")) == 1  # refused before the service
    assert "Did you mean `--all`?" in err.getvalue()
    assert exit_status(console.run_one("rm web")) == 0  # no approvals in the console
    assert engine.containers == {}


def test_exit_status_follows_docker_run() -> None:
    from bot.console.session import exit_status
    from bot.core.parsing.parser import parse_command
    from bot.core.pipeline import Reply
    from bot.core.results import RunResult
    from bot.errors import CommandNotFound, CommandNotRunnable, EngineRequestFailed, ParseError

    run = parse_command("run busybox true")
    ps = parse_command("ps")

    def failed(error: Exception, command: object = run, text: str = "run x") -> int:
        return exit_status(Reply(text="", command=command, error=error), text=text)  # type: ignore[arg-type]

    assert failed(CommandNotFound("x")) == 127
    assert failed(CommandNotRunnable("x")) == 126
    assert failed(EngineRequestFailed("no such image")) == 125
    assert failed(ParseError("bad"), None, "-c prod run --bogus x") == 125
    assert failed(ParseError("bad"), None, "container run --bogus x") == 125
    assert failed(ParseError("bad"), None, "ps --bogus") == 1
    assert failed(EngineRequestFailed("x"), ps, "ps") == 1
    done = RunResult(container_id="c", name="n", detached=False, exit_code=3)
    waiting = RunResult(container_id="c", name="n", detached=False, timed_out_after=1.0)
    assert exit_status(Reply(text="", command=run, result=done)) == 3
    assert exit_status(Reply(text="", command=run, result=waiting)) == 124
