"""The in-memory engine behind the pipeline: the common commands do what a reader expects, so
that tests built on it are about their own subject. (Engine behaviour is the real engine's.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.pipeline import Pipeline
from bot.core.policy import Actor, AllowEverything
from bot.core.results import ActionResult, ContainerList, ImageList, PruneResult, RunResult
from bot.engine.fake import FakeClock, FakeEngine, FakeEngineDirectory
from bot.errors import Conflict, NotFound

ACTOR = Actor(user_id="U1")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(now=datetime(2026, 11, 29, 12, 0, tzinfo=UTC))


@pytest.fixture
def engine(clock: FakeClock) -> FakeEngine:
    return FakeEngine(clock=clock)


def run(engine: FakeEngine, text: str) -> object:
    reply = Pipeline(engines=FakeEngineDirectory(engine), policy=AllowEverything()).handle(
        text, actor=ACTOR
    )
    if reply.error is not None:
        raise reply.error
    return reply.result


def test_containers_run_stop_list_and_go(engine: FakeEngine) -> None:
    started = run(engine, "run -d --name web -l team=ops nginx")
    assert isinstance(started, RunResult) and started.detached
    finished = run(engine, "run --name job busybox true")
    assert isinstance(finished, RunResult) and finished.exit_code == 0
    listing = run(engine, "ps")
    assert isinstance(listing, ContainerList) and [r.names for r in listing.rows] == [("web",)]
    every = run(engine, "ps -a --filter label=team=ops")
    assert isinstance(every, ContainerList) and [r.state for r in every.rows] == ["running"]
    with pytest.raises(Conflict):
        run(engine, "rm web")  # running
    run(engine, "stop web")
    assert engine.container("web").state == "exited"
    removed = run(engine, "rm web ghost")
    assert isinstance(removed, ActionResult) and [o.ok for o in removed.outcomes] == [True, False]
    with pytest.raises(NotFound):
        run(engine, "logs web")


def test_images_pull_retag_and_go(engine: FakeEngine, clock: FakeClock) -> None:
    run(engine, "pull nginx:1.27")
    run(engine, "run -d --name web nginx:1.27")
    first = next(iter(engine.images))
    with pytest.raises(Conflict):
        run(engine, "rmi nginx:1.27")  # in use
    clock.advance(timedelta(minutes=1))
    engine.add_image("nginx:1.27")  # the tag moves on: the first image dangles, still in use
    images = run(engine, "images")
    assert isinstance(images, ImageList) and [r.tag for r in images.rows] == ["1.27", None]
    run(engine, "rm -f web")
    pruned = run(engine, "image prune")
    assert isinstance(pruned, PruneResult) and pruned.deleted == (first,)
    dangling = run(engine, "images --filter dangling=true")
    assert isinstance(dangling, ImageList) and dangling.rows == ()
