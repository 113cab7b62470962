"""Housekeeping rules on engine documents: grace from the stop time, keep labels, excludes;
and what makes a planned object change before it is removed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.cleanup import (
    CleanupRules,
    container_change,
    container_item,
    image_change,
    image_item,
    parse_engine_time,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
RULES = CleanupRules(
    container_grace=timedelta(hours=24),
    image_grace=timedelta(hours=24),
    exclude=("db-*", "registry.internal/keep/*"),
)
NEVER = "0001-01-01T00:00:00Z"


def container(
    *,
    status: str = "exited",
    created: timedelta,
    finished: timedelta | None,
    name: str = "web",
    image: str = "nginx",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    def stamp(ago: timedelta) -> str:
        return (NOW - ago).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")

    return {
        "Id": "c" * 64,
        "Name": f"/{name}",
        "Created": stamp(created),
        "State": {"Status": status, "FinishedAt": stamp(finished) if finished else NEVER},
        "Config": {"Image": image, "Labels": labels or {}},
    }


@pytest.mark.parametrize(
    ("doc", "goes"),
    [
        (container(created=timedelta(days=9), finished=timedelta(days=2)), True),
        # Created long ago, died a minute ago: prune --filter until would take it; we must not.
        (container(created=timedelta(days=9), finished=timedelta(minutes=1)), False),
        (container(status="created", created=timedelta(days=2), finished=None), True),
        (container(status="created", created=timedelta(hours=1), finished=None), False),
        (container(status="dead", created=timedelta(days=3), finished=timedelta(days=2)), True),
        (container(status="running", created=timedelta(days=9), finished=timedelta(days=5)), False),
        (container(status="paused", created=timedelta(days=9), finished=None), False),
        (
            container(
                created=timedelta(days=9),
                finished=timedelta(days=2),
                labels={"chatops.keep": "true"},
            ),
            False,
        ),
        (
            container(
                created=timedelta(days=9),
                finished=timedelta(days=2),
                labels={"chatops.keep": "false"},
            ),
            True,
        ),
        (container(created=timedelta(days=9), finished=timedelta(days=2), name="db-main"), False),
        (
            container(
                created=timedelta(days=9),
                finished=timedelta(days=2),
                image="registry.internal/keep/tool:1",
            ),
            False,
        ),
    ],
)
def test_containers(doc: dict[str, Any], goes: bool) -> None:
    assert (container_item(doc, 10, now=NOW, rules=RULES) is not None) is goes


def image(
    *,
    age: timedelta,
    tags: list[str] | None = None,
    image_id: str = "sha256:" + "1" * 64,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "Id": image_id,
        "RepoTags": tags,
        "Created": int((NOW - age).timestamp()),
        "Size": 5000,
        "Labels": labels,
        "RepoDigests": [],
    }


@pytest.mark.parametrize(
    ("doc", "used", "goes"),
    [
        (image(age=timedelta(days=2)), set(), True),
        (image(age=timedelta(days=2), tags=["<none>:<none>"]), set(), True),
        (image(age=timedelta(hours=2)), set(), False),
        (image(age=timedelta(days=2), tags=["nginx:1"]), set(), False),
        (image(age=timedelta(days=2)), {"sha256:" + "1" * 64}, False),
        (image(age=timedelta(days=2), labels={"chatops.keep": "1"}), set(), False),
    ],
)
def test_images(doc: dict[str, Any], used: set[str], goes: bool) -> None:
    assert (image_item(doc, used, now=NOW, rules=RULES) is not None) is goes


def test_unused_tagged_images_only_when_asked() -> None:
    tagged = image(age=timedelta(days=40), tags=["app:old"])
    assert image_item(tagged, set(), now=NOW, rules=RULES) is None
    rules = CleanupRules(
        container_grace=timedelta(hours=24),
        image_grace=timedelta(hours=24),
        unused_images_after=timedelta(days=30),
        exclude=("registry.internal/base/*",),
    )
    item = image_item(tagged, set(), now=NOW, rules=rules)
    assert item is not None and item.target == "app:old"
    assert image_item(tagged, {tagged["Id"]}, now=NOW, rules=rules) is None
    young = image(age=timedelta(days=3), tags=["app:new"])
    assert image_item(young, set(), now=NOW, rules=rules) is None
    base = image(age=timedelta(days=90), tags=["registry.internal/base/python:3"])
    assert image_item(base, set(), now=NOW, rules=rules) is None


def test_engine_times() -> None:
    assert parse_engine_time("2026-11-29T04:39:47.687304133Z") == datetime(
        2026, 11, 29, 4, 39, 47, 687304, tzinfo=UTC
    )
    assert parse_engine_time("2026-11-29T04:39:47Z") == datetime(
        2026, 11, 29, 4, 39, 47, tzinfo=UTC
    )
    assert parse_engine_time("") is None and parse_engine_time("garbage") is None


def test_a_planned_item_carries_what_identifies_it_and_what_approvers_read() -> None:
    doc = container(created=timedelta(days=9), finished=timedelta(days=2), name="old")
    item = container_item(doc, 2500, now=NOW, rules=RULES)
    assert item is not None
    assert (item.kind, item.id, item.target, item.size) == ("container", "c" * 64, "old", 2500)
    assert item.marker == doc["State"]["FinishedAt"]
    assert item.description == "old (exited, 2.5kB)"
    dangling = image_item(image(age=timedelta(days=2)), set(), now=NOW, rules=RULES)
    assert dangling is not None and dangling.target == "1" * 12
    assert dangling.description == f"{'1' * 12} (dangling, 5kB)"


def test_a_planned_container_that_changed_is_not_removed() -> None:
    doc = container(created=timedelta(days=9), finished=timedelta(days=2))
    item = container_item(doc, 10, now=NOW, rules=RULES)
    assert item is not None
    assert container_change(item, doc) is None  # the control: unchanged, it may go
    assert container_change(item, None) == "already gone"
    running = container(status="running", created=timedelta(days=9), finished=timedelta(days=2))
    assert container_change(item, running) == "now running"
    again = container(created=timedelta(days=9), finished=timedelta(hours=1))
    assert container_change(item, again) == "ran again since the plan"
    assert image_change(item, set()) is None
    assert image_change(item, {item.id}) == "now used by a container"
