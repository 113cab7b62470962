"""Scheduled update checks: each new digest told once, failures told, an engine that fails
told without stopping the others."""

from __future__ import annotations

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

    def post_updates(
        self, engine: str, rows: tuple[UpdateRow, ...], failures: tuple[tuple[str, str], ...]
    ) -> None:
        self.posts.append((engine, tuple(r.container for r in rows), failures))

    def post_problem(self, engine: str, text: str) -> None:
        self.problems.append(f"{engine}: {text}")


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
