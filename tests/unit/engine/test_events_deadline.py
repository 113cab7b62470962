"""`events` against an engine that stalls mid-stream: cut at the deadline, never held."""

from __future__ import annotations

from pathlib import Path

from bot.core.operations import ShowEvents
from bot.core.results import EventList
from bot.engine.docker_engine import DockerEngine, EngineLimits
from tests.fakes.stalled_engine import StalledEngine


def test_a_stalled_event_stream_is_cut_at_the_deadline(tmp_path: Path) -> None:
    stalled = StalledEngine(tmp_path / "engine.sock")
    engine = DockerEngine(
        name="stalled",
        url=stalled.url,
        limits=EngineLimits(timeout_seconds=5, events_deadline_seconds=0.5),
    )
    try:
        # Without the deadline this returns only when the fake engine gives up (120 s), as an
        # ordinary end of stream: not stopped early.
        result = engine.execute(ShowEvents())
    finally:
        engine.close()
        stalled.close()
    assert isinstance(result, EventList)
    assert [event.action for event in result.events] == ["start"]  # what came stands
    assert result.stopped_early
