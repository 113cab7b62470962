"""An upgrade's record: what the next start does in each phase, and one upgrade at a time."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.upgrades import (
    FINAL_PHASES,
    InMemoryUpgradeJournal,
    Recovery,
    UpgradePhase,
    UpgradeRecord,
    in_an_upgrade,
    recovery_for,
)
from bot.errors import UpgradeInProgress

RECORD = UpgradeRecord(
    id=0,
    engine="local",
    name="web",
    old_id="a" * 64,
    old_image_id="sha256:" + "1" * 64,
    new_image="app:latest",
    new_image_id="sha256:" + "2" * 64,
    was_running=True,
)


def test_only_a_verified_replacement_stays_after_a_crash() -> None:
    outcomes = {phase: recovery_for(phase) for phase in UpgradePhase}
    assert {p for p, r in outcomes.items() if r is Recovery.NOTHING} == FINAL_PHASES
    assert [p for p, r in outcomes.items() if r is Recovery.REMOVE_OLD] == [UpgradePhase.VERIFIED]


def test_names_beside_the_container_are_its_own() -> None:
    assert RECORD.aside_name == "web-chatops-old-aaaaaaaaaaaa"
    assert RECORD.trial_name == "web-chatops-new-aaaaaaaaaaaa"
    assert in_an_upgrade(RECORD.aside_name) and in_an_upgrade(RECORD.trial_name)
    assert not in_an_upgrade(RECORD.name) and not in_an_upgrade("web-chatops-old-aaa")


def test_one_upgrade_of_a_container_at_a_time() -> None:
    journal = InMemoryUpgradeJournal()
    first = journal.begin(RECORD)
    with pytest.raises(UpgradeInProgress, match="web is already under way"):
        journal.begin(RECORD)
    # Another engine's container of the same ID is another container (positive control).
    assert journal.begin(replace(RECORD, engine="other")).id == 2
    journal.save(replace(first, phase=UpgradePhase.DONE))
    again = journal.begin(RECORD)
    assert again.id == 3 and [r.id for r in journal.unfinished("local")] == [3]
    assert journal.last_done("local", "web") == replace(first, phase=UpgradePhase.DONE)
    assert journal.last_done("local", "db") is None
