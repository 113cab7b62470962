"""A parsed request: the operation, the engine it names and the parser's warnings, and the
command as it is shown and stored (rendered from the operation, never the text as typed)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.operations import Operation
from bot.core.parsing.display import shown_command


@dataclass(frozen=True, kw_only=True, slots=True)
class ParsedCommand:
    """A parsed request: the operation, the engine it names (None: default) and warnings.

    The text as typed is deliberately not kept: what is shown or stored is ``shown``,
    rendered from the operation with environment values redacted.
    """

    operation: Operation
    engine: str | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def shown(self) -> str:
        """The command in Docker's spelling, fit to show and store (secrets redacted)."""
        return shown_command(self.operation, engine=self.engine)
