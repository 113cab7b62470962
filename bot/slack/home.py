"""The Home tab, published for the person who opens it (``app_home_opened``).

Everything shown is gathered at that moment: engine health from the health probe's last
result, versions asked of the engines that answer (within one short budget), the requests
waiting, the housekeeping schedule and its last results, the [[freeze]] windows in force and
the next one, and this person's role.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.core.approvals import ApprovalService
from bot.core.engine import EngineDirectory
from bot.core.freezes import Outlook
from bot.core.notices.silences import Silence
from bot.core.operations import ACTIONS
from bot.core.policy import ROLE_NAMES, AccessRules, Actor, Verdict, authorize, roles_of
from bot.core.results import CleanupStatus
from bot.core.views import EngineLine, HomeState
from bot.health import HealthCheck
from bot.slack.render.home import home_view

log = logging.getLogger(__name__)

VERSION_BUDGET = 2.0  # seconds for all engines' versions together
VERSION_TTL = 300.0  # seconds a known version is shown before it is asked again


class HomeTab:
    """Bolt listener for ``app_home_opened``."""

    def __init__(
        self,
        *,
        client: WebClient,
        rules: AccessRules,
        groups_of: Callable[[str], frozenset[str]],
        engines: EngineDirectory,
        default_engine: str,
        health: HealthCheck,
        approvals: ApprovalService,
        approvers: str,
        housekeeping: Callable[[], CleanupStatus],
        command: str,
        freezes: Callable[[], Outlook] | None = None,
        silences: Callable[[], list[Silence]] | None = None,
    ) -> None:
        self._client = client
        self._rules = rules
        self._groups_of = groups_of
        self._engines = engines
        self._default = default_engine
        self._health = health
        self._approvals = approvals
        self._approvers = approvers
        self._housekeeping = housekeeping
        self._command = command
        self._freezes = freezes
        self._silences = silences
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="home")
        self._lock = threading.Lock()
        self._known: dict[str, tuple[float, str]] = {}  # engine -> (asked at, version)
        self._asking: dict[str, Future[str]] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        user = str(event.get("user", ""))
        if not user:
            return
        try:
            view = home_view(self.state(user))
            self._client.views_publish(user_id=user, view=view)
        except SlackClientError as err:
            log.warning("could not publish the Home tab for %s: %s", user, err)
        except Exception:  # the tab stays as it was; the next opening tries again
            log.exception("the Home tab for %s failed", user)

    def state(self, user: str) -> HomeState:
        """What ``user`` sees now."""
        groups = self._groups_of(user)
        actor = Actor(user_id=user, groups=groups)
        held = roles_of(actor, self._rules)
        # What this person may do wherever the bot takes commands (the tab is no channel).
        anywhere = dataclasses.replace(self._rules, channels=(), engine_channels={})
        allowed, with_approval = [], []
        for name, access in ACTIONS.items():
            verdict = authorize(
                actor=actor, access=access, engine=self._default, rules=anywhere
            ).verdict
            if verdict is Verdict.ALLOW:
                allowed.append(name)
            elif verdict is Verdict.NEEDS_APPROVAL:
                with_approval.append(name)
        roles = tuple(role for role in ROLE_NAMES if role in held)
        if not roles:
            # Nothing about the engines or anyone's requests for someone without a role.
            return HomeState(
                user_id=user,
                roles=(),
                allowed=(),
                with_approval=(),
                engines=(),
                pending=(),
                may_approve=False,
                approvers=self._approvers,
                housekeeping=None,
                command=self._command,
            )
        # Requests and schedules only of engines this person could read from here, as
        # `approvals` and `cleanup status` would show them (an engine bound to channels
        # shows its own there).
        readable = {
            name
            for name in self._engines.names()
            if authorize(
                actor=actor,
                access=ACTIONS["approvals"],
                engine=name,
                rules=dataclasses.replace(self._rules, channels=()),
            ).verdict
            is Verdict.ALLOW
        }
        health = {engine.name: engine.ok for engine in self._health.check().engines}
        versions = self._versions([name for name, ok in health.items() if ok])
        status = self._housekeeping()
        return HomeState(
            user_id=user,
            roles=roles,
            allowed=tuple(allowed),
            with_approval=tuple(with_approval),
            engines=tuple(
                EngineLine(
                    name=name,
                    ok=health.get(name, False),
                    default=name == self._default,
                    version=versions.get(name),
                )
                for name in self._engines.names()
            ),
            # No buttons for a request that failed verification (the sweep marks it soon).
            pending=tuple(
                r for r in self._approvals.pending() if r.intact and r.engine in readable
            ),
            may_approve=self._approvals.may_approve(user, groups),
            approvers=self._approvers,
            housekeeping=CleanupStatus(
                engines=tuple(line for line in status.engines if line[0] in readable)
            ),
            command=self._command,
            freezes=self._freezes() if self._freezes is not None else None,
            silences=self._silences_on(readable),
        )

    def _silences_on(self, engines: set[str]) -> tuple[Silence, ...]:
        """The silences in force on ``engines``, soonest to end first (none if the database
        does not answer: the rest of the tab still shows)."""
        if self._silences is None:
            return ()
        try:
            found = self._silences()
        except Exception:
            log.exception("the Home tab could not read the silences")
            return ()
        return tuple(
            sorted((s for s in found if s.engine in engines), key=lambda s: (s.ends_at, s.id))
        )

    def _versions(self, names: list[str]) -> dict[str, str]:
        """Each engine's version, asked at most once per ``VERSION_TTL`` and with at most one
        question in flight per engine (a stalled engine cannot pile them up)."""
        now = time.monotonic()
        with self._lock:
            for name in names:
                known = self._known.get(name)
                pending = self._asking.get(name)
                if (known is None or now - known[0] > VERSION_TTL) and (
                    pending is None or pending.done()
                ):
                    self._asking[name] = self._pool.submit(self._engines.get(name).version)
            asking = [self._asking[name] for name in names if name in self._asking]
        wait(asking, timeout=VERSION_BUDGET)
        with self._lock:
            for name in names:
                future = self._asking.get(name)
                if future is not None and future.done():
                    del self._asking[name]
                    if future.exception() is None:
                        self._known[name] = (time.monotonic(), future.result())
            return {name: self._known[name][1] for name in names if name in self._known}

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
