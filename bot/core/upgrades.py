"""An upgrade's record: which container is being replaced by which, and how far it got.

The record is written before each step that changes the engine, so a bot killed in the middle
(``kill -9``) leaves enough for the next start to finish: exactly one container under the
name, never two, never none. What finishing means follows from the phase alone
(``recovery_for``): until the replacement is verified, the old container is put back; after,
the old one is removed.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol, assert_never

from bot.errors import UpgradeInProgress


class UpgradePhase(StrEnum):
    """Where an upgrade stands; each phase is recorded before the step it names is taken."""

    CREATING = "creating"  # the replacement is being created under a temporary name
    SWAPPING = "swapping"  # old stopped and renamed aside, replacement renamed and started
    VERIFYING = "verifying"  # the replacement runs under the name; settling
    VERIFIED = "verified"  # the replacement held; the old container is being removed
    ROLLING_BACK = "rolling_back"  # the replacement failed; the old one is being put back
    DONE = "done"
    ROLLED_BACK = "rolled_back"


FINAL_PHASES = frozenset({UpgradePhase.DONE, UpgradePhase.ROLLED_BACK})


class Recovery(StrEnum):
    """What the next start does with an upgrade it finds unfinished."""

    NOTHING = "nothing"
    PUT_BACK = "put_back"  # remove the replacement, the old container back under its name
    REMOVE_OLD = "remove_old"  # the replacement stays; the old container goes


def recovery_for(phase: UpgradePhase) -> Recovery:
    """The way to finish an upgrade found in ``phase``."""
    match phase:
        case UpgradePhase.DONE | UpgradePhase.ROLLED_BACK:
            return Recovery.NOTHING
        case (
            UpgradePhase.CREATING
            | UpgradePhase.SWAPPING
            | UpgradePhase.VERIFYING
            | UpgradePhase.ROLLING_BACK
        ):
            # Not known to have held: the old container is the one known to work.
            return Recovery.PUT_BACK
        case UpgradePhase.VERIFIED:
            return Recovery.REMOVE_OLD
        case _:
            assert_never(phase)


@dataclass(frozen=True, kw_only=True, slots=True)
class UpgradeRecord:
    """One upgrade of one container on one engine."""

    id: int
    engine: str
    name: str  # the container's name, without the leading slash
    old_id: str  # full IDs
    old_image_id: str
    new_image: str  # the reference the replacement is created from
    new_image_id: str
    was_running: bool
    phase: UpgradePhase = UpgradePhase.CREATING
    new_id: str | None = None  # the replacement, once created
    reason: str = ""  # why it was rolled back

    @property
    def aside_name(self) -> str:
        """The old container's name while its replacement is tried."""
        return f"{self.name}-{_ASIDE}-{self.old_id[:12]}"

    @property
    def trial_name(self) -> str:
        """The replacement's name until it takes the container's name."""
        return f"{self.name}-{_TRIAL}-{self.old_id[:12]}"


_ASIDE, _TRIAL = "chatops-old", "chatops-new"
_IN_AN_UPGRADE = re.compile(rf"-({_ASIDE}|{_TRIAL})-[0-9a-f]{{12}}\Z")


def in_an_upgrade(name: str) -> bool:
    """Is ``name`` one an upgrade gives the old container or its replacement while it runs?
    Chat leaves such containers to the upgrade and its recovery."""
    return _IN_AN_UPGRADE.search(name) is not None


def name_outside_upgrade(name: str) -> str:
    """The container's own name, from the one an upgrade gives it while it runs."""
    return _IN_AN_UPGRADE.sub("", name)


class UpgradeJournal(Protocol):
    """Where upgrade records are kept (the database; in memory in unit tests)."""

    def begin(self, record: UpgradeRecord) -> UpgradeRecord:
        """Store a new record; returns it with its ID. Refuses (``UpgradeInProgress``) while
        an unfinished record names the same container on the same engine."""
        ...

    def save(self, record: UpgradeRecord) -> None:
        """Write the record's phase, replacement ID and reason."""
        ...

    def unfinished(self, engine: str, *, idle_for: float = 0.0) -> list[UpgradeRecord]:
        """Records on ``engine`` not in a final phase, oldest first; with ``idle_for``, only
        those not saved for that many seconds (their process stopped: an upgrade under way
        saves its record at every check)."""
        ...

    def last_done(self, engine: str, name: str) -> UpgradeRecord | None:
        """The last upgrade of the container ``name`` that finished (for ``rollback``)."""
        ...

    def last_reference(self, engine: str, name: str) -> str | None:
        """The last image reference (not an ID) a finished upgrade of ``name`` followed: the
        repository a container rolled back to an image ID still belongs to."""
        ...


class InMemoryUpgradeJournal:
    """The journal as a list, for unit tests and the console without a database."""

    def __init__(self) -> None:
        self._records: list[UpgradeRecord] = []
        self._lock = threading.Lock()

    def begin(self, record: UpgradeRecord) -> UpgradeRecord:
        with self._lock:
            for other in self._records:
                same = other.engine == record.engine and other.old_id == record.old_id
                if same and other.phase not in FINAL_PHASES:
                    raise UpgradeInProgress(record.name)
            stored = replace(record, id=len(self._records) + 1)
            self._records.append(stored)
            return stored

    def save(self, record: UpgradeRecord) -> None:
        with self._lock:
            self._records[record.id - 1] = record

    def unfinished(self, engine: str, *, idle_for: float = 0.0) -> list[UpgradeRecord]:
        # One process: whatever is unfinished is idle (tests kill an upgrade by raising).
        with self._lock:
            return [r for r in self._records if r.engine == engine and r.phase not in FINAL_PHASES]

    def last_done(self, engine: str, name: str) -> UpgradeRecord | None:
        with self._lock:
            done = [
                r
                for r in self._records
                if r.engine == engine and r.name == name and r.phase is UpgradePhase.DONE
            ]
            return done[-1] if done else None

    def last_reference(self, engine: str, name: str) -> str | None:
        with self._lock:
            followed = [
                r.new_image
                for r in self._records
                if r.engine == engine
                and r.name == name
                and r.phase is UpgradePhase.DONE
                and not r.new_image.startswith("sha256:")
            ]
            return followed[-1] if followed else None
