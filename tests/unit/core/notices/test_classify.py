"""Which events are worth telling: property tests over arbitrary event sequences."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.core.notices.classify import Classifier
from bot.core.notices.events import ContainerEvent
from bot.core.notices.rules import NoticeKind, NotificationRules, RestartLoop, parse_restart_loop

RULES = NotificationRules(
    channel="C1", exclude=("ci-*",), restart_loop=RestartLoop(count=3, span=timedelta(minutes=5))
)
SECOND = 1_000_000_000


def event(
    action: str,
    at: int,
    *,
    code: int | None = None,
    name: str = "web",
    health: str | None = None,
    labels: dict[str, str] | None = None,
) -> ContainerEvent:
    return ContainerEvent(
        action=action,
        container_id="c" * 64,
        name=name,
        image="nginx",
        time_ns=at * SECOND,
        exit_code=code,
        health=health,
        labels=labels or {},
    )


def kinds(events: list[ContainerEvent], rules: NotificationRules = RULES) -> list[NoticeKind]:
    classifier = Classifier(engine="prod", rules=rules)
    return [o.kind for e in events if (o := classifier.observe(e)) is not None]


def test_a_crash_an_oom_and_an_unhealthy_container_are_told() -> None:
    assert kinds([event("start", 1), event("die", 2, code=3)]) == [NoticeKind.CRASH]
    assert kinds([event("start", 1), event("oom", 2), event("die", 2, code=137)]) == [
        NoticeKind.OOM
    ]
    assert kinds([event("health_status", 1, health="unhealthy")]) == [NoticeKind.UNHEALTHY]


def test_clean_exits_asked_stops_and_quiet_containers_are_not() -> None:
    assert kinds([event("start", 1), event("die", 2, code=0)]) == []
    # docker stop / restart / kill / rm -f: a kill comes first.
    assert kinds([event("start", 1), event("kill", 2), event("die", 3, code=137)]) == []
    assert kinds([event("health_status", 1, health="healthy")]) == []
    quiet = {"chatops.quiet": "true"}
    assert kinds([event("start", 1, labels=quiet), event("die", 2, code=3, labels=quiet)]) == []
    assert kinds([event("start", 1, name="ci-7"), event("die", 2, code=3, name="ci-7")]) == []


def test_a_restart_loop_is_told_once_per_loop() -> None:
    events = [event("start", 0)]
    for n in range(1, 8):
        events += [event("die", n * 10, code=1), event("start", n * 10 + 1)]
    told = kinds(events)
    assert told.count(NoticeKind.RESTART_LOOP) == 1
    assert told.count(NoticeKind.CRASH) == 7
    # Restarts spread wider than the span are not a loop.
    slow = [event("start", 0)]
    for n in range(1, 8):
        slow += [event("die", n * 400, code=1), event("start", n * 400 + 1)]
    assert NoticeKind.RESTART_LOOP not in kinds(slow)


def test_restart_loop_parses() -> None:
    assert parse_restart_loop("4 in 2m") == RestartLoop(count=4, span=timedelta(minutes=2))


_ACTIONS = st.sampled_from(["start", "die", "kill", "oom", "destroy", "health_status"])


@given(st.lists(st.tuples(_ACTIONS, st.integers(0, 255)), max_size=60))
def test_a_die_after_a_kill_is_never_told(steps: list[tuple[str, int]]) -> None:
    classifier = Classifier(engine="prod", rules=RULES)
    killed = False
    for at, (action, code) in enumerate(steps):
        told = classifier.observe(event(action, at, code=code, health="unhealthy"))
        if action == "die" and (killed or code == 0):
            assert told is None or (told.kind is NoticeKind.OOM and not killed)
        if action == "die" and told is not None:
            assert told.kind in (NoticeKind.CRASH, NoticeKind.OOM)
        if action == "kill":
            killed = True
        elif action in ("start", "die", "destroy"):
            killed = False
    assert classifier.tracked <= 1


def test_a_reload_signal_does_not_hide_the_next_crash() -> None:
    hup = ContainerEvent(
        action="kill",
        container_id="c" * 64,
        name="web",
        image="nginx",
        time_ns=2 * SECOND,
        signal="1",
    )
    assert kinds([event("start", 1), hup, event("die", 3, code=139)]) == [NoticeKind.CRASH]
    # A stop long ago does not excuse a crash now (the positive control: a recent one does).
    assert kinds([event("start", 1), event("kill", 2), event("die", 3, code=137)]) == []
    assert kinds([event("start", 1), event("kill", 2), event("die", 2 + 3600, code=137)]) == [
        NoticeKind.CRASH
    ]
