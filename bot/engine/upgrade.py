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
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import docker
import docker.errors

from bot.core.engine import ProgressCallback
from bot.core.humanize import short_id
from bot.core.parsing.units import parse_duration
from bot.core.plans import ObjectKind, Plan, PlanItem
from bot.core.protection import Protection
from bot.core.redaction import redact, redacted_tail, secret_values
from bot.core.references import parse_image_reference
from bot.core.results import ActionResult, TargetOutcome
from bot.core.upgrades import (
    Recovery,
    UpgradeJournal,
    UpgradePhase,
    UpgradeRecord,
    recovery_for,
)
from bot.engine.protection import checked_container, labels_of
from bot.engine.pulls import progress_of, pull_events
from bot.engine.recreate import replacement
from bot.engine.registry_auth import NO_REGISTRY_AUTH, RegistryAuth
from bot.engine.translate import engine_words
from bot.errors import ChatOpsError, Conflict, PlanChanged, UpgradeInProgress

log = logging.getLogger(__name__)

RENEW_SECONDS = 10.0  # while a step blocks, its record is saved this often
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
            with self._renewing(record):
                record = self._create(record, plan.body, plan.more_networks)
            record = self._swap(record, old)
            reason, settled = self._verify(record, settle, secrets)
        except _Refused as refusal:
            reason, settled = str(refusal), 0.0
        except docker.errors.DockerException as err:
            reason, settled = f"the engine refused a step: {engine_words(err)}", 0.0
        if reason:
            record = self._set(record, UpgradePhase.ROLLING_BACK, reason=reason)
            record = self._put_back(record)
            return UpgradeOutcome(record=self._set(record, UpgradePhase.ROLLED_BACK))
        record = self._set(record, UpgradePhase.VERIFIED)
        self._remove_old(record)
        return UpgradeOutcome(record=self._set(record, UpgradePhase.DONE), settled_after=settled)

    def recover(self, *, idle_for: float = 0.0) -> list[UpgradeRecord]:
        """Finish every upgrade a stopped bot left on this engine (with ``idle_for``: only
        records not saved for that long, so another replica's upgrade under way is left
        alone); returns them as finished."""
        finished = []
        for record in self._journal.unfinished(self._engine, idle_for=idle_for):
            try:
                finished.append(self._finish(record))
            except docker.errors.DockerException as err:  # tried again at the next sweep
                log.warning("upgrade #%s of %s not finished: %s", record.id, record.name, err)
        return [record for record in finished if record is not None]

    def _finish(self, record: UpgradeRecord) -> UpgradeRecord | None:
        match recovery_for(record.phase):
            case Recovery.PUT_BACK:
                why = record.reason or "the bot stopped before the upgrade was verified"
                record = self._set(record, UpgradePhase.ROLLING_BACK, reason=why)
                return self._set(self._put_back(record), UpgradePhase.ROLLED_BACK)
            case Recovery.REMOVE_OLD:
                self._remove_old(record)
                return self._set(record, UpgradePhase.DONE)
            case Recovery.NOTHING:
                return None

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
        # The reference was checked against the approved image before; it could have been
        # moved since (a pull): the replacement runs the approved image or nothing.
        running = str(self._api.inspect_container(new_id)["Image"])
        if running != record.new_image_id:
            raise _Refused(
                f"{record.new_image} names another image than the one approved "
                f"({short_id(running)}, not {short_id(record.new_image_id)}): ask again."
            )
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
            with self._renewing(record):  # a slow stop is no stopped process
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
            self._journal.save(record)  # still under way: never taken for a stopped one's
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

    def _put_back(self, record: UpgradeRecord) -> UpgradeRecord:
        """The replacement gone (its volumes kept: they are the old container's too), the old
        container under its name and, if it ran, running. Only the replacement this record
        created is removed (never whatever holds a name); if the old container is gone
        meanwhile, the replacement stays under the name and the record says so."""
        try:
            old = self._api.inspect_container(record.old_id)
        except docker.errors.NotFound:
            return self._keep_replacement(record)
        if record.new_id is not None and record.new_id != record.old_id:
            with contextlib.suppress(docker.errors.NotFound):
                self._api.remove_container(record.new_id, force=True, v=False)
        if str(old["Name"]).lstrip("/") != record.name:
            self._api.rename(record.old_id, record.name)
        if record.was_running and not old["State"].get("Running"):
            self._api.start(record.old_id)
        return record

    def _keep_replacement(self, record: UpgradeRecord) -> UpgradeRecord:
        why = (
            f"{record.reason} The old container was removed meanwhile, so nothing could be put back"
        )
        if record.new_id is None:
            return replace(record, reason=f"{why}, and no replacement was made.")
        try:
            new = self._api.inspect_container(record.new_id)
        except docker.errors.NotFound:
            return replace(record, reason=f"{why}, and the replacement is gone too.")
        if str(new["Name"]).lstrip("/") != record.name:
            self._api.rename(record.new_id, record.name)
        if not new["State"].get("Running"):
            with contextlib.suppress(docker.errors.APIError):
                self._api.start(record.new_id)
        return replace(record, reason=f"{why}: the replacement stays under the name.")

    @contextlib.contextmanager
    def _renewing(self, record: UpgradeRecord) -> Iterator[None]:
        """Save ``record`` every few seconds during a step that may block (a long stop), so
        no recovery sweep takes the upgrade for a stopped process's."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(RENEW_SECONDS):
                with contextlib.suppress(Exception):
                    self._journal.save(record)

        thread = threading.Thread(target=renew, name=f"upgrade-{record.id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def _remove_old(self, record: UpgradeRecord) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self._api.remove_container(record.old_id, force=True, v=False)
        if record.new_id is not None:
            new = self._api.inspect_container(record.new_id)
            if str(new["Name"]).lstrip("/") != record.name:
                self._api.rename(record.new_id, record.name)

    def _set(self, record: UpgradeRecord, phase: UpgradePhase, **changes: Any) -> UpgradeRecord:
        record = replace(record, phase=phase, **changes)
        self._journal.save(record)
        log.info("upgrade #%s of %s: %s", record.id, record.name, phase)
        return record


class _Refused(Exception):
    """A step that must not go on; the upgrade is put back with this reason."""


def _replacement(record: UpgradeRecord) -> str:
    """The replacement's ID: recorded before any step that uses it."""
    if record.new_id is None:
        raise AssertionError(f"upgrade #{record.id} has no replacement yet")
    return record.new_id


