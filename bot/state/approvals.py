"""Approval requests in the database; each state change is one conditional UPDATE, and each
write seals the row again with its MAC after verifying the one it found."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, StatementError

from bot.core.approval_records import (
    FINAL,
    ApprovalRecord,
    ApprovalState,
    ApprovalTampered,
    can_move,
)
from bot.core.plans import ObjectKind, Plan, PlanItem
from bot.state.approval_macs import approval_key, row_mac, verifies
from bot.state.database import as_utc
from bot.state.tables import approval_executions, approval_reports, approval_votes, approvals


class SqlApprovalRepository:
    """``ApprovalRepository`` over SQLAlchemy Core, each row sealed by a MAC (``approval_macs``).

    Every write locks the row, verifies the MAC it finds (``ApprovalTampered`` if it does
    not), changes the row or its votes, and seals it again, in one transaction: the key never
    blesses a change the bot did not make. Reads verify too: a record that does not is
    returned with ``intact=False`` (fields as found, best effort), never raised, so that
    listings show it instead of failing.
    """

    def __init__(self, *, engine: Engine, key: bytes) -> None:
        """``key``: CHATOPS_AUDIT_KEY (the approvals use a key derived from it)."""
        self._engine = engine
        self._key = approval_key(key)

    def create(
        self,
        *,
        requester: str,
        channel_id: str | None,
        engine: str,
        command_text: str,
        plan: Plan,
        created_at: datetime,
        expires_at: datetime,
        auto_run: bool = False,
    ) -> ApprovalRecord:
        with self._engine.begin() as connection:
            inserted = connection.execute(
                insert(approvals).values(
                    state=ApprovalState.PENDING.value,
                    requester=requester,
                    channel_id=channel_id,
                    engine=engine,
                    command_text=command_text,
                    plan=_plan_json(plan),
                    created_at=created_at,
                    expires_at=expires_at,
                    outcome="",
                    auto_run=auto_run,
                )
            )
            key = inserted.inserted_primary_key
            assert key is not None
            approval_id = int(key[0])
            self._seal(connection, approval_id)
        record = self.get(approval_id)
        assert record is not None
        return record

    def get(self, approval_id: int) -> ApprovalRecord | None:
        with self._engine.connect() as connection:
            record = self._read(connection, approval_id)
        if record is None or record.intact:
            return record
        # Read again under the row's lock. The row and its votes are two reads: a vote or a
        # move another process commits between them (a second approver, a replica) makes
        # them disagree, which looked like an edit and told the clicker so. What was
        # changed outside the bot still fails here.
        with self._engine.begin() as connection:
            if not _lock(connection, approval_id):
                return None
            return self._read(connection, approval_id)

    def add_approver(self, approval_id: int, user_id: str) -> bool:
        try:
            with self._engine.begin() as connection:
                if not self._open_for_write(connection, approval_id):
                    return False
                voted = connection.execute(
                    select(approval_votes.c.user_id).where(
                        approval_votes.c.approval_id == approval_id,
                        approval_votes.c.user_id == user_id,
                    )
                ).first()
                if voted is not None:
                    return False
                connection.execute(
                    insert(approval_votes).values(
                        approval_id=approval_id, user_id=user_id, at=datetime.now(UTC)
                    )
                )
                self._seal(connection, approval_id)
        except IntegrityError:
            return False
        return True

    def transition(
        self,
        approval_id: int,
        *,
        current: ApprovalState,
        target: ApprovalState,
        outcome: str = "",
        owe_report: datetime | None = None,
    ) -> bool:
        if not can_move(current, target):
            raise ValueError(f"no transition {current} -> {target}")
        values: dict[str, Any] = {"state": target.value}
        if outcome:
            values["outcome"] = outcome
        with self._engine.begin() as connection:
            if not self._open_for_write(connection, approval_id):
                return False
            changed = connection.execute(
                update(approvals)
                .where(approvals.c.id == approval_id, approvals.c.state == current.value)
                .values(**values)
            )
            if changed.rowcount != 1:
                return False
            self._seal(connection, approval_id)
            if owe_report is not None:
                # Under the row's lock, so no other move of this request races this one.
                owed = connection.execute(
                    select(approval_reports.c.approval_id).where(
                        approval_reports.c.approval_id == approval_id
                    )
                ).first()
                if owed is None:
                    connection.execute(
                        insert(approval_reports).values(approval_id=approval_id, owed_at=owe_report)
                    )
            return True

    def claim_report(self, *, now: datetime, until: datetime) -> ApprovalRecord | None:
        # Only ended requests: one run when its veto window ended is reported once it is done.
        ended = [state.value for state in FINAL]
        due = (
            select(approval_reports.c.approval_id)
            .join(approvals, approvals.c.id == approval_reports.c.approval_id)
            .where(approvals.c.state.in_(ended), _unclaimed(now))
            .order_by(approval_reports.c.approval_id)
        )
        with self._engine.connect() as connection:
            found = [int(approval_id) for approval_id in connection.execute(due).scalars()]
        for approval_id in found:
            with self._engine.begin() as connection:
                taken = connection.execute(
                    update(approval_reports)
                    .where(approval_reports.c.approval_id == approval_id, _unclaimed(now))
                    .values(claimed_until=until)
                )
            if taken.rowcount == 1:  # else another sweep claimed it first: the next one
                record = self.get(approval_id)
                if record is not None:
                    return record
        return None

    def report_made(self, approval_id: int) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                delete(approval_reports).where(approval_reports.c.approval_id == approval_id)
            )

    def set_message(self, approval_id: int, *, channel: str, ts: str) -> None:
        with self._engine.begin() as connection:
            if not self._open_for_write(connection, approval_id):
                return
            connection.execute(
                update(approvals)
                .where(approvals.c.id == approval_id)
                .values(message_channel=channel, message_ts=ts)
            )
            self._seal(connection, approval_id)

    def pending(self) -> list[ApprovalRecord]:
        return self._in_states(
            select(approvals.c.id).where(approvals.c.state == ApprovalState.PENDING.value)
        )

    def begin_execution(
        self, approval_id: int, *, holder: str, now: datetime
    ) -> ApprovalRecord | None:
        # One transaction: nobody may see the request executing without its lease, and what
        # runs is the plan verified here, not one read before.
        with self._engine.begin() as connection:
            if not self._open_for_write(connection, approval_id):
                return None
            changed = connection.execute(
                update(approvals)
                .where(
                    approvals.c.id == approval_id,
                    approvals.c.state == ApprovalState.APPROVED.value,
                )
                .values(state=ApprovalState.EXECUTING.value)
            )
            if changed.rowcount != 1:
                return None
            connection.execute(
                insert(approval_executions).values(
                    approval_id=approval_id, holder=holder, heartbeat_at=now
                )
            )
            self._seal(connection, approval_id)
            record = self._read(connection, approval_id)
            assert record is not None and record.intact
            return record

    def mark_tampered(self, approval_id: int, *, now: datetime) -> ApprovalRecord | None:
        """Mark ``tampered`` a row that fails verification and is not finished (one
        compare-and-set on the state as found); the marked record, or None if there was
        nothing to mark (it verifies, is finished, or another process marked it first).
        The row is not sealed again: it stays as found, as evidence."""
        with self._engine.begin() as connection:
            if not _lock(connection, approval_id):
                return None
            record = self._read(connection, approval_id)
            if record is None or record.intact:
                return None
            found = connection.execute(
                select(approvals.c.state, approvals.c.mac).where(approvals.c.id == approval_id)
            ).one()
            if found.state in {state.value for state in FINAL}:
                return None
            reason = (
                "unverifiable: stored without a MAC (before approval requests carried one, or "
                "its MAC was removed)"
                if found.mac is None
                else "tampered: changed outside the bot (its MAC does not match)"
            )
            changed = connection.execute(
                update(approvals)
                .where(approvals.c.id == approval_id, approvals.c.state == found.state)
                .values(
                    state=ApprovalState.TAMPERED.value,
                    outcome=f"{reason}; never run (found {now:%Y-%m-%d %H:%M:%S} UTC)",
                )
            )
            if changed.rowcount != 1:
                return None
            return self._read(connection, approval_id)

    def end_execution(self, approval_id: int) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                delete(approval_executions).where(approval_executions.c.approval_id == approval_id)
            )

    def renew_leases(self, *, holder: str, now: datetime) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(approval_executions)
                .where(approval_executions.c.holder == holder)
                .values(heartbeat_at=now)
            )

    def abandoned(self, *, renewed_before: datetime) -> list[ApprovalRecord]:
        running = (ApprovalState.APPROVED.value, ApprovalState.EXECUTING.value)
        query = (
            select(approvals.c.id)
            .select_from(
                approvals.outerjoin(
                    approval_executions, approval_executions.c.approval_id == approvals.c.id
                )
            )
            .where(
                approvals.c.state.in_(running),
                or_(
                    approval_executions.c.approval_id.is_(None),
                    approval_executions.c.heartbeat_at < renewed_before,
                ),
            )
        )
        return self._in_states(query)

    def _in_states(self, query: Any) -> list[ApprovalRecord]:
        with self._engine.connect() as connection:
            ids = list(connection.execute(query.order_by(approvals.c.id)).scalars())
        found = [self.get(int(approval_id)) for approval_id in ids]
        return [record for record in found if record is not None]

    def _open_for_write(self, connection: Connection, approval_id: int) -> bool:
        """Lock the row and verify it; False if there is no such row, ``ApprovalTampered``
        if it does not verify (the caller's transaction then changes nothing)."""
        if not _lock(connection, approval_id):
            return False
        record = self._read(connection, approval_id)
        if record is None:
            return False
        if not record.intact:
            raise ApprovalTampered(approval_id)
        return True

    def _seal(self, connection: Connection, approval_id: int) -> None:
        """Recompute the row's MAC from what is now stored (inside the writing transaction)."""
        row = connection.execute(select(approvals).where(approvals.c.id == approval_id)).one()
        mac = row_mac(self._key, row._mapping, _votes(connection, approval_id))
        connection.execute(update(approvals).where(approvals.c.id == approval_id).values(mac=mac))

    def _read(self, connection: Connection, approval_id: int) -> ApprovalRecord | None:
        """The record, verified; an unreadable or unverified row as ``intact=False``."""
        try:
            row = connection.execute(select(approvals).where(approvals.c.id == approval_id)).first()
            if row is None:
                return None
            votes = _votes(connection, approval_id)
            intact = verifies(self._key, row._mapping, votes)
            return _record(row._mapping, tuple(user for user, _ in votes), intact=intact)
        except (ValueError, TypeError, KeyError, AttributeError, StatementError):
            # A value the database holds but this code cannot read (SQLite keeps any text in
            # any column): edited, so shown as found, never acted on.
            return _unreadable(connection, approval_id)


def _lock(connection: Connection, approval_id: int) -> bool:
    """Take the row's lock (PostgreSQL) or the write lock (SQLite) before reading it, so that
    what is verified is what is written over; False if there is no such row."""
    locked = connection.execute(
        update(approvals).where(approvals.c.id == approval_id).values(mac=approvals.c.mac)
    )
    return locked.rowcount == 1


def _unclaimed(now: datetime) -> Any:
    """An owed report nobody holds: never claimed, or its claim lapsed (the sweep stopped)."""
    return or_(approval_reports.c.claimed_until.is_(None), approval_reports.c.claimed_until < now)


def _votes(connection: Connection, approval_id: int) -> list[tuple[str, datetime]]:
    rows = connection.execute(
        select(approval_votes.c.user_id, approval_votes.c.at)
        .where(approval_votes.c.approval_id == approval_id)
        .order_by(approval_votes.c.at, approval_votes.c.user_id)
    ).all()
    return [(str(user), as_utc(at)) for user, at in rows]


def _plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "action": plan.action,
        "force": plan.force,
        "volumes": plan.volumes,
        "no_prune": plan.no_prune,
        "items": [
            {
                "kind": i.kind,
                "id": i.id,
                "target": i.target,
                "description": i.description,
                "marker": i.marker,
                "size": i.size,
            }
            for i in plan.items
        ],
    }


