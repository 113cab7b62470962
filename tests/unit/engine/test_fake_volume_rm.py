"""`volume rm` on the fake engine: planned like the real engine plans it, protected volumes and
volumes in use refused before anything is removed, and run as its plan without an approval."""

from __future__ import annotations

import pytest

from bot.core.command import ParsedCommand
from bot.core.operations import RemoveVolumes
from bot.core.plans import ObjectKind, Plan
from bot.core.results import ActionResult
from bot.engine.fake import FakeEngine
from bot.errors import Conflict, NotFound, PlanChanged, Protected

PROTECTED = {"chatops.protected": "true"}


def plan_of(engine: FakeEngine, *names: str) -> Plan:
    return engine.plan(ParsedCommand(operation=RemoveVolumes(volumes=names)))


@pytest.fixture
def engine() -> FakeEngine:
    engine = FakeEngine()
    engine.add_image("app:1")
    for name in ("data", "cache"):
        engine.add_volume(name)
    return engine


def test_the_plan_names_each_volume_and_its_driver(engine: FakeEngine) -> None:
    plan = plan_of(engine, "data", "cache")
    assert plan.action == "volume rm"
    assert [(i.kind, i.id, i.target) for i in plan.items] == [
        (ObjectKind.VOLUME, "data", "data"),
        (ObjectKind.VOLUME, "cache", "cache"),
    ]
    assert "local driver" in plan.items[0].description


@pytest.mark.parametrize(
    ("arrange", "error", "words"),
    [
        (lambda e: e.add_volume("data", labels=PROTECTED), Protected, "is protected"),
        (lambda e: e.add_volume("data", labels={"chatops.protected": "no"}), None, ""),
        (
            lambda e: setattr(
                e.add_container("db", "app:1", labels=PROTECTED), "volumes", ("data",)
            ),
            Protected,
            "mounted by a protected container",
        ),
        (
            lambda e: setattr(e.add_container("web", "app:1"), "volumes", ("data",)),
            Conflict,
            "in use by container(s) web",
        ),
        (lambda e: e.volumes.pop("data"), NotFound, "no such volume"),
    ],
)
def test_refusals_come_before_anything_is_removed(
    engine: FakeEngine, arrange: object, error: type[Exception] | None, words: str
) -> None:
    arrange(engine)  # type: ignore[operator]
    if error is None:  # the positive control: an explicit "no" protects nothing
        assert len(plan_of(engine, "cache", "data").items) == 2
        return
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        plan_of(engine, "cache", "data")
    with pytest.raises(error):
        engine.execute(RemoveVolumes(volumes=("cache", "data")))
    assert "cache" in engine.volumes  # the first, harmless one was not removed either


def test_without_an_approval_it_runs_as_its_plan(engine: FakeEngine) -> None:
    result = engine.execute(RemoveVolumes(volumes=("data",)))
    assert isinstance(result, ActionResult)
    assert result.action == "volume rm" and [o.target for o in result.outcomes] == ["data"]
    assert set(engine.volumes) == {"cache"}


def test_a_volume_gone_since_the_plan_refuses_the_whole_plan(engine: FakeEngine) -> None:
    plan = plan_of(engine, "data", "cache")
    del engine.volumes["cache"]
    with pytest.raises(PlanChanged, match="cache no longer exists"):
        engine.execute_plan(plan)
    assert "data" in engine.volumes