# --- Plans: what an upgrade or a rollback will do, made before anyone is asked -------------

UPGRADE = "upgrade"
ROLLBACK = "rollback"
EXCLUDED_LABEL = "chatops.upgrade"  # "false": never upgraded from chat (an admin's label)
SETTLE_LABEL = "chatops.upgrade.settle"  # a duration: this container's settle time
ROLLBACK_REPOSITORY = "chatops-rollback"  # the tag that keeps a replaced image for rollback


def plan_upgrade(
    api: docker.APIClient,
    *,
    containers: tuple[str, ...],
    image: str | None,
    protection: Protection,
    engine: str,
    journal: UpgradeJournal,
    auth: RegistryAuth = NO_REGISTRY_AUTH,
    progress: ProgressCallback | None = None,
) -> Plan:
    """Pull each container's reference (or ``image``) and compare: a container already on
    the image the reference names is unchanged; the others are planned, old -> new."""
    items, unchanged, pulled = [], [], set()
    for target in containers:
        doc = checked_container(api, target, protection)
        name = str(doc["Name"]).lstrip("/")
        labels = labels_of(doc)
        if labels.get(EXCLUDED_LABEL, "").strip().lower() == "false":
            raise Conflict(f"{name} is kept from upgrades (label {EXCLUDED_LABEL}=false).")
        own = str(doc["Config"].get("Image") or "")
        reference = image or own
        if not reference or reference.startswith("sha256:") or reference == doc["Image"]:
            raise Conflict(
                f"{name} was created from an image ID, not a reference: name the image to "
                "upgrade to with `--image REF`."
            )
        if image is not None:
            _same_repository(doc, name, image, followed=journal.last_reference(engine, name))
        if reference not in pulled:
            pulling = parse_image_reference(reference)
            credentials = auth.for_reference(reference)
            # Pulled before anyone is asked, its layers shown as they come.
            for event in pull_events(api, pulling, auth_config=credentials):
                layer = progress_of(event)
                if progress is not None and layer is not None:
                    progress(layer)
            pulled.add(reference)
        new = api.inspect_image(reference)
        if new["Id"] == doc["Image"]:
            unchanged.append(name)
            continue
        old = api.inspect_image(doc["Image"])
        items.append(_item(doc, name, reference, old, new))
    return Plan(action=UPGRADE, items=tuple(items), unchanged=tuple(unchanged))


def _same_repository(doc: dict[str, Any], name: str, image: str, *, followed: str | None) -> None:
    """``--image`` moves a container along its own repository (another tag or digest), never
    to another image: that would run new code with whatever the container was given (its
    mounts, its privileges), which only ``run`` and its policy may decide. Its repository is
    the one of the reference it was created from, or (created from an image ID, as after a
    rollback) the one its last upgrade followed; never one that merely tags the same image."""
    wanted = parse_image_reference(image).canonical_repository
    own = str(doc["Config"].get("Image") or "")
    if own.startswith("sha256:") or own == doc["Image"]:
        own = followed or ""
    try:
        repository = parse_image_reference(own).canonical_repository if own else None
    except ChatOpsError:
        repository = None
    if repository is None:
        raise Conflict(
            f"{name} runs an image by ID and no upgrade of it followed a reference: remove "
            "it and `run` the image you want."
        )
    if wanted != repository:
        raise Conflict(
            f"`--image {image}` is another repository than {name}'s ({repository}): an "
            "upgrade keeps a container's image and moves its version; to run another image, "
            "remove the container and `run` that one."
        )


