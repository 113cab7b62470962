"""The upgrade journal in the database behaves as the in-memory one (both databases): one
unfinished upgrade per container, across replicas; what is unfinished survives a restart."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.upgrades import InMemoryUpgradeJournal, UpgradeJournal, UpgradePhase, UpgradeRecord
from bot.errors import UpgradeInProgress
from bot.state.database import open_database
from bot.state.update_notices import SqlSeenUpdates
from bot.state.upgrades import SqlUpgradeJournal

RECORD = UpgradeRecord(
    id=0,
    engine="local",
    name="web",
    old_id="a" * 64,
    old_image_id="sha256:" + "1" * 64,
    new_image="registry.example:5000/app:latest",
    new_image_id="sha256:" + "2" * 64,
    was_running=True,
)


def exercise(journal: UpgradeJournal, replica: UpgradeJournal) -> list[object]:
    """The same story told to either journal; what it saw, to compare."""
    seen: list[object] = []
    first = journal.begin(RECORD)
    with pytest.raises(UpgradeInProgress):
        replica.begin(RECORD)  # another replica, the same container
    other = replica.begin(replace(RECORD, old_id="b" * 64, name="db"))
    first = replace(first, phase=UpgradePhase.VERIFYING, new_id="c" * 64)
    journal.save(first)
    seen.append([(r.name, r.phase, r.new_id) for r in replica.unfinished("local")])
    journal.save(replace(first, phase=UpgradePhase.DONE))
    replica.save(replace(other, phase=UpgradePhase.ROLLED_BACK, reason="it exited with code 3"))
    seen.append(replica.unfinished("local"))
    seen.append(replica.last_done("local", "web") == replace(first, phase=UpgradePhase.DONE))
    seen.append(replica.last_done("local", "db"))
    seen.append(journal.begin(RECORD).id > first.id)  # finished: the container is free again
    return seen


def test_the_database_journal_tells_the_same_story_as_the_one_in_memory(database_url: str) -> None:
    memory = InMemoryUpgradeJournal()
    expected = exercise(memory, memory)
    assert expected[0] == [
        ("web", UpgradePhase.VERIFYING, "c" * 64),
        ("db", UpgradePhase.CREATING, None),
    ]
    database = open_database(database_url)
    assert (
        exercise(SqlUpgradeJournal(engine=database), SqlUpgradeJournal(engine=database)) == expected
    )


def test_an_update_is_told_once_across_replicas(database_url: str) -> None:
    database = open_database(database_url)
    one, other = SqlSeenUpdates(engine=database), SqlSeenUpdates(engine=database)
    digest = "sha256:" + "2" * 64
    assert one.claim("local", "c" * 64, digest)  # the positive control
    assert not other.claim("local", "c" * 64, digest)
    assert other.claim("local", "c" * 64, "sha256:" + "3" * 64)  # a newer digest: told again
    assert other.claim("other", "c" * 64, digest)
