"""Approvals end to end on the in-memory engine: no dockerd, no waiting.

Request -> approve -> exactly the planned objects go; a plan that changed in between is refused
and nothing is done; expiry and veto windows pass on an injected clock. The approvals see the
engine only through the ``Engine`` port (``planner_for`` is the directory's ``get``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.approvals import (
    ApprovalOutcomeKind,
    ApprovalRules,
    ApprovalService,
    ApprovalState,
    Frozen,
)
from bot.core.cleanup import CleanupRules
from bot.core.freezes import Freeze, FreezeCalendar
from bot.core.operations import ChangeContainers, ContainerAction
from bot.core.parsing.parser import parse_command
from bot.engine.fake import FakeClock, FakeEngine, FakeEngineDirectory
from bot.state.approvals import SqlApprovalRepository
from bot.state.database import open_database
from tests.conftest import AUDIT_KEY

START = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
ADMIN, OPERATOR = "U0ADMIN", "U0OPS"
RULES = CleanupRules(container_grace=timedelta(hours=24), image_grace=timedelta(hours=24))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(now=START)


@pytest.fixture
def engine(clock: FakeClock) -> FakeEngine:
    return FakeEngine(clock=clock, cleanup_rules=RULES)


def approval_service(
    engine: FakeEngine, clock: FakeClock, database: Path, frozen: Frozen | None = None
) -> ApprovalService:
    return ApprovalService(
        repository=SqlApprovalRepository(
            engine=open_database(f"sqlite:///{database}"), key=AUDIT_KEY.encode()
        ),
        planner_for=FakeEngineDirectory(engine).get,
        rules=ApprovalRules(approvers=("admin",), expire_after=timedelta(minutes=15)),
        has_role=lambda role, user, groups: role == "admin" and user == ADMIN,
        clock=clock,
        frozen=frozen,
    )


@pytest.fixture
def service(engine: FakeEngine, clock: FakeClock, tmp_path: Path) -> ApprovalService:
    return approval_service(engine, clock, tmp_path / "a.db")


def ask(service: ApprovalService, text: str, *, veto_window: timedelta | None = None) -> int:
    """Plan ``text`` on the fake engine and file it as a request; its number."""
    command = parse_command(text)
    plan = service.plan(command, engine="fake")
    record = service.request(
        requester=OPERATOR,
        channel_id="C0OPS",
        command=command,
        engine="fake",
        plan=plan,
        veto_window=veto_window,
    )
    return record.id


def stopped(engine: FakeEngine, name: str, image: str = "app:1") -> str:
    """A container that ran and exited now; its ID."""
    container = engine.add_container(name, image)
    container.state, container.finished_at = "exited", container.created
    return container.id


def names(engine: FakeEngine) -> set[str]:
    return {container.name for container in engine.containers.values()}


def test_an_approved_request_removes_exactly_the_plan(
    engine: FakeEngine, service: ApprovalService
) -> None:
    engine.add_image("app:1")
    planned = stopped(engine, "web")
    stopped(engine, "db")
    request = ask(service, "rm web")
    assert names(engine) == {"web", "db"}  # a request changes nothing

    outcome = service.approve(request, user_id=ADMIN, groups=frozenset())
    assert outcome.kind is ApprovalOutcomeKind.EXECUTED
    assert outcome.record is not None and outcome.record.state is ApprovalState.DONE
    assert planned not in engine.containers and names(engine) == {"db"}
    assert outcome.message == "removed web"


def test_an_approved_volume_rm_removes_exactly_the_planned_volumes(
    engine: FakeEngine, service: ApprovalService
) -> None:
    for name in ("web-data", "db-data", "cache"):
        engine.add_volume(name)
    request = ask(service, "volume rm web-data cache")
    assert set(engine.volumes) == {"web-data", "db-data", "cache"}  # a request changes nothing

    outcome = service.approve(request, user_id=ADMIN, groups=frozenset())
    assert outcome.kind is ApprovalOutcomeKind.EXECUTED
    assert set(engine.volumes) == {"db-data"}
    assert outcome.message == "removed web-data, cache"


def test_a_request_that_changed_in_between_is_refused(
    engine: FakeEngine, service: ApprovalService
) -> None:
    engine.add_image("app:1")
    planned = stopped(engine, "web")
    request = ask(service, "rm web")
    # Removed by hand, and another `web` takes the name.
    engine.execute(ChangeContainers(action=ContainerAction.REMOVE, containers=("web",)))
    other = stopped(engine, "web")

    outcome = service.approve(request, user_id=ADMIN, groups=frozenset())
    assert outcome.record is not None and outcome.record.state is ApprovalState.FAILED
    assert "plan no longer holds" in outcome.message
    assert f"web is now {other[:12]}, not the planned {planned[:12]}" in outcome.message
    assert other in engine.containers  # nothing was done


def test_a_retagged_image_is_refused_and_both_images_stay(
    engine: FakeEngine, service: ApprovalService
) -> None:
    planned = engine.add_image("app:1")
    request = ask(service, "rmi app:1")
    newer = engine.add_image("app:1")  # the tag now names another image

    outcome = service.approve(request, user_id=ADMIN, groups=frozenset())
    assert outcome.record is not None and outcome.record.state is ApprovalState.FAILED
    assert "app:1 is now" in outcome.message
    assert {planned.id, newer.id} <= set(engine.images)
    # The control: the same request, planned anew, goes.
    again = service.approve(ask(service, "rmi app:1"), user_id=ADMIN, groups=frozenset())
    assert again.record is not None and again.record.state is ApprovalState.DONE
    assert newer.id not in engine.images and planned.id in engine.images


def test_only_an_approver_other_than_the_requester_runs_a_plan(
    engine: FakeEngine, service: ApprovalService
) -> None:
    engine.add_image("app:1")
    stopped(engine, "web")
    request = ask(service, "rm web")
    refused = service.approve(request, user_id=OPERATOR, groups=frozenset())
    assert refused.kind is ApprovalOutcomeKind.REFUSED and names(engine) == {"web"}
    assert service.approve(request, user_id=ADMIN, groups=frozenset()).kind is (
        ApprovalOutcomeKind.EXECUTED
    )
    assert names(engine) == set()


def test_a_request_expires_on_the_clock(
    engine: FakeEngine, service: ApprovalService, clock: FakeClock
) -> None:
    engine.add_image("app:1")
    stopped(engine, "in-time")
    stopped(engine, "late")
    in_time, late = ask(service, "rm in-time"), ask(service, "rm late")
    clock.advance(timedelta(minutes=14))
    assert service.approve(in_time, user_id=ADMIN, groups=frozenset()).kind is (
        ApprovalOutcomeKind.EXECUTED
    )
    clock.advance(timedelta(minutes=2))  # 16 minutes: past expire_after
    outcome = service.approve(late, user_id=ADMIN, groups=frozenset())
    assert outcome.kind is ApprovalOutcomeKind.REFUSED and "expired" in outcome.message
    assert names(engine) == {"late"}


def test_a_veto_window_runs_the_planned_cleanup_when_it_ends(
    engine: FakeEngine, service: ApprovalService, clock: FakeClock
) -> None:
    engine.add_image("app:1")
    victim = stopped(engine, "victim")
    clock.advance(timedelta(hours=25))
    request = ask(service, "cleanup", veto_window=timedelta(minutes=30))
    pending = service.get(request)
    assert pending is not None and pending.plan.action == "cleanup"
    assert [item.target for item in pending.plan.items] == ["victim"]
    newcomer = stopped(engine, "newcomer")
    clock.advance(timedelta(hours=25))  # the newcomer is past its grace too, but not planned

    [record] = service.expire_due()
    assert record.id == request and record.state is ApprovalState.DONE
    assert victim not in engine.containers and newcomer in engine.containers
    assert record.outcome == "removed victim"


def test_a_veto_window_does_not_run_before_it_ends_nor_after_a_cancel(
    engine: FakeEngine, service: ApprovalService, clock: FakeClock
) -> None:
    engine.add_image("app:1")
    victim = stopped(engine, "victim")
    clock.advance(timedelta(hours=25))
    cancelled = ask(service, "cleanup", veto_window=timedelta(minutes=30))
    running = ask(service, "cleanup", veto_window=timedelta(minutes=30))
    clock.advance(timedelta(minutes=29))
    assert service.expire_due() == [] and victim in engine.containers  # still in its window
    service.reject(cancelled, user_id=ADMIN, groups=frozenset())
    clock.advance(timedelta(minutes=2))
    [record] = service.expire_due()
    assert record.id == running  # the control: the other one ran when its window ended
    assert victim not in engine.containers
    rejected = service.get(cancelled)
    assert rejected is not None and rejected.state is ApprovalState.REJECTED


def test_inside_a_freeze_only_another_admin_approves(
    engine: FakeEngine, clock: FakeClock, tmp_path: Path
) -> None:
    window = Freeze(
        reason="release",
        start=START - timedelta(hours=1),
        end=START + timedelta(hours=1),
        engines=frozenset({"fake"}),
        actions=frozenset({"rm"}),
    )
    calendar = FreezeCalendar(freezes=(window,), clock=clock)
    admins = {ADMIN, "U0ADMIN2"}
    service = ApprovalService(
        repository=SqlApprovalRepository(
            engine=open_database(f"sqlite:///{tmp_path}/f.db"), key=AUDIT_KEY.encode()
        ),
        planner_for=FakeEngineDirectory(engine).get,
        # Operators approve outside windows, and anyone their own request.
        rules=ApprovalRules(approvers=("operator",), allow_self_approval=True),
        has_role=lambda role, user, groups: (
            user in admins or (role == "operator" and user == OPERATOR)
        ),
        clock=clock,
        frozen=calendar.holding,
    )
    engine.add_image("app:1")
    stopped(engine, "web")
    stopped(engine, "db")
    command = parse_command("rm web")
    record = service.request(
        requester=ADMIN,
        channel_id="C0OPS",
        command=command,
        engine="fake",
        plan=service.plan(command, engine="fake"),
    )
    refused = service.approve(record.id, user_id=OPERATOR, groups=frozenset())
    assert refused.kind is ApprovalOutcomeKind.REFUSED
    assert refused.message == (
        f"#{record.id} is held by a [[freeze]] window (release, until 2026-11-29 13:00 UTC): "
        "only an admin may approve it."
    )
    mine = service.approve(record.id, user_id=ADMIN, groups=frozenset())
    assert mine.kind is ApprovalOutcomeKind.REFUSED and "another admin" in mine.message
    assert names(engine) == {"web", "db"}
    done = service.approve(record.id, user_id="U0ADMIN2", groups=frozenset())
    assert done.kind is ApprovalOutcomeKind.EXECUTED and names(engine) == {"db"}
    # After the window the usual rules are back: an operator approves (the control).
    clock.advance(timedelta(hours=1))
    command = parse_command("rm db")
    later = service.request(
        requester=ADMIN,
        channel_id="C0OPS",
        command=command,
        engine="fake",
        plan=service.plan(command, engine="fake"),
    )
    outcome = service.approve(later.id, user_id=OPERATOR, groups=frozenset())
    assert outcome.kind is ApprovalOutcomeKind.EXECUTED and names(engine) == set()


def test_a_veto_window_ending_inside_a_freeze_does_not_run(
    engine: FakeEngine, clock: FakeClock, tmp_path: Path
) -> None:
    """Proposed before a [[freeze]] window opened, its veto window ends inside it: expired,
    saying why, and nothing removed (the control above runs the same plan outside one)."""
    from bot.core.freezes import Window

    window = Window(
        reason="release",
        start=START + timedelta(hours=25, minutes=10),
        end=START + timedelta(days=3),
    )

    def frozen(engine_name: str, action: str) -> Window | None:
        return window if window.start <= clock() < window.end else None

    service = approval_service(engine, clock, tmp_path / "f.db", frozen)
    engine.add_image("app:1")
    victim = stopped(engine, "victim")
    clock.advance(timedelta(hours=25))
    request = ask(service, "cleanup", veto_window=timedelta(minutes=30))
    clock.advance(timedelta(minutes=31))  # the veto window ends inside the freeze

    [record] = service.expire_due()
    assert record.id == request and record.state is ApprovalState.EXPIRED
    assert "not run: a [[freeze]] window holds it (release" in (record.outcome or "")
    assert victim in engine.containers
