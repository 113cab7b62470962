"""`updates` within a budget: references not asked once it is spent are told, not waited for
(a clock is injected; each registry call advances it as a slow registry would)."""

from __future__ import annotations

from typing import Any

from bot.engine.updates import check_updates


def container(name: str, reference: str) -> dict[str, Any]:
    return {
        "Id": f"id-{name}",
        "Name": f"/{name}",
        "Image": "sha256:old",
        "Config": {"Image": reference},
    }


CONTAINERS = [
    container("a", "reg:5000/a:1"),
    container("b", "reg:5000/b:1"),
    container("c", "reg:5000/c:1"),
]
IMAGES = {"sha256:old": {"RepoDigests": ["reg:5000/a@sha256:aaa"], "Created": ""}}


class SlowRegistry:
    """Each answer takes ``seconds`` on the injected clock."""

    def __init__(self, seconds: float) -> None:
        self.now = 0.0
        self.seconds = seconds
        self.asked: list[str] = []

    def clock(self) -> float:
        return self.now

    def read(self, reference: str) -> str:
        self.asked.append(reference)
        self.now += self.seconds
        return "sha256:new"


def test_references_past_the_budget_are_told_not_asked() -> None:
    registry = SlowRegistry(seconds=25)
    found = check_updates(
        containers=CONTAINERS,
        images=IMAGES,
        read_digest=registry.read,
        budget=40,
        clock=registry.clock,
    )
    assert registry.asked == ["reg:5000/a:1", "reg:5000/b:1"]  # 0 s and 25 s: within 40
    assert [reference for reference, _ in found.failures] == ["reg:5000/c:1"]
    assert "ran out of its 40 s" in found.failures[0][1]
    assert [u.name for u in found.updates] == ["a", "b"] and found.checked == 2


def test_control_with_time_to_spare_every_reference_is_asked() -> None:
    registry = SlowRegistry(seconds=25)
    found = check_updates(
        containers=CONTAINERS,
        images=IMAGES,
        read_digest=registry.read,
        budget=100,
        clock=registry.clock,
    )
    assert len(registry.asked) == 3 and found.failures == () and found.checked == 3
