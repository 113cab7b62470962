"""The in-memory engine behind the pipeline: the common commands do what a reader expects, so
that tests built on it are about their own subject. (Engine behaviour is the real engine's.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.pipeline import Pipeline
from bot.core.policy import Actor, AllowEverything
from bot.core.results import (
    ActionResult,
    ContainerList,
    DiskUsageResult,
    EventList,
    ImageList,
    NetworkList,
    PortList,
    PruneResult,
    RunResult,
    StatsResult,
    TopResult,
    VolumeList,
)
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


def test_diagnostics_on_the_fake(engine: FakeEngine, clock: FakeClock) -> None:
    run(engine, "run -d --name web nginx")
    run(engine, "run --name job busybox")  # runs to completion at once
    stats = run(engine, "stats")
    assert isinstance(stats, StatsResult) and [r.name for r in stats.rows] == ["web"]
    assert stats.rows[0].memory_limit > stats.rows[0].memory_usage > 0
    everything = run(engine, "stats -a")
    assert isinstance(everything, StatsResult) and len(everything.rows) == 2
    with pytest.raises(NotFound):
        run(engine, "stats ghost")
    top = run(engine, "top web")
    assert isinstance(top, TopResult) and top.titles[1] == "PID" and top.processes
    with pytest.raises(Conflict, match="is not running"):
        run(engine, "top job")
    assert isinstance(run(engine, "port web"), PortList)
    with pytest.raises(NotFound, match="No public port '80/tcp' published for web"):
        run(engine, "port web 80")
    usage = run(engine, "system df")
    assert isinstance(usage, DiskUsageResult)
    assert [row.type for row in usage.rows] == [
        "Images",
        "Containers",
        "Local Volumes",
        "Build Cache",
    ]
    assert usage.rows[0].total == 2 and usage.rows[0].active == 2
    engine.volumes["data"] = "local"
    volumes = run(engine, "volume ls --filter name=dat")
    assert isinstance(volumes, VolumeList) and [v.name for v in volumes.rows] == ["data"]
    networks = run(engine, "network ls")
    assert isinstance(networks, NetworkList)
    assert [n.name for n in networks.rows] == ["bridge", "host", "none"]
    clock.advance(timedelta(minutes=30))
    run(engine, "stop web")
    recent = run(engine, "events --since 10m")
    assert isinstance(recent, EventList) and [e.action for e in recent.events] == ["die"]
    older = run(engine, "events --since 1h --until 20m --filter event=create")
    assert isinstance(older, EventList)
    assert [dict(e.attributes)["name"] for e in older.events] == ["web", "job"]


def test_a_state_change_plan_acts_on_exactly_its_containers(engine: FakeEngine) -> None:
    """An admin's stop inside a freeze window waits as a plan: by ID, refused with -t, and
    refused whole if a planned container was replaced meanwhile."""
    from bot.core.command import ParsedCommand
    from bot.core.parsing.parser import parse_command
    from bot.errors import PlanChanged

    run(engine, "run -d --name web nginx")
    web = engine.container("web").id
    plan = engine.plan(ParsedCommand(operation=parse_command("stop web").operation))
    assert plan.action == "stop" and [item.id for item in plan.items] == [web]
    with pytest.raises(Conflict, match="ask without `-t`"):
        engine.plan(ParsedCommand(operation=parse_command("stop -t 0 web").operation))
    done = engine.execute_plan(plan)
    assert [o.ok for o in done.outcomes] == [True] and engine.container("web").state == "exited"
    # Replaced under the same name since the plan: nothing runs.
    replan = engine.plan(ParsedCommand(operation=parse_command("start web").operation))
    run(engine, "rm web")
    run(engine, "run -d --name web nginx")
    with pytest.raises(PlanChanged):
        engine.execute_plan(replan)


def test_a_protected_container_gets_no_plan_as_on_the_real_engine(engine: FakeEngine) -> None:
    from bot.core.command import ParsedCommand
    from bot.core.parsing.parser import parse_command
    from bot.errors import Protected

    run(engine, "run -d --name guarded nginx")
    engine.container("guarded").labels["chatops.protected"] = "true"
    run(engine, "run -d --name plain nginx")
    for text in ("rm -f guarded", "stop guarded"):
        with pytest.raises(Protected, match="is protected"):
            engine.plan(ParsedCommand(operation=parse_command(text).operation))
    # Positive control: the same plans of an unprotected container are made.
    for text in ("rm -f plain", "stop plain"):
        assert engine.plan(ParsedCommand(operation=parse_command(text).operation)).items