def plan_rollback(
    api: docker.APIClient,
    *,
    container: str,
    engine: str,
    journal: UpgradeJournal,
    protection: Protection,
) -> Plan:
    """Back to the image the last upgrade of ``container`` replaced."""
    doc = checked_container(api, container, protection)
    name = str(doc["Name"]).lstrip("/")
    last = journal.last_done(engine, name)
    if last is None:
        raise Conflict(f"{name} has no upgrade to roll back.")
    if last.new_id != doc["Id"]:
        raise Conflict(
            f"{name} has no upgrade to roll back: its last upgrade made another container, "
            "replaced since."
        )
    try:
        old = api.inspect_image(last.old_image_id)
    except docker.errors.NotFound:
        raise Conflict(f"The image {name} ran before its upgrade is gone.") from None
    new = api.inspect_image(doc["Image"])
    return Plan(action=ROLLBACK, items=(_item(doc, name, last.old_image_id, new, old),))


def _item(
    doc: dict[str, Any], name: str, reference: str, old: dict[str, Any], new: dict[str, Any]
) -> PlanItem:
    def image(image_doc: dict[str, Any]) -> str:
        digests = [d.partition("@")[2] for d in image_doc.get("RepoDigests") or ()]
        digest = f", {short_id(digests[0])}" if digests else ""
        built = str(image_doc.get("Created") or "")[:10]
        return f"{short_id(str(image_doc['Id']))} ({built}{digest})"

    return PlanItem(
        kind=ObjectKind.CONTAINER,
        id=str(doc["Id"]),
        target=name,
        description=f"{name}: {reference} {image(old)} -> {image(new)}",
        # What must not change before it runs: the image the container runs, and the one the
        # reference names (the reference itself last: it may not hold a space).
        marker=f"{old['Id']} {new['Id']} {reference}",
    )


def execute_upgrade_plan(
    api: docker.APIClient,
    plan: Plan,
    *,
    engine: str,
    journal: UpgradeJournal,
    settle: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ActionResult:
    """Run an upgrade or rollback plan, container by container; each verified or put back."""
    upgrader = ContainerUpgrader(api=api, engine=engine, journal=journal, clock=clock, sleep=sleep)
    outcomes = [TargetOutcome(target=name, ok=True, detail="up to date") for name in plan.unchanged]
    for item in plan.items:
        old_image, new_image, reference = item.marker.split(" ", 2)
        try:
            doc = api.inspect_container(item.id)
            if doc["Image"] != old_image or api.inspect_image(reference)["Id"] != new_image:
                raise PlanChanged(
                    f"{item.target} changed since it was planned (its image, or what "
                    f"{reference} names): ask again."
                )
            seconds = _settle_of(labels_of(doc), settle)
            outcome = upgrader.upgrade(container_id=item.id, image=reference, settle=seconds)
            record = outcome.record
        except (PlanChanged, UpgradeInProgress) as err:
            outcomes.append(TargetOutcome(target=item.target, ok=False, detail=str(err)))
            continue
        except docker.errors.DockerException as err:
            detail = f"nothing was changed: {engine_words(err)}"
            outcomes.append(TargetOutcome(target=item.target, ok=False, detail=detail))
            continue
        if outcome.upgraded:
            _keep_for_rollback(api, record)
            detail = (
                f"{short_id(record.old_image_id)} -> {short_id(record.new_image_id)}, "
                f"held for {outcome.settled_after:.0f} s"
            )
            outcomes.append(TargetOutcome(target=item.target, ok=True, detail=detail))
        else:
            detail = f"rolled back: {record.reason}"
            outcomes.append(TargetOutcome(target=item.target, ok=False, detail=detail))
    return ActionResult(action=plan.action, outcomes=tuple(outcomes))


def _settle_of(labels: dict[str, str], default: float) -> float:
    text = labels.get(SETTLE_LABEL)
    if not text:
        return default
    try:
        return parse_duration(text.strip(), option=SETTLE_LABEL).total_seconds()
    except ChatOpsError:
        return default


def _keep_for_rollback(api: docker.APIClient, record: UpgradeRecord) -> None:
    """A tag on the replaced image, so that no prune takes it while a rollback may need it."""
    tag = re.sub(r"[^A-Za-z0-9_.-]", "-", record.name)[:100] + "-" + record.old_image_id[7:19]
    with contextlib.suppress(docker.errors.DockerException):
        api.tag(record.old_image_id, ROLLBACK_REPOSITORY, tag)
