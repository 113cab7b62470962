"""Approvals: destructive actions wait for approvers, bound to the exact objects planned.

The lifecycle is a state machine whose every step is one compare-and-set in the database
(``ApprovalRepository.transition``), so double clicks, simultaneous approvers, Slack retries
and several bot replicas execute an approved plan at most once::

    pending -> approved -> executing -> done | failed
    pending -> rejected | expired | cancelled | withdrawn
    approved | executing -> interrupted
    pending | approved | executing -> tampered

``withdrawn``: the request could not be shown to approvers (the bot is not in the approvals
channel), so nobody could have acted on it. ``interrupted``: the process running the plan
stopped (crash, ``kill -9``, lost host) before it finished; it is reported, never run again,
because part of it may have run. Executions hold a lease that their process renews; a lease
not renewed within ``ApprovalRules.interrupted_after`` marks the execution interrupted, which
holds with several replicas too (a replica never takes a live one's execution for dead).

``tampered``: the stored row did not verify under its MAC (``ApprovalRepository``): someone
who can write the database changed it, or it was stored before rows carried a MAC. Every step
that could lead to running something verifies first (the repository verifies again inside
each write); such a request is never run, only marked (once, by a compare-and-set) and
handed to ``on_tampered``, which audits and announces it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from bot.core.approval_records import ApprovalOutcomeKind as ApprovalOutcomeKind
from bot.core.approval_records import ApprovalRecord as ApprovalRecord
from bot.core.approval_records import ApprovalState as ApprovalState
from bot.core.approval_records import ApprovalTampered as ApprovalTampered
from bot.core.command import ParsedCommand

# The record's vocabulary, importable from here too: adapters speak of approvals as one thing.
from bot.core.engine import ProgressCallback
from bot.core.freezes import Window, when
from bot.core.notices.intents import IntentLog, acting, planned
from bot.core.plans import Plan
from bot.core.results import ActionResult
from bot.errors import ChatOpsError


class ApprovalRepository(Protocol):
    """Durable storage of approval requests; every state change is a compare-and-set.

    Reads return a record that fails verification with ``intact=False``; writes raise
    ``ApprovalTampered`` for one, and change nothing.
    """

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
    ) -> ApprovalRecord: ...

    def get(self, approval_id: int) -> ApprovalRecord | None: ...

    def add_approver(self, approval_id: int, user_id: str) -> bool:
        """Record an approval; False if this user had already approved."""
        ...

    def transition(
        self,
        approval_id: int,
        *,
        current: ApprovalState,
        target: ApprovalState,
        outcome: str = "",
        owe_report: datetime | None = None,
    ) -> bool:
        """Move ``current`` -> ``target`` atomically; False if the state was not ``current``.
        ``owe_report``: in the same transaction, owe a report of the request's end (from that
        time), unless one is owed already."""
        ...

    def claim_report(self, *, now: datetime, until: datetime) -> ApprovalRecord | None:
        """The first ended request whose report is owed and not claimed (or claimed before
        ``now``), claimed for this caller until ``until``; None when there is none."""
        ...

    def report_made(self, approval_id: int) -> None:
        """The report owed about ``approval_id`` was made."""
        ...

    def set_message(self, approval_id: int, *, channel: str, ts: str) -> None: ...

    def pending(self) -> list[ApprovalRecord]: ...

    def begin_execution(
        self, approval_id: int, *, holder: str, now: datetime
    ) -> ApprovalRecord | None:
        """approved -> executing and a lease for ``holder``, atomically; the record as verified
        in that transaction (what to run), or None if it was not approved."""
        ...

    def mark_tampered(self, approval_id: int, *, now: datetime) -> ApprovalRecord | None:
        """An unfinished request that fails verification -> tampered (compare-and-set); the
        marked record, or None if there was nothing to mark."""
        ...

    def end_execution(self, approval_id: int) -> None:
        """Drop the lease of a finished execution."""
        ...

    def renew_leases(self, *, holder: str, now: datetime) -> None:
        """``holder`` is alive: renew the leases of its executions."""
        ...

    def abandoned(self, *, renewed_before: datetime) -> list[ApprovalRecord]:
        """Approved or executing requests whose lease is missing or older than the bound."""
        ...


class ReportKind(StrEnum):
    """What a sweep tells about a request it ended."""

    INTERRUPTED = "interrupted"  # its execution's process died
    EXPIRED = "expired"  # nobody decided in time (or a freeze held its veto window)
    RAN = "ran"  # a veto-window plan, run when its window ended: done or failed


@dataclass(frozen=True, kw_only=True, slots=True)
class OwedReport:
    """A report a sweep owes: ``kind`` None when the record cannot be told (it fails
    verification, or ended in a way no sweep's move ends one: a report row added by hand)."""

    record: ApprovalRecord
    kind: ReportKind | None


def _report_kind(record: ApprovalRecord) -> ReportKind | None:
    """Only what a sweep's own moves end in: an expiry, an interruption, a veto-window
    plan's end."""
    match record.state:
        case ApprovalState.INTERRUPTED:
            return ReportKind.INTERRUPTED
        case ApprovalState.EXPIRED:
            return ReportKind.EXPIRED
        case ApprovalState.DONE | ApprovalState.FAILED if record.auto_run:
            return ReportKind.RAN
        case _:
            return None


class Planner(Protocol):
    """What an engine offers approvals: exact plans, and executing exactly a plan."""

    def plan(self, command: ParsedCommand, *, progress: ProgressCallback | None = None) -> Plan: ...

    def execute_plan(self, plan: Plan) -> ActionResult: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalOutcome:
    kind: ApprovalOutcomeKind
    message: str
    record: ApprovalRecord | None = None
    result: ActionResult | None = None


_LEASE_RENEWAL = timedelta(seconds=5)
_SHORTEST_RENEWAL = timedelta(seconds=0.5)
# How long a sweep holds an owed report it is making: past it (the sweep stopped), another
# sweep makes it. Long enough for Slack's retries.
REPORT_CLAIM = timedelta(minutes=2)


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalRules:
    approvers: tuple[str, ...]  # role names ("admin"), user IDs or user group IDs
    min_approvals: int = 1
    allow_self_approval: bool = False
    expire_after: timedelta = field(default=timedelta(minutes=15))
    # An execution whose process has not renewed its lease for this long is interrupted.
    interrupted_after: timedelta = field(default=timedelta(seconds=60))

    @property
    def renew_leases_every(self) -> timedelta:
        """How often a live process renews its executions' leases: every 5 s, or a third of
        ``interrupted_after`` when that is shorter (0.5 s at least), so that a live lease
        never looks stale between two renewals."""
        return max(_SHORTEST_RENEWAL, min(_LEASE_RENEWAL, self.interrupted_after / 3))


RoleCheck = Callable[[str, str, frozenset[str]], bool]  # (role, user, groups) -> holds it?
Frozen = Callable[[str, str], Window | None]  # (engine, action) -> the [[freeze]] window now
TamperedReport = Callable[[ApprovalRecord], None]  # audit and announce a request just marked


class ApprovalService:
    """Creates requests and moves them through their lifecycle."""

    def __init__(
        self,
        *,
        repository: ApprovalRepository,
        planner_for: Callable[[str], Planner],
        rules: ApprovalRules,
        has_role: RoleCheck,
        clock: Callable[[], datetime],
        holder: str = "",
        on_tampered: TamperedReport = lambda record: None,
        intents: IntentLog | None = None,
        frozen: Frozen | None = None,
    ) -> None:
        """``intents``: where a plan that stops containers is recorded before it runs (as
        its requester's), so that team notifications do not tell it as a crash. ``frozen``:
        the [[freeze]] window holding an action on an engine now; inside one only an admin
        who did not ask may approve."""
        self._frozen = frozen
        self._repository = repository
        self._intents = intents
        self._on_tampered = on_tampered
        self._planner_for = planner_for
        self._rules = rules
        self._has_role = has_role
        self._clock = clock
        # This process, as the holder of execution leases (unique per process start).
        self._holder = holder or uuid.uuid4().hex

    def plan(
        self,
        command: ParsedCommand,
        *,
        engine: str,
        progress: ProgressCallback | None = None,
    ) -> Plan:
        """The exact objects ``command`` would destroy on ``engine`` now (``progress``: an
        upgrade's pulls)."""
        return self._planner_for(engine).plan(command, progress=progress)

    def request(
        self,
        *,
        requester: str,
        channel_id: str | None,
        command: ParsedCommand,
        engine: str,
        plan: Plan,
        veto_window: timedelta | None = None,
    ) -> ApprovalRecord:
        """Store a pending request for exactly ``plan``. With ``veto_window`` it is the other
        way round: the plan runs when the window ends, unless someone cancels it first."""
        now = self._clock()
        return self._repository.create(
            requester=requester,
            channel_id=channel_id,
            engine=engine,
            command_text=command.shown,
            plan=plan,
            created_at=now,
            expires_at=now + (veto_window or self._rules.expire_after),
            auto_run=veto_window is not None,
        )

    def may_approve(self, user_id: str, groups: frozenset[str]) -> bool:
        for entry in self._rules.approvers:
            if entry in (user_id, *groups) or self._has_role(entry, user_id, groups):
                return True
        return False

    def approve(self, approval_id: int, *, user_id: str, groups: frozenset[str]) -> ApprovalOutcome:
        record, refusal = self._open(approval_id)
        if record is None:
            return refusal
        held = self._frozen(record.engine, record.plan.action) if self._frozen else None
        if held is not None:
            # Inside a window, whoever the [approvals] approvers are: another admin.
            if not self._has_role("admin", user_id, groups):
                return _refused(
                    f"#{approval_id} is held by a [[freeze]] window ({held.reason}, until "
                    f"{when(held.end)}): only an admin may approve it."
                )
            if user_id == record.requester:
                return _refused(
                    f"You asked for #{approval_id} inside a [[freeze]] window: another admin "
                    "has to approve it."
                )
        elif not self.may_approve(user_id, groups):
            return _refused(f"You are not an approver for #{approval_id} ([approvals] approvers).")
        elif user_id == record.requester and not self._rules.allow_self_approval:
            return _refused(f"You asked for #{approval_id}: someone else has to approve it.")
        try:
            if not self._repository.add_approver(approval_id, user_id):
                return _refused(f"You have already approved #{approval_id}.")
        except ApprovalTampered as err:
            return self._quarantined(err.approval_id)
        current = self._repository.get(approval_id)
        assert current is not None
        if not current.intact:
            return self._quarantined(approval_id)
        if len(current.approvers) < self._rules.min_approvals:
            count = f"{len(current.approvers)} of {self._rules.min_approvals}"
            return ApprovalOutcome(
                kind=ApprovalOutcomeKind.RECORDED,
                message=f"Approval {count} recorded.",
                record=current,
            )
        moved = self._move(approval_id, ApprovalState.PENDING, ApprovalState.APPROVED)
        if moved is None:
            return _refused(str(ApprovalTampered(approval_id)))
        if not moved:
            return _refused(f"#{approval_id} has already been handled.")
        return self._execute(current)

    def _execute(self, record: ApprovalRecord) -> ApprovalOutcome:
        try:
            started = self._repository.begin_execution(
                record.id, holder=self._holder, now=self._clock()
            )
        except ApprovalTampered:
            return self._quarantined(record.id)
        if started is None:
            return _refused(f"#{record.id} has already been handled.")
        try:
            try:
                # The plan as verified when it started executing, not as read before.
                with acting(
                    self._intents,
                    engine=started.engine,
                    what=planned(started.plan),
                    user=started.requester,
                ):
                    result = self._planner_for(started.engine).execute_plan(started.plan)
            except ChatOpsError as err:
                self._move(record.id, ApprovalState.EXECUTING, ApprovalState.FAILED, str(err))
                return self._executed(record.id, message=str(err))
            summary = _summary(result)
            final = ApprovalState.FAILED if result.failed else ApprovalState.DONE
            self._move(record.id, ApprovalState.EXECUTING, final, summary)
            return self._executed(record.id, message=summary, result=result)
        finally:
            self._repository.end_execution(record.id)

    def _move(
        self,
        approval_id: int,
        current: ApprovalState,
        target: ApprovalState,
        outcome: str = "",
        *,
        report: bool = False,
    ) -> bool | None:
        """One compare-and-set; None (and the request quarantined) if it failed verification.
        ``report``: a sweep's move, whose report is owed with it (``next_owed_report``)."""
        try:
            return self._repository.transition(
                approval_id,
                current=current,
                target=target,
                outcome=outcome,
                owe_report=self._clock() if report else None,
            )
        except ApprovalTampered:
            self._quarantine(approval_id)
            return None

    def _quarantine(self, approval_id: int) -> None:
        """Mark a request that failed verification; whoever marks it reports it, once."""
        marked = self._repository.mark_tampered(approval_id, now=self._clock())
        if marked is not None:
            self._on_tampered(marked)

    def _quarantined(self, approval_id: int) -> ApprovalOutcome:
        self._quarantine(approval_id)
        return _refused(str(ApprovalTampered(approval_id)))

    @property
    def renew_leases_every(self) -> timedelta:
        """How often this process must call ``renew_leases`` (``ApprovalRules``)."""
        return self._rules.renew_leases_every

    def renew_leases(self) -> None:
        """This process is alive: keep its executions from being taken for interrupted."""
        self._repository.renew_leases(holder=self._holder, now=self._clock())

    def interrupt_abandoned(self) -> list[ApprovalRecord]:
        """Mark interrupted every execution whose process stopped renewing its lease (a crash,
        ``kill -9``); returns them, to be reported. Nothing is run again: part of the plan may
        have run, and only a person can tell what is left to do."""
        bound = self._clock() - self._rules.interrupted_after
        interrupted = []
        for record in self._repository.abandoned(renewed_before=bound):
            if not record.intact:
                self._quarantine(record.id)
                continue
            if self._move(
                record.id,
                record.state,
                ApprovalState.INTERRUPTED,
                "interrupted: the bot stopped while running it; nothing was run again, "
                "check what is left on the engine",
                report=True,
            ):
                self._repository.end_execution(record.id)
                interrupted.append(self._repository.get(record.id) or record)
        return interrupted

    def withdraw(self, approval_id: int, *, reason: str) -> ApprovalRecord | None:
        """Take back a pending request that nobody can see (it could not be posted)."""
        if not self._move(
            approval_id, ApprovalState.PENDING, ApprovalState.WITHDRAWN, f"withdrawn: {reason}"
        ):
            return None
        return self._repository.get(approval_id)

    def _executed(
        self, approval_id: int, *, message: str, result: ActionResult | None = None
    ) -> ApprovalOutcome:
        return ApprovalOutcome(
            kind=ApprovalOutcomeKind.EXECUTED,
            message=message,
            record=self._repository.get(approval_id),
            result=result,
        )

    def reject(self, approval_id: int, *, user_id: str, groups: frozenset[str]) -> ApprovalOutcome:
        record, refusal = self._open(approval_id)
        if record is None:
            return refusal
        if not self.may_approve(user_id, groups):
            return _refused(f"You are not an approver for #{approval_id} ([approvals] approvers).")
        return self._close(
            approval_id, ApprovalState.REJECTED, ApprovalOutcomeKind.REJECTED, user_id, "rejected"
        )

    def cancel(self, approval_id: int, *, user_id: str) -> ApprovalOutcome:
        record, refusal = self._open(approval_id)
        if record is None:
            return refusal
        if record.requester != user_id:
            return _refused(f"Only the person who asked for #{approval_id} can cancel it.")
        return self._close(
            approval_id,
            ApprovalState.CANCELLED,
            ApprovalOutcomeKind.CANCELLED,
            user_id,
            "cancelled",
        )

    def _close(
        self,
        approval_id: int,
        target: ApprovalState,
        kind: ApprovalOutcomeKind,
        user_id: str,
        verb: str,
    ) -> ApprovalOutcome:
        """End a pending request without running it (one compare-and-set)."""
        moved = self._move(approval_id, ApprovalState.PENDING, target, f"{verb} by {user_id}")
        if moved is None:
            return _refused(str(ApprovalTampered(approval_id)))
        if not moved:
            return _refused(f"#{approval_id} has already been handled.")
        return ApprovalOutcome(
            kind=kind, message=f"#{approval_id} {verb}.", record=self._repository.get(approval_id)
        )

    def expire_due(self) -> list[ApprovalRecord]:
        """Settle every pending request past its time: a veto-window request runs, any other
        expires. Returns the requests this call settled."""
        now = self._clock()
        settled = []
        for record in self._repository.pending():
            if not record.intact:
                # Whatever its expiry and auto-run say: they may be what was edited.
                self._quarantine(record.id)
                continue
            if record.expires_at > now:
                continue
            held = self._frozen(record.engine, record.plan.action) if self._frozen else None
            if record.auto_run and held is not None:
                # A housekeeping plan whose veto window ends inside a [[freeze]] window: not
                # run (the scheduler would not have proposed it then), and told why.
                note = (
                    f"not run: a [[freeze]] window holds it ({held.reason}, until {when(held.end)})"
                )
                if self._move(
                    record.id, ApprovalState.PENDING, ApprovalState.EXPIRED, note, report=True
                ):
                    settled.append(self._repository.get(record.id) or record)
                continue
            if record.auto_run:
                # Its report is owed from here: it is made once the plan has run (or been
                # interrupted), whichever process runs it.
                if self._move(
                    record.id, ApprovalState.PENDING, ApprovalState.APPROVED, report=True
                ):
                    self._execute(record)
                    after = self._repository.get(record.id)
                    if after is not None and after.intact:
                        settled.append(after)
            elif self._move(
                record.id, ApprovalState.PENDING, ApprovalState.EXPIRED, "expired", report=True
            ):
                settled.append(self._repository.get(record.id) or record)
        return settled

    def next_owed_report(self) -> OwedReport | None:
        """The next ended request whose report a sweep owes (its own moves', or one a stop cut
        short between the move and the report, in any process), claimed for
        ``REPORT_CLAIM``: call ``report_made`` once told. Claimed one at a time, just before
        it is made, so that a long queue of them (after an outage) does not outlive its
        claims. None when none is owed."""
        now = self._clock()
        record = self._repository.claim_report(now=now, until=now + REPORT_CLAIM)
        if record is None:
            return None
        if not record.intact:
            self._quarantine(record.id)  # reported as tampered if it had not ended
            return OwedReport(record=record, kind=None)
        return OwedReport(record=record, kind=_report_kind(record))

    def report_made(self, approval_id: int) -> None:
        """The people were told of ``approval_id``'s end: its report is no longer owed."""
        self._repository.report_made(approval_id)

    def pending(self) -> list[ApprovalRecord]:
        return self._repository.pending()

    def attach_message(self, approval_id: int, *, channel: str, ts: str) -> None:
        """Remember the chat message that shows the request, to update it later."""
        try:
            self._repository.set_message(approval_id, channel=channel, ts=ts)
        except ApprovalTampered:
            self._quarantine(approval_id)

    def get(self, approval_id: int) -> ApprovalRecord | None:
        return self._repository.get(approval_id)

    def _open(self, approval_id: int) -> tuple[ApprovalRecord | None, ApprovalOutcome]:
        """The request if it is still pending and in time, else the refusal to give."""
        record = self._repository.get(approval_id)
        if record is None:
            return None, _refused(f"There is no approval request #{approval_id}.")
        if not record.intact:  # marked unless finished; refused either way
            return None, self._quarantined(approval_id)
        if record.state is ApprovalState.TAMPERED:
            return None, _refused(str(ApprovalTampered(approval_id)))
        overdue = record.state is ApprovalState.PENDING and record.expires_at <= self._clock()
        if overdue and record.auto_run:
            return None, _refused(f"#{approval_id} is running now.")
        if overdue:
            if (
                self._move(approval_id, ApprovalState.PENDING, ApprovalState.EXPIRED, "expired")
                is None
            ):
                return None, _refused(str(ApprovalTampered(approval_id)))
            return None, _refused(f"#{approval_id} has expired.")
        if record.state is not ApprovalState.PENDING:
            return None, _refused(f"#{approval_id} is already {record.state.value}.")
        return record, _refused("")


def _refused(message: str) -> ApprovalOutcome:
    return ApprovalOutcome(kind=ApprovalOutcomeKind.REFUSED, message=message)


def _summary(result: ActionResult) -> str:
    done = [o.target for o in result.outcomes if o.ok]
    failed = [f"{o.target}: {o.detail}" for o in result.outcomes if not o.ok]
    parts = [f"removed {', '.join(done)}"] if done else []
    parts += [f"failed {item}" for item in failed]
    return "; ".join(parts) or "nothing to do"
