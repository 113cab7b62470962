"""The one straight line every request follows: text -> operation -> policy -> engine -> result.

Destructive actions that need approval leave the line at the policy step as an approval
request; everything that reaches the policy is written to the audit trail.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import assert_never

from bot.core.approvals import ApprovalService
from bot.core.audit import AuditTrail
from bot.core.command import ParsedCommand
from bot.core.engine import Engine, EngineDirectory, ProgressCallback
from bot.core.help import build_help
from bot.core.notices.intents import IntentLog, acting, intended
from bot.core.notices.silences import DEFAULT_MAX_SILENCE, SilenceStore, duration_problem
from bot.core.operations import (
    BotOperation,
    CancelApproval,
    CheckAccess,
    CleanupStatusQuery,
    Help,
    ListApprovals,
    ListSilences,
    PruneImages,
    ShowAudit,
    SilenceContainers,
    Unsilence,
    changes_something,
)
from bot.core.parsing.display import shown_command
from bot.core.parsing.parser import parse_command
from bot.core.plans import ObjectKind, Plan
from bot.core.policy import Actor, Policy, Verdict
from bot.core.results import (
    AccessAnswer,
    ActionResult,
    ApprovalList,
    ApprovalRequested,
    ApprovalUpdate,
    AuditList,
    CleanupStatus,
    PruneResult,
    Result,
    SilenceList,
    SilenceUpdate,
    TargetOutcome,
)
from bot.core.single_flight import SingleFlight
from bot.core.trace_ids import current_trace_id
from bot.errors import AccessDenied, ApprovalRequired, ChatOpsError, Conflict, InternalError

log = logging.getLogger(__name__)

# Changes that replace a container: one request at a time per container.
_ONE_AT_A_TIME = frozenset({"upgrade", "rollback"})


@dataclass(frozen=True, kw_only=True, slots=True)
class Reply:
    """What became of one request: a result or an error, never both."""

    text: str  # the command as shown: rendered from the operation, secrets redacted
    command: ParsedCommand | None = None
    engine: str | None = None
    result: Result | None = None
    error: ChatOpsError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.command.warnings if self.command else ()


class Pipeline:
    """Runs requests; never raises, so no adapter can show a traceback to a user."""

    def __init__(
        self,
        *,
        engines: EngineDirectory,
        policy: Policy,
        approvals: ApprovalService | None = None,
        audit: AuditTrail | None = None,
        cleanup_status: Callable[[], CleanupStatus] | None = None,
        intents: IntentLog | None = None,
        groups_of: Callable[[str], frozenset[str]] | None = None,
        silences: SilenceStore | None = None,
        max_silence: timedelta = DEFAULT_MAX_SILENCE,
    ) -> None:
        """``intents``: where a change that may stop containers is recorded before it runs,
        so that team notifications do not tell it as a crash. ``groups_of``: a person's user
        groups, for ``can`` about someone else. ``silences``: where ``silence`` keeps what
        the notifications leave out ([notifications] max_silence the longest)."""
        self._engines = engines
        self._policy = policy
        self._approvals = approvals
        self._audit = audit
        self._cleanup_status = cleanup_status
        self._intents = intents
        self._groups_of = groups_of
        self._silences = silences
        self._max_silence = max_silence
        self._reads: SingleFlight[Result] = SingleFlight()

    def handle(self, text: str, *, actor: Actor, progress: ProgressCallback | None = None) -> Reply:
        """Parse, authorize and execute ``text`` on behalf of ``actor``."""
        try:
            command = parse_command(text)
        except ChatOpsError as err:
            return Reply(text="", error=err)  # unparsed text is never echoed: it may hold secrets
        except Exception:
            return Reply(text="", error=_internal_error(_first_word(text)))
        return self.run(command, actor=actor, progress=progress)

    def run(
        self, command: ParsedCommand, *, actor: Actor, progress: ProgressCallback | None = None
    ) -> Reply:
        """Authorize and execute an already parsed command."""
        text = command.shown
        engine_name: str | None = None
        try:
            operation = command.operation
            if isinstance(operation, Help):
                return Reply(text=text, command=command, result=build_help(operation.topic))
            engine = self._engines.get(command.engine)
            engine_name = engine.name
            decision = self._policy.decide(
                actor=actor, command=command, engine=engine.name, facts=engine.container_facts
            )
            if decision.verdict is Verdict.NEEDS_APPROVAL:
                # What policy allowed is what is planned (a grant's containers by their IDs).
                asked = (
                    dataclasses.replace(command, operation=decision.operation)
                    if decision.operation is not None
                    else command
                )
                result: Result = self._request_approval(
                    asked, actor, engine.name, decision.reason, progress
                )
                return Reply(text=text, command=command, engine=engine_name, result=result)
            if decision.verdict is not Verdict.ALLOW:
                self._record("denied", actor, engine_name, text, decision.reason)
                raise AccessDenied(f"Not allowed: {decision.reason}.")
            operation = decision.operation or operation
            if isinstance(
                operation,
                ListApprovals
                | CancelApproval
                | ShowAudit
                | CleanupStatusQuery
                | CheckAccess
                | SilenceContainers
                | ListSilences
                | Unsilence,
            ):
                result = self._bot_operation(operation, actor, engine)
            else:
                assert not isinstance(operation, Help)
                try:
                    if changes_something(operation) or progress is not None:
                        with acting(
                            self._intents,
                            engine=engine.name,
                            what=intended(operation),
                            user=actor.user_id,
                        ):
                            result = engine.execute(operation, progress=progress)
                    else:  # identical reads in flight share one engine call
                        read = operation
                        result = self._reads.do((engine.name, read), lambda: engine.execute(read))
                except ChatOpsError as err:
                    if changes_something(operation):
                        self._record("failed", actor, engine_name, text, str(err))
                    raise
            failed = isinstance(result, ActionResult) and result.failed
            event = "failed" if failed else "executed" if changes_something(operation) else "read"
            detail = decision.reason
            if isinstance(result, SilenceUpdate):  # which silence, and until when
                silence = result.silence
                detail = f"silence #{silence.id} until {silence.ends_at:%Y-%m-%d %H:%M:%S} UTC"
            self._record(event, actor, engine_name, text, detail)
            return Reply(text=text, command=command, engine=engine_name, result=result)
        except ChatOpsError as err:
            return Reply(text=text, command=command, engine=engine_name, error=err)
        except Exception:
            return Reply(
                text=text, command=command, engine=engine_name, error=_internal_error(text)
            )

    def _request_approval(
        self,
        command: ParsedCommand,
        actor: Actor,
        engine: str,
        reason: str,
        progress: ProgressCallback | None = None,
    ) -> Result:
        if self._approvals is None:
            raise ApprovalRequired(f"Not run: {reason}, and approvals are not set up here.")
        plan = self._approvals.plan(command, engine=engine, progress=progress)
        if not plan.items and plan.unchanged:
            # Already as asked (an upgrade with nothing newer): nobody is asked anything.
            return ActionResult(
                action=plan.action,
                outcomes=tuple(
                    TargetOutcome(target=target, ok=True, detail="up to date")
                    for target in plan.unchanged
                ),
            )
        if not plan.items:
            # Nothing would be destroyed (a prune with nothing to prune): nothing to approve.
            pruned = ObjectKind.IMAGE if isinstance(command.operation, PruneImages) else None
            return PruneResult(kind=pruned or ObjectKind.CONTAINER, deleted=(), space_reclaimed=0)
        if plan.action in _ONE_AT_A_TIME:
            self._refuse_a_second(plan, engine)
        record = self._approvals.request(
            requester=actor.user_id,
            channel_id=actor.channel_id,
            command=command,
            engine=engine,
            plan=plan,
        )
        detail = f"#{record.id}: " + "; ".join(i.description for i in record.plan.items)
        self._record("approval_requested", actor, engine, command.shown, detail)
        return ApprovalRequested(record=record, approvers=reason)

    def _refuse_a_second(self, plan: Plan, engine: str) -> None:
        """An upgrade (or rollback) of a container already waiting for an approver is not
        asked for again: two approved would replace it twice."""
        assert self._approvals is not None
        planned = {item.id for item in plan.items}
        for record in self._approvals.pending():
            same = record.engine == engine and record.plan.action in _ONE_AT_A_TIME
            if same and planned & {item.id for item in record.plan.items}:
                names = ", ".join(i.target for i in record.plan.items if i.id in planned)
                raise Conflict(
                    f"Request #{record.id} already asks to {record.plan.action} {names}: "
                    "it waits for an approver (or `cancel` it and ask again)."
                )

    def _bot_operation(self, operation: BotOperation, actor: Actor, engine: Engine) -> Result:
        match operation:
            case CheckAccess():
                return self._check_access(operation, actor, engine)
            case SilenceContainers() | ListSilences() | Unsilence():
                return self._silence(operation, actor, engine.name)
            case CleanupStatusQuery():
                if self._cleanup_status is None:
                    raise ChatOpsError("Scheduled housekeeping runs only in the Slack service.")
                return self._cleanup_status()
            case ShowAudit():
                if self._audit is None:
                    raise ChatOpsError("There is no audit log here (the local console keeps none).")
                return AuditList(entries=tuple(self._audit.recent(operation.count)))
            case _ if self._approvals is None:
                raise ChatOpsError("Approvals are not set up here.")
            case ListApprovals():
                return ApprovalList(records=tuple(self._approvals.pending()))
            case CancelApproval():
                outcome = self._approvals.cancel(operation.approval_id, user_id=actor.user_id)
                if outcome.record is None:
                    raise AccessDenied(outcome.message)
                return ApprovalUpdate(
                    kind=outcome.kind, message=outcome.message, record=outcome.record
                )
            case _:
                assert_never(operation)

    def _check_access(self, operation: CheckAccess, actor: Actor, engine: Engine) -> AccessAnswer:
        """What the policy would decide if ``operation``'s person asked from here, now."""
        groups = self._groups_of(operation.user_id) if self._groups_of else frozenset()
        person = Actor(user_id=operation.user_id, channel_id=actor.channel_id, groups=groups)
        asked = ParsedCommand(operation=operation.asked, engine=engine.name)
        decision = self._policy.decide(
            actor=person, command=asked, engine=engine.name, facts=engine.container_facts
        )
        return AccessAnswer(
            user_id=operation.user_id,
            command=shown_command(operation.asked),
            engine=engine.name,
            verdict=decision.verdict,
            reason=decision.reason,
        )

    def _silence(
        self, operation: SilenceContainers | ListSilences | Unsilence, actor: Actor, engine: str
    ) -> Result:
        if self._silences is None:
            raise ChatOpsError("Silences are kept only by the Slack service (its database).")
        match operation:
            case SilenceContainers():
                refused = duration_problem(operation.duration, max_silence=self._max_silence)
                if refused is not None:
                    raise AccessDenied(f"Not silenced: {refused}.")
                silence = self._silences.add(
                    engine=engine,
                    pattern=operation.pattern,
                    user=actor.user_id,
                    duration=operation.duration,
                )
                return SilenceUpdate(silence=silence)
            case ListSilences():
                found = sorted(self._silences.active(), key=lambda s: (s.ends_at, s.id))
                return SilenceList(silences=tuple(found))
            case Unsilence():
                ended = self._silences.end(operation.silence_id, user=actor.user_id)
                if ended is None:
                    raise ChatOpsError(
                        f"There is no silence #{operation.silence_id} in force "
                        "(`silences` lists them)."
                    )
                return SilenceUpdate(silence=ended, ended=True)
            case _:
                assert_never(operation)

    def _record(
        self, event: str, actor: Actor, engine: str | None, command: str, detail: str
    ) -> None:
        if self._audit is not None:
            self._audit.record(
                event=event,
                actor=actor.user_id,
                channel_id=actor.channel_id,
                engine=engine,
                command=command,
                detail=detail,
            )


def _first_word(text: str) -> str:
    words = text.split(maxsplit=1)
    return words[0][:40] + " …" if words else ""


def _internal_error(shown: str) -> InternalError:
    """Log the exception being handled with an incident number the user can quote."""
    incident = current_trace_id() or uuid.uuid4().hex[:8]
    log.exception("internal error %s while handling %r", incident, shown)
    return InternalError(
        f"Something went wrong inside the bot (incident {incident}); it has been logged."
    )
