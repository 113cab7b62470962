"""Approval requests in the database; each state change is one conditional UPDATE."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.core.approval_records import ApprovalRecord, ApprovalState, can_move
from bot.core.plans import Plan, PlanItem
from bot.state.database import approval_executions, approval_votes, approvals, as_utc


class SqlApprovalRepository:
    """``ApprovalRepository`` over SQLAlchemy Core."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine

    def create(
        self, *, requester: str, channel_id: str | None, engine: str, command_text: str,
        plan: Plan, created_at: datetime, expires_at: datetime, auto_run: bool = False,
    ) -> ApprovalRecord:  # fmt: skip
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
            request_id = int(key[0])
        record = self.get(request_id)
        assert record is not None
        return record

    def get(self, request_id: int) -> ApprovalRecord | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(approvals).where(approvals.c.id == request_id)).first()
            if row is None:
                return None
            voters = connection.execute(
                select(approval_votes.c.user_id)
                .where(approval_votes.c.approval_id == request_id)
                .order_by(approval_votes.c.at)
            ).scalars()
            return _record(row._mapping, tuple(voters))

    def add_approver(self, request_id: int, user_id: str) -> bool:
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    insert(approval_votes).values(
                        approval_id=request_id, user_id=user_id, at=datetime.now(UTC)
                    )
                )
        except IntegrityError:
            return False
        return True

    def transition(
        self, request_id: int, *, current: ApprovalState, target: ApprovalState, outcome: str = ""
    ) -> bool:
        if not can_move(current, target):
            raise ValueError(f"no transition {current} -> {target}")
        values: dict[str, Any] = {"state": target.value}
        if outcome:
            values["outcome"] = outcome
        with self._engine.begin() as connection:
            changed = connection.execute(
                update(approvals)
                .where(approvals.c.id == request_id, approvals.c.state == current.value)
                .values(**values)
            )
            return changed.rowcount == 1

    def set_message(self, request_id: int, *, channel: str, ts: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(approvals)
                .where(approvals.c.id == request_id)
                .values(message_channel=channel, message_ts=ts)
            )

    def pending(self) -> list[ApprovalRecord]:
        return self._in_states(select(approvals.c.id).where(
            approvals.c.state == ApprovalState.PENDING.value
        ))  # fmt: skip

    def begin_execution(self, request_id: int, *, holder: str, now: datetime) -> bool:
        # One transaction: nobody may see the request executing without its lease.
        with self._engine.begin() as connection:
            changed = connection.execute(
                update(approvals)
                .where(
                    approvals.c.id == request_id,
                    approvals.c.state == ApprovalState.APPROVED.value,
                )
                .values(state=ApprovalState.EXECUTING.value)
            )
            if changed.rowcount != 1:
                return False
            connection.execute(
                insert(approval_executions).values(
                    approval_id=request_id, holder=holder, heartbeat_at=now
                )
            )
            return True

    def end_execution(self, request_id: int) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                delete(approval_executions).where(approval_executions.c.approval_id == request_id)
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
        found = [self.get(int(request_id)) for request_id in ids]
        return [record for record in found if record is not None]


def _plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "action": plan.action, "force": plan.force, "volumes": plan.volumes,
        "no_prune": plan.no_prune,
        "items": [
            {"kind": i.kind, "id": i.id, "target": i.target, "description": i.description,
             "marker": i.marker, "size": i.size}
            for i in plan.items
        ],
    }  # fmt: skip


def _record(row: Any, voters: tuple[str, ...]) -> ApprovalRecord:
    plan = row["plan"]
    return ApprovalRecord(
        id=int(row["id"]),
        state=ApprovalState(row["state"]),
        requester=row["requester"],
        channel_id=row["channel_id"],
        engine=row["engine"],
        command_text=row["command_text"],
        plan=Plan(
            action=plan["action"],
            force=plan["force"],
            volumes=plan["volumes"],
            no_prune=plan["no_prune"],
            items=tuple(PlanItem(**item) for item in plan["items"]),
        ),
        created_at=as_utc(row["created_at"]),
        expires_at=as_utc(row["expires_at"]),
        approvers=voters,
        message_channel=row["message_channel"],
        message_ts=row["message_ts"],
        outcome=row["outcome"] or "",
        auto_run=bool(row["auto_run"]),
    )
