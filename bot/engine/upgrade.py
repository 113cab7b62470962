"""Replacing a container by one on a new image, verified, or put back as it was.

The replacement is created under a temporary name beside the old container (Compose's
``recreateContainer``); the old one is stopped and renamed aside, the replacement takes the
name and starts, and must keep running for the settle time (healthy, if it has a
healthcheck). Then the old container is removed, its volumes kept; otherwise the replacement
is removed and the old container is back under its name, running as before. Each step is
recorded in the journal first, so ``recover`` can finish what a killed bot left.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import docker
import docker.errors

from bot.core.redaction import redact, redacted_tail, secret_values
from bot.core.upgrades import (
    Recovery,
    UpgradeJournal,
    UpgradePhase,
    UpgradeRecord,
    recovery_for,
)
from bot.engine.recreate import replacement

log = logging.getLogger(__name__)

LOG_LINES = 20  # the replacement's last lines, told when it is rolled back
_REASON_LIMIT = 1_500


@dataclass(frozen=True, kw_only=True, slots=True)
class UpgradeOutcome:
    """How one upgrade ended: ``record.phase`` is ``DONE`` or ``ROLLED_BACK``."""

    record: UpgradeRecord
    settled_after: float = 0.0  # seconds from the replacement's start to its verification

    @property
    def upgraded(self) -> bool:
        return self.record.phase is UpgradePhase.DONE


class ContainerUpgrader:
    """Upgrades containers of one engine; ``clock``/``sleep`` are injected for the settle."""

    def __init__(
        self,
        *,
        api: docker.APIClient,
        engine: str,
        journal: UpgradeJournal,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        poll: float = 0.5,
    ) -> None:
        self._api = api
        self._engine = engine
        self._journal = journal
        self._clock = clock
        self._sleep = sleep
        self._poll = poll

    def upgrade(self, *, container_id: str, image: str, settle: float) -> UpgradeOutcome:
        """Replace the container ``container_id`` by one on ``image`` (already pulled)."""
        old = self._api.inspect_container(container_id)
        old_image = self._api.inspect_image(old["Image"])
        new_image_id = str(self._api.inspect_image(image)["Id"])
        plan = replacement(container=old, old_image=old_image, image=image)
        record = self._journal.begin(
            UpgradeRecord(
                id=0,
                engine=self._engine,
                name=str(old["Name"]).lstrip("/"),
                old_id=str(old["Id"]),
                old_image_id=str(old["Image"]),
                new_image=image,
                new_image_id=new_image_id,
                was_running=bool(old["State"].get("Running")),
            )
        )
        secrets = secret_values(old["Config"].get("Env") or ())
        try:
            record = self._create(record, plan.body, plan.more_networks)
            record = self._swap(record, old)
            reason, settled = self._verify(record, settle, secrets)
        except docker.errors.DockerException as err:
            reason, settled = f"the engine refused a step: {_explanation(err)}", 0.0
        if reason:
            record = self._set(record, UpgradePhase.ROLLING_BACK, reason=reason)
            self._put_back(record)
            return UpgradeOutcome(record=self._set(record, UpgradePhase.ROLLED_BACK))
        record = self._set(record, UpgradePhase.VERIFIED)
        self._remove_old(record)
        return UpgradeOutcome(record=self._set(record, UpgradePhase.DONE), settled_after=settled)

    def recover(self) -> list[UpgradeRecord]:
        """Finish every upgrade a stopped bot left on this engine; returns them as finished."""
        finished = []
        for record in self._journal.unfinished(self._engine):
            match recovery_for(record.phase):
                case Recovery.PUT_BACK:
                    why = record.reason or "the bot stopped before the upgrade was verified"
                    record = self._set(record, UpgradePhase.ROLLING_BACK, reason=why)
                    self._put_back(record)
                    finished.append(self._set(record, UpgradePhase.ROLLED_BACK))
                case Recovery.REMOVE_OLD:
                    self._remove_old(record)
                    finished.append(self._set(record, UpgradePhase.DONE))
                case Recovery.NOTHING:
                    pass
        return finished

    # --- Steps ------------------------------------------------------------------------------

    def _create(
        self,
        record: UpgradeRecord,
        body: dict[str, Any],
        more_networks: tuple[tuple[str, dict[str, Any]], ...],
    ) -> UpgradeRecord:
        created = self._api.create_container_from_config(body, name=record.trial_name)
        new_id = str(created["Id"])
        record = self._set(record, UpgradePhase.CREATING, new_id=new_id)
        for network, endpoint in more_networks:
            ipam = endpoint.get("IPAMConfig") or {}
            self._api.connect_container_to_network(
                new_id,
                network,
                aliases=endpoint.get("Aliases"),
                links=endpoint.get("Links"),
                ipv4_address=ipam.get("IPv4Address") or None,
                ipv6_address=ipam.get("IPv6Address") or None,
                driver_opt=endpoint.get("DriverOpts"),
            )
        return record

    def _swap(self, record: UpgradeRecord, old: dict[str, Any]) -> UpgradeRecord:
        record = self._set(record, UpgradePhase.SWAPPING)
        if record.was_running:
            timeout = old["Config"].get("StopTimeout")
            self._api.stop(record.old_id, timeout=10 if timeout is None else int(timeout))
        self._api.rename(record.old_id, record.aside_name)
        self._api.rename(_replacement(record), record.name)
        record = self._set(record, UpgradePhase.VERIFYING)
        self._api.start(_replacement(record))
        return record

    def _verify(
        self, record: UpgradeRecord, settle: float, secrets: tuple[str, ...]
    ) -> tuple[str, float]:
        """("", seconds to verified) if the replacement held, else (why not, 0)."""
        started = self._clock()
        new_id = _replacement(record)
        restarts = int(self._api.inspect_container(new_id).get("RestartCount") or 0)
        while True:
            doc = self._api.inspect_container(new_id)
            state = doc.get("State") or {}
            health = state.get("Health")
            status = health.get("Status") if health else None
            elapsed = self._clock() - started
            problem = ""
            if not state.get("Running") or state.get("Restarting"):
                problem = f"it exited with code {state.get('ExitCode')}"
            elif int(doc.get("RestartCount") or 0) > restarts:
                problem = "it restarted"
            elif status == "unhealthy":
                problem = "it became unhealthy"
            elif status == "starting" and elapsed >= 2 * settle:
                problem = f"it was not healthy after {elapsed:.0f} s"
            if problem:
                return self._reason(record, problem, health, secrets), 0.0
            if elapsed >= settle and status in (None, "healthy"):
                return "", elapsed
            self._sleep(self._poll)

    def _reason(
        self,
        record: UpgradeRecord,
        problem: str,
        health: dict[str, Any] | None,
        secrets: tuple[str, ...],
    ) -> str:
        parts = [f"{record.new_image} did not hold: {problem}."]
        checks = (health or {}).get("Log") or []
        if checks:
            output = str(checks[-1].get("Output") or "").strip()
            parts.append(f"Last health check: {redact(output, secrets)[-300:]}")
        with contextlib.suppress(docker.errors.DockerException):
            lines = self._api.logs(_replacement(record), tail=LOG_LINES)
            tail = redacted_tail(lines, _REASON_LIMIT, secrets).strip()
            if tail:
                parts.append(f"Its last log lines:\n{tail}")
        return "\n".join(parts)[:_REASON_LIMIT]

    def _put_back(self, record: UpgradeRecord) -> None:
        """The replacement gone (its volumes kept: they are the old container's too), the old
        container under its name and, if it ran, running."""
        trial = record.new_id or self._id_of(record.trial_name)
        if trial is not None and trial != record.old_id:
            with contextlib.suppress(docker.errors.NotFound):
                self._api.remove_container(trial, force=True, v=False)
        old = self._api.inspect_container(record.old_id)
        if str(old["Name"]).lstrip("/") != record.name:
            self._api.rename(record.old_id, record.name)
        if record.was_running and not old["State"].get("Running"):
            self._api.start(record.old_id)

    def _remove_old(self, record: UpgradeRecord) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self._api.remove_container(record.old_id, force=True, v=False)
        if record.new_id is not None:
            new = self._api.inspect_container(record.new_id)
            if str(new["Name"]).lstrip("/") != record.name:
                self._api.rename(record.new_id, record.name)

    def _id_of(self, name: str) -> str | None:
        try:
            return str(self._api.inspect_container(name)["Id"])
        except docker.errors.NotFound:
            return None

    def _set(self, record: UpgradeRecord, phase: UpgradePhase, **changes: Any) -> UpgradeRecord:
        record = replace(record, phase=phase, **changes)
        self._journal.save(record)
        log.info("upgrade #%s of %s: %s", record.id, record.name, phase)
        return record


def _replacement(record: UpgradeRecord) -> str:
    """The replacement's ID: recorded before any step that uses it."""
    if record.new_id is None:
        raise AssertionError(f"upgrade #{record.id} has no replacement yet")
    return record.new_id


def _explanation(err: docker.errors.DockerException) -> str:
    if isinstance(err, docker.errors.APIError):
        return str(err.explanation or err)
    return str(err)
