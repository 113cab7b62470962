"""What the bot is doing to containers: which operations and plans record an intent, which
events an intent covers (table tests), the classifier's verdicts with a cause, and intents'
expiry as a state machine against a model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from bot.core.notices.classify import Classifier
from bot.core.notices.events import ContainerEvent
from bot.core.notices.intents import (
    SKEW,
    TTL,
    Cause,
    Intent,
    MemoryIntentLog,
    acting,
    covering,
    intended,
    planned,
)
from bot.core.notices.rules import NoticeKind, NotificationRules
from bot.core.operations import (
    ChangeContainers,
    ContainerAction,
    Operation,
    RollbackContainer,
    ShowLogs,
    UpgradeContainers,
)
from bot.core.plans import ObjectKind, Plan, PlanItem

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
WEB_ID = "ab12cd34ef56" + "0" * 52


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        (ChangeContainers(action=ContainerAction.STOP, containers=("web",)), ("stop", ("web",))),
        (
            ChangeContainers(action=ContainerAction.RESTART, containers=("a", "b")),
            ("restart", ("a", "b")),
        ),
        (ChangeContainers(action=ContainerAction.REMOVE, containers=("web",)), ("rm", ("web",))),
        (ChangeContainers(action=ContainerAction.START, containers=("web",)), None),
        (ChangeContainers(action=ContainerAction.PAUSE, containers=("web",)), None),
        (UpgradeContainers(containers=("web",)), ("upgrade", ("web",))),
        (RollbackContainer(container="web"), ("rollback", ("web",))),
        (ShowLogs(container="web"), None),
    ],
)
def test_operations_that_may_stop_containers_record_an_intent(
    operation: Operation, expected: tuple[str, tuple[str, ...]] | None
) -> None:
    assert intended(operation) == expected


def _item(kind: ObjectKind, object_id: str) -> PlanItem:
    return PlanItem(kind=kind, id=object_id, target="web", description="")


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        (Plan(action="rm", items=(_item(ObjectKind.CONTAINER, WEB_ID),)), ("rm", (WEB_ID,))),
        (
            Plan(action="upgrade", items=(_item(ObjectKind.CONTAINER, WEB_ID),)),
            ("upgrade", (WEB_ID,)),
        ),
        (
            Plan(
                action="cleanup",
                items=(_item(ObjectKind.CONTAINER, WEB_ID), _item(ObjectKind.IMAGE, "sha256:1")),
            ),
            ("housekeeping", (WEB_ID,)),
        ),
        (Plan(action="cleanup", items=(_item(ObjectKind.IMAGE, "sha256:1"),)), None),
        (Plan(action="rmi", items=(_item(ObjectKind.IMAGE, "sha256:1"),)), None),
    ],
)
def test_plans_record_their_containers_exact_ids(
    plan: Plan, expected: tuple[str, tuple[str, ...]] | None
) -> None:
    assert planned(plan) == expected


def intent(
    *targets: str,
    started: timedelta = timedelta(0),
    finished: timedelta | None = None,
    action: str = "restart",
) -> Intent:
    return Intent(
        id=1,
        engine="prod",
        action=action,
        targets=targets,
        user="U0OPS",
        started_at=T0 + started,
        finished_at=None if finished is None else T0 + finished,
    )


@pytest.mark.parametrize(
    ("the_intent", "name", "at", "covered"),
    [
        (intent("web", finished=timedelta(seconds=5)), "web", timedelta(seconds=3), True),
        (intent("web", finished=timedelta(seconds=5)), "api", timedelta(seconds=3), False),
        # By ID prefix (12 characters at least), or the exact ID of a plan.
        (intent("ab12cd34ef56"), "other-name", timedelta(seconds=3), True),
        (intent("ab12"), "other-name", timedelta(seconds=3), False),
        (intent(WEB_ID), "renamed", timedelta(seconds=3), True),
        # The old container while an upgrade sets it aside under another name.
        (
            intent("web", action="upgrade"),
            "web-chatops-old-ab12cd34ef56",
            timedelta(seconds=3),
            True,
        ),
        # The engine's clock a little ahead or behind.
        (intent("web"), "web", -SKEW, True),
        (intent("web"), "web", -SKEW - timedelta(seconds=1), False),
        # Closed: covers until the skew after its end, not beyond.
        (intent("web", finished=timedelta(seconds=5)), "web", timedelta(seconds=5) + SKEW, True),
        (intent("web", finished=timedelta(seconds=5)), "web", timedelta(seconds=8), False),
        # Never closed (its process died): until it expires.
        (intent("web"), "web", TTL, True),
        (intent("web"), "web", TTL + timedelta(seconds=1), False),
    ],
)
def test_which_events_an_intent_covers(
    the_intent: Intent, name: str, at: timedelta, covered: bool
) -> None:
    assert the_intent.covers(container_id=WEB_ID, name=name, at=T0 + at) is covered


def test_the_latest_covering_intent_is_the_cause() -> None:
    older = intent("web", action="stop")
    newer = Intent(
        id=2,
        engine="prod",
        action="rm",
        targets=("web",),
        user="U0ADMIN",
        started_at=T0 + timedelta(seconds=1),
    )
    assert covering(
        [newer, older], container_id=WEB_ID, name="web", at=T0 + timedelta(seconds=2)
    ) == Cause(action="rm", user="U0ADMIN", intent=2)
    assert covering([older], container_id=WEB_ID, name="api", at=T0) is None


SECOND = 1_000_000_000
CAUSE = Cause(action="restart", user="U0OPS", intent=7)


def event(
    action: str,
    at: int,
    *,
    code: int | None = None,
    health: str | None = None,
    signal: str | None = None,
) -> ContainerEvent:
    return ContainerEvent(
        action=action,
        container_id=WEB_ID,
        name="web",
        image="nginx",
        time_ns=at * SECOND,
        exit_code=code,
        health=health,
        signal=signal,
    )


def told(steps: list[tuple[ContainerEvent, Cause | None]]) -> list[tuple[NoticeKind, Cause | None]]:
    classifier = Classifier(engine="prod", rules=NotificationRules(channel="C1"))
    return [
        (o.kind, o.during) for e, cause in steps if (o := classifier.observe(e, cause)) is not None
    ]


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # A service that exits 1 on its stop signal, stopped by the bot: no crash.
        ([(event("start", 1), None), (event("die", 2, code=1), CAUSE)], []),
        # The same exit with nobody acting: a crash (the positive control).
        ([(event("start", 1), None), (event("die", 2, code=1), None)], [(NoticeKind.CRASH, None)]),
        # A stop signal Docker's rules take for a reload (SIGUSR1): still the bot's doing.
        (
            [
                (event("start", 1), None),
                (event("kill", 2, signal="SIGUSR1"), None),
                (event("die", 3, code=1), CAUSE),
            ],
            [],
        ),
        # An OOM kill during a restart: told, and told as happening during it.
        (
            [
                (event("start", 1), None),
                (event("oom", 2), None),
                (event("die", 2, code=137), CAUSE),
            ],
            [(NoticeKind.OOM, CAUSE)],
        ),
        (
            [(event("health_status", 2, health="unhealthy"), CAUSE)],
            [(NoticeKind.UNHEALTHY, CAUSE)],
        ),
        # A container the restart brought back that crashes at once has crashed.
        (
            [
                (event("die", 2, code=1), CAUSE),
                (event("start", 3), None),
                (event("die", 3, code=1), CAUSE),
            ],
            [(NoticeKind.CRASH, None)],
        ),
        # Restarts the bot made (each its own intent) are no restart loop.
        (
            [
                step
                for at in range(1, 8, 2)
                for step in (
                    (event("die", at, code=1), Cause(action="restart", user="U0OPS", intent=at)),
                    (event("start", at + 1), None),
                )
            ],
            [],
        ),
    ],
)
def test_what_the_bot_caused_is_not_a_crash(
    steps: list[tuple[ContainerEvent, Cause | None]],
    expected: list[tuple[NoticeKind, Cause | None]],
) -> None:
    assert told(steps) == expected


def test_acting_records_before_and_closes_after_even_on_failure() -> None:
    now = [T0]
    log = MemoryIntentLog(clock=lambda: now[0])
    with (
        pytest.raises(RuntimeError),
        acting(log, engine="prod", what=("stop", ("web",)), user="U0OPS"),
    ):
        assert [i.finished_at for i in log.intents.values()] == [None]
        now[0] = T0 + timedelta(seconds=4)
        raise RuntimeError("the engine failed")
    assert [i.finished_at for i in log.intents.values()] == [T0 + timedelta(seconds=4)]
    with acting(log, engine="prod", what=None, user="U0OPS"):
        pass
    assert len(log.intents) == 1


class IntentExpiry(RuleBasedStateMachine):
    """Begin, end and let time pass in any order: an event is covered exactly when the model
    says (begun by then, give or take the skew; not closed, or closed at most the skew before
    it; never past the time to live)."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.log = MemoryIntentLog(clock=lambda: self.now)
        self.model: dict[int, tuple[str, datetime, datetime | None]] = {}

    @rule(name=st.sampled_from(["web", "api"]))
    def begin(self, name: str) -> None:
        intent_id = self.log.begin(engine="prod", action="stop", targets=(name,), user="U0OPS")
        self.model[intent_id] = (name, self.now, None)

    @rule(data=st.data())
    def end(self, data: st.DataObject) -> None:
        if self.model:
            intent_id = data.draw(st.sampled_from(sorted(self.model)))
            target, started, finished = self.model[intent_id]
            self.log.end(intent_id)
            self.model[intent_id] = (target, started, finished or self.now)

    @rule(seconds=st.integers(min_value=0, max_value=900))
    def wait(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @invariant()
    def covered_as_the_model_says(self) -> None:
        for name in ("web", "api"):
            for back in (0, 1, 2, 3, 5, 600, 601):
                at = self.now - timedelta(seconds=back)
                expected = any(
                    target == name
                    and started - SKEW <= at
                    and at <= (min(finished, started + TTL) + SKEW if finished else started + TTL)
                    for target, started, finished in self.model.values()
                )
                found = covering(
                    self.log.around("prod", at=at), container_id="f" * 64, name=name, at=at
                )
                assert (found is not None) is expected


TestIntentExpiry = IntentExpiry.TestCase
