"""Scheduled update checks: each new digest told once, failures told, an engine that fails
told without stopping the others, an engine a [[freeze]] holds for upgrade skipped and told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.freezes import UPDATE_CHECK_ACTION, Freeze, FreezeCalendar, NextFire
from bot.core.operations import EngineOperation, ListUpdates
from bot.core.results import Result, UpdateList, UpdateRow
from bot.errors import EngineUnreachable
from bot.service.update_checks import InMemorySeenUpdates, UpdateChecks


def row(container_id: str, digest: str) -> UpdateRow:
    return UpdateRow(
        container=f"web-{container_id[:2]}",
        reference="registry.example/app:latest",
        current_digest="sha256:" + "1" * 64,
        available_digest=digest,
        container_id=container_id,
    )


class Engine:
    def __init__(self, name: str) -> None:
        self.name = name
        self.answer: Result | Exception = UpdateList(rows=())

    def execute(self, operation: EngineOperation, **_: object) -> Result:
        assert isinstance(operation, ListUpdates)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class Directory:
    def __init__(self, *engines: Engine) -> None:
        self.engines = {engine.name: engine for engine in engines}

    def get(self, name: str | None) -> Engine:
        return self.engines[name or "a"]

    def names(self) -> list[str]:
        return list(self.engines)


class Board:
    def __init__(self) -> None:
        self.posts: list[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]] = []
        self.problems: list[str] = []
        self.notes: list[str] = []

    def post_updates(
        self, engine: str, rows: tuple[UpdateRow, ...], failures: tuple[tuple[str, str], ...]
    ) -> None:
        self.posts.append((engine, tuple(r.container for r in rows), failures))

    def post_problem(self, engine: str, text: str) -> None:
        self.problems.append(f"{engine}: {text}")

    def post_note(self, text: str) -> None:
        self.notes.append(text)


def test_each_new_digest_is_told_once_and_a_moved_one_again() -> None:
    engine, board = Engine("a"), Board()
    checks = UpdateChecks(engines=Directory(engine), seen=InMemorySeenUpdates(), board=board)  # type: ignore[arg-type]
    engine.answer = UpdateList(rows=(row("c" * 64, "sha256:" + "2" * 64),), checked=1)
    assert [r.container for r in checks.check("a")] == ["web-cc"]  # the positive control
    assert checks.check("a") == () and len(board.posts) == 1  # the same digest: not again
    engine.answer = UpdateList(rows=(row("c" * 64, "sha256:" + "3" * 64),), checked=1)
    assert [r.container for r in checks.check("a")] == ["web-cc"]
    assert [post[1] for post in board.posts] == [("web-cc",), ("web-cc",)]


def test_registry_failures_and_an_engine_that_fails_are_told() -> None:
    engine, board = Engine("a"), Board()
    checks = UpdateChecks(engines=Directory(engine), seen=InMemorySeenUpdates(), board=board)  # type: ignore[arg-type]
    engine.answer = UpdateList(rows=(), failures=(("r.example/x:1", "connection refused"),))
    checks.check("a")
    assert board.posts == [("a", (), (("r.example/x:1", "connection refused"),))]
    engine.answer = EngineUnreachable("Cannot reach engine a")
    assert checks.check("a") == ()
    assert board.problems == ["a: The update check could not run: Cannot reach engine a"]


WEEK = timedelta(days=7)


def weekly(first: datetime) -> NextFire:
    """Fires at ``first`` and every week after."""

    def next_fire(moment: datetime) -> datetime | None:
        if moment < first:
            return first
        return first + ((moment - first) // WEEK + 1) * WEEK

    return next_fire


def test_an_engine_frozen_for_upgrade_is_not_checked_and_that_is_told_once_per_window() -> None:
    a, b, board = Engine("a"), Engine("b"), Board()
    moved = UpdateList(rows=(row("c" * 64, "sha256:" + "2" * 64),), checked=1)
    a.answer = b.answer = moved
    start = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    now = [start]
    calendar = FreezeCalendar(
        freezes=(
            Freeze(
                reason="upgrade week",
                next_fire=weekly(start),
                duration=timedelta(days=1),
                engines=frozenset({"a"}),
                actions=frozenset({"upgrade"}),
            ),
        ),
        clock=lambda: now[0],
    )
    checks = UpdateChecks(
        engines=Directory(a, b),  # type: ignore[arg-type]
        seen=InMemorySeenUpdates(),
        board=board,
        frozen=lambda engine: calendar.holding(engine, UPDATE_CHECK_ACTION),
    )
    assert checks.check("a") == () and board.posts == []
    assert board.notes == [
        "The update check skipped on a: frozen (upgrade week) until 2026-12-08 08:00 UTC"
    ]
    now[0] += timedelta(hours=1)
    assert checks.check("a") == () and len(board.notes) == 1  # the same window: told once
    assert [r.container for r in checks.check("b")] == ["web-cc"]  # the control: b is not held
    now[0] = start + timedelta(days=1)  # the window ended: a is checked
    assert [r.container for r in checks.check("a")] == ["web-cc"]
    now[0] = start + timedelta(days=7, hours=2)  # the next window is told again
    assert checks.check("a") == () and len(board.notes) == 2
