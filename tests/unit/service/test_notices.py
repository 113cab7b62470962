"""The notification service without dockerd or Slack: a scripted event source and a board
that records what it was asked to show."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.notices.classify import Occurrence
from bot.core.notices.events import ContainerEvent
from bot.core.notices.incidents import IncidentView, MessageRef, SummaryView
from bot.core.notices.quiet_hours import InMemoryHeldNotices, QuietHours
from bot.core.notices.rules import NotificationRules
from bot.engine.fake_events import FakeEventSource
from bot.service.notices import NoticeService
from bot.state.database import open_database
from bot.state.event_streams import SqlStreamCursors
from bot.state.held_notices import SqlHeldNotices
from bot.state.silences import SqlSilenceStore

SECOND = 1_000_000_000
RULES = NotificationRules(channel="C0OPS")


class RecordingBoard:
    def __init__(self) -> None:
        self.posts: list[IncidentView | SummaryView | str] = []
        self.updates: list[IncidentView | SummaryView] = []
        self.changed = threading.Condition()

    def _add(self, item: IncidentView | SummaryView | str) -> MessageRef:
        with self.changed:
            self.posts.append(item)
            self.changed.notify_all()
            return MessageRef(channel="C0OPS", ts=str(len(self.posts)))

    def post_incident(self, channel: str, view: IncidentView) -> MessageRef | None:
        return self._add(view)

    def post_summary(self, channel: str, view: SummaryView) -> MessageRef | None:
        return self._add(view)

    def update(self, ref: MessageRef, view: IncidentView | SummaryView) -> bool:
        with self.changed:
            self.updates.append(view)
            self.changed.notify_all()
        return True

    def post_thread(self, ref: MessageRef, occurrences: tuple[Occurrence, ...], more: int) -> bool:
        return True

    def post_text(self, channel: str, text: str) -> bool:
        self._add(text)
        return True

    def wait(self, found: Callable[[], bool], timeout: float = 10) -> None:
        with self.changed:
            assert self.changed.wait_for(found, timeout), (self.posts, self.updates)

    def crashes(self, name: str) -> list[IncidentView]:
        return [p for p in self.posts if isinstance(p, IncidentView) and p.name == name]

    def texts(self, words: str) -> list[str]:
        return [p for p in self.posts if isinstance(p, str) and words in p]


def crash(source: FakeEventSource, name: str, *, code: int = 3, deliver: bool = True) -> None:
    at = source.time_ns + SECOND
    for action, exit_code in (("start", None), ("die", code)):
        source.emit(
            ContainerEvent(
                action=action,
                container_id=name.ljust(64, "0"),
                name=name,
                image="app",
                time_ns=at,
                exit_code=exit_code,
            ),
            deliver=deliver,
        )
        at += 1


@pytest.fixture
def cursors(tmp_path: Path) -> SqlStreamCursors:
    return SqlStreamCursors(engine=open_database(f"sqlite:///{tmp_path}/state.db"))


@pytest.fixture
def run() -> Iterator[Callable[..., NoticeService]]:
    started: list[NoticeService] = []

    def start(
        source: FakeEventSource, board: RecordingBoard, cursors: SqlStreamCursors, **options: object
    ) -> NoticeService:
        service = NoticeService(
            sources={source.name: source},
            rules={source.name: RULES},
            board=board,
            cursors=cursors,
            **options,  # type: ignore[arg-type]
        )
        service.start()
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


def streaming(service: NoticeService) -> None:
    assert service.watchers[0].connected.wait(10)


def test_a_crash_missed_while_down_is_told_once_after_the_reconnect(
    run: Callable[..., NoticeService], cursors: SqlStreamCursors
) -> None:
    source, board = FakeEventSource(), RecordingBoard()
    service = run(source, board, cursors)
    streaming(service)
    crash(source, "before")
    board.wait(lambda: len(board.crashes("before")) == 1)
    source.down()
    crash(source, "during", deliver=False)
    board.wait(lambda: len(board.texts("is unreachable")) == 1)
    source.up()
    board.wait(
        lambda: len(board.crashes("during")) == 1 and len(board.texts("reachable again")) == 1
    )
    crash(source, "after")  # the positive control for "not twice"
    board.wait(lambda: len(board.crashes("after")) == 1)
    assert len(board.crashes("before")) == 1 and len(board.crashes("during")) == 1
    assert len(board.texts("is unreachable")) == 1  # once, however many retries failed


def test_a_restarted_bot_resumes_where_it_stopped(
    run: Callable[..., NoticeService], cursors: SqlStreamCursors
) -> None:
    source, board = FakeEventSource(), RecordingBoard()
    first = run(source, board, cursors)
    streaming(first)
    crash(source, "one")
    board.wait(lambda: len(board.crashes("one")) == 1)
    first.stop()  # saves where it was
    crash(source, "while-stopped", deliver=False)
    second_board = RecordingBoard()
    second = run(source, second_board, cursors)
    streaming(second)
    second_board.wait(lambda: len(second_board.crashes("while-stopped")) == 1)
    crash(source, "control")
    second_board.wait(lambda: len(second_board.crashes("control")) == 1)
    assert second_board.crashes("one") == []  # told by the first, not again


def test_exactly_one_process_streams_an_engine(
    run: Callable[..., NoticeService], cursors: SqlStreamCursors
) -> None:
    source, board_a, board_b = FakeEventSource(), RecordingBoard(), RecordingBoard()
    a = run(source, board_a, cursors, owner="a", claim_every=0.05)
    streaming(a)
    b = run(source, board_b, cursors, owner="b", claim_every=0.05)
    crash(source, "first")
    board_a.wait(lambda: len(board_a.crashes("first")) == 1)
    assert not b.watchers[0].connected.is_set() and board_b.posts == []
    a.stop()  # releases the engine: the other takes it over
    streaming(b)
    crash(source, "second")
    board_b.wait(lambda: len(board_b.crashes("second")) == 1)
    assert board_a.crashes("second") == []


def test_the_stream_state_is_visible_for_health(
    run: Callable[..., NoticeService], cursors: SqlStreamCursors
) -> None:
    source = FakeEventSource()
    source.down()
    service = run(source, RecordingBoard(), cursors)
    assert service.streaming() == {"fake": False}
    source.up()
    streaming(service)
    assert service.streaming() == {"fake": True}


def test_stopping_before_starting_is_quiet(cursors: SqlStreamCursors) -> None:
    # `serve` stopped while it still waits for Slack at start-up: the watchers never started.
    source = FakeEventSource(name="local")
    service = NoticeService(
        sources={source.name: source},
        rules={source.name: RULES},
        board=RecordingBoard(),
        cursors=cursors,
    )
    service.stop()  # raised RuntimeError: cannot join thread before it is started
    assert not service.watchers[0]._thread.is_alive()


def test_silenced_containers_are_not_told_and_their_notice_says_so(
    run: Callable[..., NoticeService], cursors: SqlStreamCursors, tmp_path: Path
) -> None:
    # The fake engine's clock, for the events and the silences alike.
    now = datetime.fromtimestamp(FakeEventSource().time_ns / SECOND, UTC)
    url = f"sqlite:///{tmp_path}/state.db"
    # One replica writes the silences (the one that ran `silence`), this one reads them.
    writer = SqlSilenceStore(engine=open_database(url), clock=lambda: now)
    reader = SqlSilenceStore(engine=open_database(url), clock=lambda: now)
    source, board = FakeEventSource(), RecordingBoard()
    service = run(source, board, cursors, silences=reader, wall_clock=lambda: now)
    streaming(service)
    writer.add(engine="fake", pattern="quiet-*", user="U0OPS", duration=timedelta(hours=1))
    crash(source, "quiet-1")
    crash(source, "web")  # the positive control
    board.wait(lambda: len(board.crashes("web")) == 1)
    assert board.crashes("quiet-1") == []
    # Silenced once told: the notice is updated to say so, and its repeats say nothing.
    web = writer.add(engine="fake", pattern="web", user="U0DANA", duration=timedelta(hours=24))
    service.refresh_silences()
    board.wait(lambda: any(isinstance(v, IncidentView) and v.silenced for v in board.updates))
    [marked] = [v for v in board.updates if isinstance(v, IncidentView) and v.silenced]
    assert marked.name == "web" and marked.silenced == web
    updates = len(board.updates)
    crash(source, "web")
    crash(source, "control")
    board.wait(lambda: len(board.crashes("control")) == 1)
    service.flush()
    assert len(board.updates) == updates and len(board.crashes("web")) == 1


def test_quiet_hours_hold_crashes_for_one_digest_but_never_an_engine_down(
    run: Callable[..., NoticeService], cursors: SqlStreamCursors
) -> None:
    source, board = FakeEventSource(), RecordingBoard()
    night = datetime.fromtimestamp(source.time_ns / 1e9, UTC)
    hours = QuietHours(
        start=(night - timedelta(hours=1)).time(), end=(night + timedelta(hours=1)).time(), zone=UTC
    )
    now = [night]
    service = run(source, board, cursors, quiet=hours, wall_clock=lambda: now[0])
    streaming(service)
    for name in ("web", "web", "api"):
        crash(source, name)
    # Positive control while it is quiet: an engine that goes down is told at once, after the
    # crashes (one stream, in order), so they were read and held, not lost on the way.
    source.down()
    board.wait(lambda: len(board.texts("is unreachable")) == 1)
    assert board.crashes("web") == [] and board.crashes("api") == []
    assert board.texts("While it was quiet") == []
    source.up()
    board.wait(lambda: len(board.texts("reachable again")) == 1)
    now[0] = night + timedelta(hours=2)  # the hours end: one digest
    board.wait(lambda: len(board.texts("While it was quiet")) == 1)
    [digest] = board.texts("While it was quiet")
    assert "3 crashes" in digest and "web on fake crashed (2 times)" in digest
    assert "api on fake crashed" in digest
    crash(source, "morning")  # after the hours: told at once, as ever
    board.wait(lambda: len(board.crashes("morning")) == 1)
    assert len(board.texts("While it was quiet")) == 1 and board.crashes("web") == []


def test_what_waits_in_quiet_hours_survives_a_restart(
    run: Callable[..., NoticeService], cursors: SqlStreamCursors, tmp_path: Path
) -> None:
    source = FakeEventSource()
    night = datetime.fromtimestamp(source.time_ns / 1e9, UTC)
    hours = QuietHours(
        start=(night - timedelta(hours=1)).time(), end=(night + timedelta(hours=1)).time(), zone=UTC
    )
    database = f"sqlite:///{tmp_path}/held.db"
    held = SqlHeldNotices(engine=open_database(database))
    first_board = RecordingBoard()
    first = run(source, first_board, cursors, quiet=hours, held=held, wall_clock=lambda: night)
    streaming(first)
    crash(source, "web")
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while held.channels() != ["C0OPS"]:
        assert datetime.now(UTC) < deadline, "the crash was not held"
        threading.Event().wait(0.05)
    first.stop()  # a restart during the hours: what waited is in the database
    assert first_board.posts == []
    morning = night + timedelta(hours=2)
    second_board = RecordingBoard()
    second = run(
        source,
        second_board,
        cursors,
        quiet=hours,
        held=SqlHeldNotices(engine=open_database(database)),
        wall_clock=lambda: morning,
    )
    streaming(second)
    second_board.wait(lambda: len(second_board.texts("While it was quiet")) == 1)
    assert "web on fake crashed" in second_board.texts("While it was quiet")[0]
    assert second_board.crashes("web") == []  # told in the digest, not again on its own


def test_the_held_notices_are_looked_for_after_quiet_hours_not_at_every_flush(
    cursors: SqlStreamCursors,
) -> None:
    class CountingHeld(InMemoryHeldNotices):
        looks = 0

        def channels(self) -> list[str]:
            CountingHeld.looks += 1
            return super().channels()

    source = FakeEventSource()
    night = datetime.fromtimestamp(source.time_ns / 1e9, UTC)
    hours = QuietHours(
        start=(night - timedelta(hours=1)).time(), end=(night + timedelta(hours=1)).time(), zone=UTC
    )
    now, tick = [night + timedelta(hours=2)], [0.0]
    service = NoticeService(
        sources={source.name: source},
        rules={source.name: RULES},
        board=RecordingBoard(),
        cursors=cursors,
        quiet=hours,
        held=CountingHeld(),
        wall_clock=lambda: now[0],
        monotonic=lambda: tick[0],
    )
    service.flush()  # once after start
    for _ in range(5):
        tick[0] += 60
        service.flush()
    assert CountingHeld.looks == 1
    # Positive control: a quiet period that ends makes it look again.
    now[0] = night
    service.flush()
    now[0], tick[0] = night + timedelta(hours=2), tick[0] + 60
    service.flush()
    assert CountingHeld.looks == 2