def _record(row: Any, voters: tuple[str, ...], *, intact: bool) -> ApprovalRecord:
    try:
        state = ApprovalState(row["state"])
    except ValueError:
        if intact:
            raise
        state = ApprovalState.TAMPERED
    return ApprovalRecord(
        id=int(row["id"]),
        state=state,
        requester=str(row["requester"]),
        channel_id=row["channel_id"],
        engine=str(row["engine"]),
        command_text=str(row["command_text"]),
        plan=_plan(row["plan"], intact=intact),
        created_at=as_utc(row["created_at"]),
        expires_at=as_utc(row["expires_at"]),
        approvers=voters,
        message_channel=row["message_channel"],
        message_ts=row["message_ts"],
        outcome=row["outcome"] or "",
        auto_run=bool(row["auto_run"]),
        intact=intact,
    )


def _plan(stored: Any, *, intact: bool) -> Plan:
    try:
        return Plan(
            action=stored["action"],
            force=stored["force"],
            volumes=stored["volumes"],
            no_prune=stored["no_prune"],
            items=tuple(
                PlanItem(**(item | {"kind": ObjectKind(item["kind"])})) for item in stored["items"]
            ),
        )
    except (KeyError, TypeError, ValueError):
        if intact:
            raise
        return Plan(action="?", items=())


def _unreadable(connection: Connection, approval_id: int) -> ApprovalRecord | None:
    """A row some column of which cannot be read back: its text columns as found (their
    types convert nothing), and nothing to act on."""
    text = (
        "requester",
        "channel_id",
        "engine",
        "command_text",
        "message_channel",
        "message_ts",
        "outcome",
    )
    found = connection.execute(
        select(*(approvals.c[name] for name in text)).where(approvals.c.id == approval_id)
    ).first()
    if found is None:
        return None
    values = {name: None if value is None else str(value) for name, value in found._mapping.items()}
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return ApprovalRecord(
        id=approval_id,
        state=ApprovalState.TAMPERED,
        requester=values["requester"] or "?",
        channel_id=values["channel_id"],
        engine=values["engine"] or "?",
        command_text=values["command_text"] or "?",
        plan=Plan(action="?", items=()),
        created_at=epoch,
        expires_at=epoch,
        message_channel=values["message_channel"],
        message_ts=values["message_ts"],
        outcome=values["outcome"] or "",
        intact=False,
    )
