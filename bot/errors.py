"""The project's own error types, each carrying a message fit to show a user.

Adapters catch third-party exceptions (docker, requests, pydantic) at the edge and raise one of
these instead, so nothing above an adapter ever sees a library exception or shows a traceback::

    ChatOpsError                  base: ``str(err)`` is the user-facing message
    ├── ConfigError               a setting is missing or wrong; start-up stops with one line
    ├── ParseError                command text is not valid; carries the usage line
    ├── UnknownEngine             ``-c NAME`` names no configured engine
    ├── AccessDenied              the policy refused the request; says which rule
    │   ├── ApprovalRequired      the action must wait for an approver
    │   └── Protected             the object is protected (or the bot's own): never from chat
    ├── AuditError                the audit log must not be extended (another key, tampering)
    ├── StateUnavailable          the bot's own database failed (locked, unreachable)
    ├── RateLimited               a person sent more than [access] user_rate_limit a minute
    ├── InternalError             a bug: the user sees a short message, the log the traceback
    └── EngineError               the Docker engine refused or failed an operation
        ├── EngineUnreachable     no answer from the engine (socket missing, refused, TLS)
        ├── EngineTimeout         the engine did not answer within the configured timeout
        ├── EngineBusy            too many requests already run or wait for this engine
        ├── NotFound              no such container / image / volume / network
        ├── Conflict              the object is in a state that forbids the action
        │   ├── PlanChanged       an approved plan's objects are no longer the planned ones
        │   └── UpgradeInProgress another upgrade of the container is pending or running
        ├── PullFailed            a pull failed (including errors inside a 200 stream)
        ├── CommandNotFound       a container's command does not exist (`docker run`: 127)
        ├── CommandNotRunnable    ... exists but cannot be run (`docker run`: 126)
        └── EngineRequestFailed   any other refusal from the engine (bad parameter, ...)
"""

from __future__ import annotations


class ChatOpsError(Exception):
    """Base of every error the bot reports to a user; ``str(err)`` is the message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(ChatOpsError):
    """A setting is missing or invalid."""


class ParseError(ChatOpsError):
    """The command text could not be understood.

    ``usage`` is the usage line of the command concerned (or of the whole language), shown
    under the message.
    """

    def __init__(self, message: str, *, usage: str | None = None) -> None:
        super().__init__(message)
        self.usage = usage


class UnknownEngine(ChatOpsError):
    """The request names an engine that is not configured."""


class AccessDenied(ChatOpsError):
    """The policy refused the request."""


class ApprovalRequired(AccessDenied):
    """The action needs an approver's approval before it may run."""


class Protected(AccessDenied):
    """The object is protected (``chatops.protected``, or the bot's own container): chat may
    list it and nothing else, whatever the role; never put to approvers."""


class AuditError(ChatOpsError):
    """The audit log cannot be extended: its newest entry does not verify under our key."""


class StateUnavailable(ChatOpsError):
    """The bot's database did not answer (or refused) when it was needed."""


class RateLimited(ChatOpsError):
    """The person sent more commands and clicks in a minute than ``[access] user_rate_limit``
    allows; the message says when to try again."""


class InternalError(ChatOpsError):
    """An unexpected failure inside the bot (details go to the log, not to the user)."""


class EngineError(ChatOpsError):
    """The engine refused or failed an operation."""


class EngineUnreachable(EngineError):
    """The engine could not be reached."""


class EngineTimeout(EngineError):
    """The engine did not answer in time."""


class EngineBusy(EngineError):
    """Too many requests are already running or waiting for this engine (it may be stalled)."""


class NotFound(EngineError):
    """The named object does not exist on the engine."""


class Conflict(EngineError):
    """The object's state forbids the action (running container, image in use, name taken)."""


class PlanChanged(Conflict):
    """Objects named in an approved plan are no longer the planned ones; nothing was done."""


class UpgradeInProgress(Conflict):
    """An upgrade of this container is already waiting or running."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"An upgrade of {name} is already under way; wait for it to finish (or be rolled "
            "back), then ask again."
        )


class PullFailed(EngineError):
    """Pulling an image failed."""


class CommandNotFound(EngineError):
    """The container could not start: its command was not found."""


class CommandNotRunnable(EngineError):
    """The container could not start: its command cannot be run (permissions, a directory)."""


class EngineRequestFailed(EngineError):
    """Any other error reported by the engine."""
