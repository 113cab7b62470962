"""The one straight line every request follows: text -> operation -> policy -> engine -> result."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from bot.core.engine import EngineDirectory, ProgressCallback
from bot.core.help import build_help
from bot.core.operations import Help, ParsedCommand
from bot.core.parsing.parser import parse_command
from bot.core.parsing.redaction import redact_command_text
from bot.core.policy import Actor, Policy, Verdict
from bot.core.results import Result
from bot.errors import AccessDenied, ApprovalRequired, ChatOpsError, InternalError

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class Reply:
    """What became of one request: a result or an error, never both."""

    text: str
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

    def __init__(self, *, engines: EngineDirectory, policy: Policy) -> None:
        self._engines = engines
        self._policy = policy

    def handle(self, text: str, *, actor: Actor, progress: ProgressCallback | None = None) -> Reply:
        """Parse, authorize and execute ``text`` on behalf of ``actor``."""
        try:
            command = parse_command(text)
        except ChatOpsError as err:
            return Reply(text=text, error=err)
        except Exception:
            return Reply(text=text, error=_internal_error(text))
        return self.run(command, actor=actor, progress=progress)

    def run(
        self, command: ParsedCommand, *, actor: Actor, progress: ProgressCallback | None = None
    ) -> Reply:
        """Authorize and execute an already parsed command."""
        text = command.text
        engine_name: str | None = None
        try:
            if isinstance(command.operation, Help):
                return Reply(text=text, command=command, result=build_help(command.operation.topic))
            engine = self._engines.get(command.engine)
            engine_name = engine.name
            decision = self._policy.decide(actor=actor, command=command, engine=engine.name)
            if decision.verdict is Verdict.NEEDS_APPROVAL:
                raise ApprovalRequired(
                    f"Not run: {decision.reason}. Approval requests are not available in this "
                    "version yet, so it cannot run from chat; an admin may remove it from "
                    "[approvals] required_for to let admins run it directly."
                )
            if decision.verdict is not Verdict.ALLOW:
                raise AccessDenied(f"Not allowed: {decision.reason}.")
            operation = decision.operation or command.operation
            assert not isinstance(operation, Help)
            result = engine.execute(operation, progress=progress)
            return Reply(text=text, command=command, engine=engine_name, result=result)
        except ChatOpsError as err:
            return Reply(text=text, command=command, engine=engine_name, error=err)
        except Exception:
            return Reply(
                text=text, command=command, engine=engine_name, error=_internal_error(text)
            )


def _internal_error(text: str) -> InternalError:
    """Log the exception being handled with an incident number the user can quote."""
    incident = uuid.uuid4().hex[:8]
    log.exception("internal error %s while handling %r", incident, redact_command_text(text))
    return InternalError(
        f"Something went wrong inside the bot (incident {incident}); it has been logged."
    )
