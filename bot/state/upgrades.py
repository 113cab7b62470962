"""``bot.core.upgrades.UpgradeJournal`` in the database (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import IntegrityError

from bot.core.upgrades import FINAL_PHASES, UpgradePhase, UpgradeRecord
from bot.errors import UpgradeInProgress
from bot.state.tables import upgrades


class SqlUpgradeJournal:
    """Upgrade records; one unfinished upgrade per container, across replicas."""

    def __init__(
        self, *, engine: Engine, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._db = engine
        self._clock = clock

    def begin(self, record: UpgradeRecord) -> UpgradeRecord:
        values = _values(record) | {"active": _active(record), "saved_at": self._clock()}
        try:
            with self._db.begin() as connection:
                new_id = connection.execute(
                    insert(upgrades).values(**values).returning(upgrades.c.id)
                ).scalar_one()
        except IntegrityError:
            raise UpgradeInProgress(record.name) from None
        return replace(record, id=int(new_id))

    def save(self, record: UpgradeRecord) -> None:
        active = None if record.phase in FINAL_PHASES else _active(record)
        with self._db.begin() as connection:
            connection.execute(
                update(upgrades)
                .where(upgrades.c.id == record.id)
                .values(
                    phase=record.phase.value,
                    new_id=record.new_id,
                    reason=record.reason,
                    active=active,
                    saved_at=self._clock(),
                )
            )

    def unfinished(self, engine: str, *, idle_for: float = 0.0) -> list[UpgradeRecord]:
        cutoff = self._clock() - timedelta(seconds=idle_for)
        with self._db.connect() as connection:
            rows = connection.execute(
                select(upgrades)
                .where(upgrades.c.engine == engine, upgrades.c.active.is_not(None))
                .where(upgrades.c.saved_at <= cutoff)
                .order_by(upgrades.c.id)
            ).all()
        return [_record(row) for row in rows]

    def last_done(self, engine: str, name: str) -> UpgradeRecord | None:
        with self._db.connect() as connection:
            row = connection.execute(
                select(upgrades)
                .where(
                    upgrades.c.engine == engine,
                    upgrades.c.name == name,
                    upgrades.c.phase == UpgradePhase.DONE.value,
                )
                .order_by(upgrades.c.id.desc())
                .limit(1)
            ).first()
        return _record(row) if row is not None else None

    def last_reference(self, engine: str, name: str) -> str | None:
        with self._db.connect() as connection:
            value = connection.execute(_last_reference_query(engine, name)).scalar_one_or_none()
        return str(value) if value is not None else None


def _last_reference_query(engine: str, name: str) -> Any:
    return (
        select(upgrades.c.new_image)
        .where(
            upgrades.c.engine == engine,
            upgrades.c.name == name,
            upgrades.c.phase == UpgradePhase.DONE.value,
            upgrades.c.new_image.not_like("sha256:%"),
        )
        .order_by(upgrades.c.id.desc())
        .limit(1)
    )


def _active(record: UpgradeRecord) -> str:
    return f"{record.engine}/{record.old_id}"


def _values(record: UpgradeRecord) -> dict[str, Any]:
    return {
        "engine": record.engine,
        "name": record.name,
        "old_id": record.old_id,
        "old_image_id": record.old_image_id,
        "new_image": record.new_image,
        "new_image_id": record.new_image_id,
        "was_running": record.was_running,
        "phase": record.phase.value,
        "new_id": record.new_id,
        "reason": record.reason,
    }


def _record(row: Row[Any]) -> UpgradeRecord:
    return UpgradeRecord(
        id=int(row.id),
        engine=row.engine,
        name=row.name,
        old_id=row.old_id,
        old_image_id=row.old_image_id,
        new_image=row.new_image,
        new_image_id=row.new_image_id,
        was_running=bool(row.was_running),
        phase=UpgradePhase(row.phase),
        new_id=row.new_id,
        reason=row.reason or "",
    )
