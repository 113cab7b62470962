"""The engine boundary as seen from the core: what an engine must offer, and nothing of Docker.

Callers hold an ``Engine`` and never need a particular kind: planning, plan-exact removal and
housekeeping are part of the port, so approvals and the housekeeping scheduler work the same on
a real engine and on ``bot.engine.fake``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bot.core.command import ParsedCommand
from bot.core.grants import ContainerFacts
from bot.core.operations import EngineOperation
from bot.core.plans import Plan
from bot.core.results import ActionResult, CleanupReport, PullProgress, Result

ProgressCallback = Callable[[PullProgress], None]


class Engine(Protocol):
    """One Docker engine. Every method raises only ``bot.errors.EngineError`` subclasses."""

    @property
    def name(self) -> str: ...

    @property
    def location(self) -> str:
        """Where the engine is (its URL), for messages."""
        ...

    def execute(
        self, operation: EngineOperation, *, progress: ProgressCallback | None = None
    ) -> Result: ...

    def ping(self) -> None:
        """Raise ``EngineUnreachable`` if the engine does not answer."""
        ...

    def version(self) -> str:
        """The engine's version and OS/architecture (``27.5.1 (linux/amd64)``)."""
        ...

    def container_facts(self, names: tuple[str, ...]) -> tuple[ContainerFacts, ...]:
        """What a grant looks at in each named container (name, labels, image reference), in
        order; one that does not exist comes back with ``name`` None."""
        ...

    def plan(self, command: ParsedCommand, *, progress: ProgressCallback | None = None) -> Plan:
        """The exact objects a destructive command (``rm``, ``rmi``, a prune, ``cleanup``)
        would destroy now."""
        ...

    def execute_plan(self, plan: Plan) -> ActionResult:
        """Destroy exactly the planned objects, by ID. If any of them changed since the plan,
        nothing is done (``PlanChanged``); a cleanup plan instead skips what changed and says
        so, as ``apply_cleanup`` does."""
        ...

    def plan_cleanup(self) -> Plan:
        """What housekeeping would remove now under this engine's rules (``bot.core.cleanup``)."""
        ...

    def apply_cleanup(self, plan: Plan) -> CleanupReport:
        """Remove exactly a cleanup plan: each object is checked again just before it goes, and
        one that changed or vanished is skipped and reported. Never a blanket prune."""
        ...


class EngineDirectory(Protocol):
    """The configured engines by name."""

    def get(self, name: str | None) -> Engine:
        """The engine called ``name`` (None: the default); raise ``UnknownEngine``."""
        ...

    def names(self) -> list[str]: ...
