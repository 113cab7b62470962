"""From a container's events to what happened to it: a crash, an OOM kill, a restart loop.

A ``die`` is a crash only if nobody asked for it: Docker sends ``kill`` before the ``die`` of a
``stop``, ``restart``, ``kill`` or ``rm -f`` (the bot's or anyone's), and never before a process
that exits or crashes on its own. An OOM kill is a ``die`` after an ``oom``. A ``die`` while
the bot stops, restarts, removes, upgrades or cleans the container (its ``Cause``, from the
intents the bot records before acting: ``bot.core.notices.intents``) is asked for too, whatever
the stop signal and exit code; an OOM kill or a failed health check then is told "during" it.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

from bot.core.notices.events import ContainerEvent
from bot.core.notices.intents import Cause
from bot.core.notices.rules import NoticeKind, NotificationRules

# Containers followed at once per engine; the least recently seen are forgotten first.
MAX_TRACKED = 10_000
# Signals sent to reload or rotate logs, not to stop: their kill event asks for no death.
NON_STOPPING_SIGNALS = frozenset(
    {"1", "10", "12", "17", "18", "23", "28"}
    | {"SIGHUP", "SIGUSR1", "SIGUSR2", "SIGCHLD", "SIGCONT", "SIGURG", "SIGWINCH"}
)
ASKED_FOR_NS = 10 * 60 * 1_000_000_000  # a death this long after a kill was asked for


@dataclass(frozen=True, kw_only=True, slots=True)
class Occurrence:
    """One thing worth telling, about one container."""

    kind: NoticeKind
    engine: str
    container_id: str
    name: str
    image: str
    at_ns: int
    exit_code: int | None = None
    restarts: int = 0  # for a restart loop: restarts within the span
    during: Cause | None = None  # what the bot was doing to the container then


@dataclass(kw_only=True, slots=True)
class _Tracked:
    asked: bool = False  # a kill since the last start: the next die was asked for
    asked_at: int = 0
    oom: bool = False
    died_unasked: bool = False
    in_loop: bool = False
    restarts: deque[int] = field(default_factory=deque)
    # The intents that explained a death already: each explains one (a restart's stop).
    spent: deque[int] = field(default_factory=lambda: deque(maxlen=8))


class Classifier:
    """One engine's events in, occurrences out. Pure: the same events give the same answers."""

    def __init__(self, *, engine: str, rules: NotificationRules) -> None:
        self._engine = engine
        self._rules = rules
        self._tracked: OrderedDict[str, _Tracked] = OrderedDict()

    @property
    def tracked(self) -> int:
        return len(self._tracked)

    def observe(self, event: ContainerEvent, cause: Cause | None = None) -> Occurrence | None:
        """What ``event`` means for the team, or None (nothing to tell); ``cause``: what the
        bot was doing to the container at the time (``bot.core.notices.intents.covering``)."""
        if self._rules.ignores(name=event.name, image=event.image, labels=event.labels):
            return None
        if event.action == "destroy":
            self._tracked.pop(event.container_id, None)
            return None
        state = self._state(event.container_id)
        match event.action:
            case "kill" if event.signal not in NON_STOPPING_SIGNALS:
                state.asked = True
                state.asked_at = event.time_ns
            case "oom":
                state.oom = True
            case "start":
                return self._started(state, event)
            case "die":
                return self._died(state, event, cause)
            case "health_status" if event.health == "unhealthy":
                return self._occurrence(NoticeKind.UNHEALTHY, event, during=cause)
        return None

    def _state(self, container_id: str) -> _Tracked:
        state = self._tracked.get(container_id)
        if state is None:
            state = self._tracked[container_id] = _Tracked()
            if len(self._tracked) > MAX_TRACKED:
                self._tracked.popitem(last=False)
        else:
            self._tracked.move_to_end(container_id)
        return state

    def _died(
        self, state: _Tracked, event: ContainerEvent, cause: Cause | None
    ) -> Occurrence | None:
        if cause is not None and cause.intent in state.spent:
            cause = None  # it explained an earlier death: this one is the container's own
        if cause is not None:
            state.spent.append(cause.intent)
        # A kill long before the death did not cause it (a stop takes its timeout at most).
        asked = state.asked and event.time_ns - state.asked_at <= ASKED_FOR_NS
        asked = asked or cause is not None
        oom = state.oom
        state.asked = state.oom = False
        state.died_unasked = not asked
        if oom and cause is not None:
            # Notable whoever asked: the memory ran out while the bot was at it.
            return self._occurrence(NoticeKind.OOM, event, during=cause)
        if asked:
            return None
        if oom:
            return self._occurrence(NoticeKind.OOM, event)
        if event.exit_code not in (0, None):
            return self._occurrence(NoticeKind.CRASH, event)
        return None  # a clean exit

    def _started(self, state: _Tracked, event: ContainerEvent) -> Occurrence | None:
        restarted = state.died_unasked
        state.asked = state.oom = state.died_unasked = False
        loop = self._rules.restart_loop
        span_ns = int(loop.span.total_seconds() * 1e9)
        while state.restarts and state.restarts[0] < event.time_ns - span_ns:
            state.restarts.popleft()
        if not restarted:
            if not state.restarts:
                state.in_loop = False
            return None
        state.restarts.append(event.time_ns)
        while len(state.restarts) > loop.count:
            state.restarts.popleft()
        if len(state.restarts) < loop.count:
            state.in_loop = False
            return None
        if state.in_loop:
            return None  # the loop was told already; its crashes update that message
        state.in_loop = True
        return self._occurrence(NoticeKind.RESTART_LOOP, event, restarts=len(state.restarts))

    def _occurrence(
        self,
        kind: NoticeKind,
        event: ContainerEvent,
        restarts: int = 0,
        during: Cause | None = None,
    ) -> Occurrence:
        return Occurrence(
            kind=kind,
            engine=self._engine,
            container_id=event.container_id,
            name=event.name,
            image=event.image,
            at_ns=event.time_ns,
            exit_code=event.exit_code,
            restarts=restarts,
            during=during,
        )
