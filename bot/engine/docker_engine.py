"""The real engine: executes operations through the docker SDK's low-level ``APIClient``.

One list call per listing (docker-py's high-level ``containers.list()`` would inspect every
container); API version negotiated once; explicit timeouts on every call.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, assert_never

import docker
import docker.errors
import docker.tls
import docker.utils
import requests.exceptions

from bot.core import operations, redaction, results
from bot.core.cleanup import CleanupRules, run_cleanup
from bot.core.command import ParsedCommand
from bot.core.engine import ProgressCallback
from bot.core.grants import ContainerFacts
from bot.core.notices.events import ContainerBrief, NoticeDetails
from bot.core.parsing.commands import MAX_EVENTS_SHOWN, MAX_STATS_CONTAINERS
from bot.core.plans import ObjectKind, Plan
from bot.core.protection import NOTHING_PROTECTED_BUT_LABELS, Protection, is_protected
from bot.core.upgrades import InMemoryUpgradeJournal, UpgradeJournal, UpgradeRecord
from bot.engine import (
    events,
    housekeeping,
    listings,
    mapping,
    planning,
    pulls,
    swarm,
    updates,
    upgrade,
)
from bot.engine.environments import ListedEnvironments
from bot.engine.guarded_client import GuardedAPIClient
from bot.engine.protection import check_run_targets, checked_container, checked_ids, listable
from bot.engine.registry_auth import NO_REGISTRY_AUTH, RegistryAuth
from bot.engine.translate import api_error, engine_errors
from bot.errors import (
    AccessDenied,
    CommandNotFound,
    CommandNotRunnable,
    EngineError,
    NotFound,
    Protected,
)

_LOG_BYTES_LIMIT = 1_000_000
_TOP_PROCESSES = 1_000  # rows of `top` read (a table shows 99; the file has the rest)


@dataclass(frozen=True, kw_only=True, slots=True)
class EngineTLS:
    """Client TLS for a ``tcp://`` engine (like ``docker --tlsverify``), as plain values."""

    ca_cert: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    verify: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class EngineLimits:
    """Bounds on what one request may wait for or bring back."""

    timeout_seconds: float = 60.0
    run_wait_seconds: float = 60.0
    run_output_lines: int = 50
    logs_max_lines: int = 1000
    # `stats`: at most this many containers, sampled by this many requests at once, with
    # this pause between the two samples CPU % is computed from, all within the deadline.
    stats_max_containers: int = MAX_STATS_CONTAINERS
    stats_workers: int = 8
    stats_interval_seconds: float = 1.0
    stats_deadline_seconds: float = 20.0
    # `events`: the newest this many are kept, and reading stops after that many.
    events_shown: int = MAX_EVENTS_SHOWN
    events_read: int = 10_000
    events_deadline_seconds: float = 30.0


_T = TypeVar("_T")
# A service's log tail, in characters (lines are bounded by logs_max_lines).
MAX_SERVICE_LOG_CHARACTERS = 30_000


class DockerEngine:
    """One configured Docker engine."""

    def __init__(
        self,
        *,
        name: str,
        url: str,
        limits: EngineLimits,
        tls: EngineTLS | None = None,
        use_ssh_client: bool = True,
        cleanup_rules: CleanupRules | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        volume_allowlist: tuple[str, ...] = (),
        protection: Protection = NOTHING_PROTECTED_BUT_LABELS,
        upgrade_settle: float = 30.0,
        registry_auth: RegistryAuth = NO_REGISTRY_AUTH,
    ) -> None:
        self._name = name
        # Credentials for pulls and tag reads where the client has none ([registries]).
        self._registry_auth = registry_auth
        # Existing named volumes `run` may mount although the bot did not make them.
        self._volume_allowlist = volume_allowlist
        # The bot's own container and the labelled ones: listed, never touched from chat.
        self._protection = protection
        self._url = url
        self._limits = limits
        self._tls = tls
        self._use_ssh_client = use_ssh_client
        self._cleanup_rules = cleanup_rules or CleanupRules(
            container_grace=timedelta(hours=24), image_grace=timedelta(hours=24)
        )
        # What "now" is for grace periods (tests move it instead of waiting).
        self._clock = clock
        self._api: docker.APIClient | None = None
        self._lock = threading.Lock()
        self._environments = ListedEnvironments()  # what `ps` redacts from commands
        # How long a replacement must hold; where upgrades are recorded (the database's
        # journal once the composition root has opened it: keep_upgrades_in).
        self._upgrade_settle = upgrade_settle
        self._upgrades: UpgradeJournal = InMemoryUpgradeJournal()

    @property
    def name(self) -> str:
        return self._name

    @property
    def location(self) -> str:
        return self._url

    def ping(self) -> None:
        with self._errors():
            self._client().ping()

    def version(self) -> str:
        with self._errors():
            answer = self._client().version()
        return f"{answer.get('Version', '?')} ({answer.get('Os', '?')}/{answer.get('Arch', '?')})"

    def container_facts(self, names: tuple[str, ...]) -> tuple[ContainerFacts, ...]:
        found = []
        with self._errors():
            api = self._client()
            for name in names:
                try:
                    doc = api.inspect_container(name)
                except docker.errors.NotFound:
                    found.append(ContainerFacts(asked=name, name=None))
                    continue
                config = doc.get("Config") or {}
                if not doc.get("Name") or "State" not in doc or not doc.get("Id"):
                    # Not a container's document: never judged as one, nor by the typed text.
                    found.append(ContainerFacts(asked=name, name=None))
                    continue
                found.append(
                    ContainerFacts(
                        asked=name,
                        name=str(doc["Name"]).lstrip("/"),
                        container_id=str(doc["Id"]),
                        labels=dict(config.get("Labels") or {}),
                        image=str(config.get("Image") or ""),
                    )
                )
        return tuple(found)

    def swarm_manager(self) -> bool:
        """Is this engine a manager of a swarm (can it run ``service`` commands)?"""
        with self._errors():
            answer = self._client().info()
        return bool((answer.get("Swarm") or {}).get("ControlAvailable"))

    def close(self) -> None:
        with self._lock:
            if self._api is not None:
                self._api.close()
                self._api = None

    def execute(
        self, operation: operations.EngineOperation, *, progress: ProgressCallback | None = None
    ) -> results.Result:
        """Run ``operation``; raise only ``EngineError`` subclasses."""
        with self._errors():
            match operation:
                case operations.Planned():
                    planned = self.plan(ParsedCommand(operation=operation), progress=progress)
                    return self.execute_plan(planned)
                case operations.ListContainers():
                    return self._ps(operation)
                case operations.ListImages():
                    return self._images(operation)
                case operations.Pull():
                    return self._pull(operation, progress)
                case operations.RunContainer():
                    return self._run(operation, progress)
                case operations.ChangeContainers():
                    return self._change(operation)
                case operations.RemoveImages():
                    return self._rmi(operation)
                case operations.ShowLogs():
                    return self._logs(operation)
                case operations.Inspect():
                    return self._inspect(operation)
                case operations.ShowStats():
                    return self._stats(operation)
                case operations.ShowTop():
                    return self._top(operation)
                case operations.ShowPorts():
                    return self._port(operation)
                case operations.DiskUsage():
                    return mapping.disk_usage(self._client().df())
                case operations.ListVolumes():
                    return self._volumes(operation)
                case operations.ListNetworks():
                    return self._networks(operation)
                case operations.ShowEvents():
                    return self._events(operation)
                case operations.PruneContainers():
                    return self._prune_containers(operation)
                case operations.PruneImages():
                    return self._prune_images(operation)
                case operations.Cleanup():
                    return run_cleanup(self, dry_run=operation.dry_run)
                case operations.ListUpdates():
                    return self._updates()
                case operations.ListServices():
                    return results.ServiceList(rows=self._swarm_read(lambda s: s.services()))
                case operations.ShowServiceTasks():
                    service = operation.service
                    name = swarm.inspect_service(self._client(), service, engine=self._name)
                    rows = self._swarm_read(lambda s: s.tasks(service))
                    return results.TaskList(service=str(name["Spec"]["Name"]), rows=rows)
                case operations.ShowServiceLogs():
                    return self._service_logs(operation)
                case _:
                    assert_never(operation)

    def plan(self, command: ParsedCommand, *, progress: ProgressCallback | None = None) -> Plan:
        """The exact objects a destructive command would destroy now (``progress``: an
        upgrade's pulls, layer by layer)."""
        with self._errors():
            return planning.make_plan(
                self._client(),
                command.operation,
                self._cleanup_rules,
                now=self._clock(),
                protection=self._protection,
                engine=self._name,
                upgrades=self._upgrades,
                registry_auth=self._registry_auth,
                progress=progress,
            )

    def execute_plan(self, plan: Plan) -> results.ActionResult:
        """Destroy exactly the planned objects, or nothing if any of them changed; an upgrade
        or rollback plan replaces its containers, each verified or put back."""
        with self._errors():
            if plan.action in swarm.SERVICE_ACTIONS:
                return swarm.execute_service_change(
                    self._client(), plan, swarm=self._swarm_services()
                )
            if plan.action in (upgrade.UPGRADE, upgrade.ROLLBACK):
                return upgrade.execute_upgrade_plan(
                    self._client(),
                    plan,
                    engine=self._name,
                    journal=self._upgrades,
                    settle=self._upgrade_settle,
                )
            return planning.execute_plan(self._client(), plan, engine=self._name)

    def keep_upgrades_in(self, journal: UpgradeJournal) -> None:
        """Record upgrades in ``journal`` (the database), set once at start-up."""
        self._upgrades = journal

    def recover_upgrades(self, *, idle_for: float) -> list[UpgradeRecord]:
        """Finish the upgrades a stopped bot left on this engine, those not saved for
        ``idle_for`` seconds (see ``bot.core.upgrades``)."""
        with self._errors():
            return upgrade.ContainerUpgrader(
                api=self._client(), engine=self._name, journal=self._upgrades
            ).recover(idle_for=idle_for)

    def plan_cleanup(self) -> Plan:
        """What housekeeping would remove now."""
        with self._errors():
            return housekeeping.plan_cleanup(self._client(), self._cleanup_rules, now=self._clock())

    def apply_cleanup(self, plan: Plan) -> results.CleanupReport:
        """Remove exactly the cleanup ``plan``, skipping (and reporting) what changed since."""
        with self._errors():
            return housekeeping.apply_cleanup(self._client(), plan, engine=self._name)

    # -- events (``bot.core.notices.events.EventSource``) ----------------------------------

    def engine_time_ns(self) -> int:
        with self._errors():
            return events.engine_time_ns(self._client())

    def events(self, *, since_ns: int, until_ns: int | None = None) -> events.DockerEventStream:
        """Container events from ``since_ns``, on a connection of their own (a live stream
        holds it for as long as it runs, and must not wait for the other calls' timeout)."""
        with self._errors():
            api = self._client()
            stream_api = docker.APIClient(
                # docker-py reads /events with no timeout, whatever the client's is.
                base_url=self._url,
                version=api.api_version,
                timeout=int(self._limits.timeout_seconds),
                tls=self._tls_config(),
                use_ssh_client=self._use_ssh_client,
            )
            stream_api.trust_env = api.trust_env
            # Seconds with nanoseconds, as the Engine API takes them (the stubs say int).
            stream = stream_api.events(  # type: ignore[call-overload]
                since=f"{since_ns // 1_000_000_000}.{since_ns % 1_000_000_000:09d}",
                until=(
                    None
                    if until_ns is None
                    else f"{until_ns // 1_000_000_000}.{until_ns % 1_000_000_000:09d}"
                ),
                filters=events.event_filters(),
                decode=True,
            )
        return events.DockerEventStream(
            stream=stream, errors=self._errors, on_close=stream_api.close
        )

    def containers(self) -> list[ContainerBrief]:
        with self._errors():
            return [events.brief(doc) for doc in self._client().containers(all=True, trunc=False)]

    def notice_details(self, container_id: str, *, lines: int) -> NoticeDetails:
        with self._errors():
            return events.notice_details(self._client(), container_id, lines=lines)

    def _errors(self) -> Any:
        return engine_errors(engine=self._name, location=self._url)

    def _client(self) -> docker.APIClient:
        with self._lock:
            if self._api is not None:
                return self._api
        # Negotiating the API version is a network call: make it outside the lock, so that
        # a stalled engine does not queue every request behind one attempt.
        api = GuardedAPIClient(
            base_url=self._url,
            version="auto",
            timeout=int(self._limits.timeout_seconds),
            tls=self._tls_config(),
            use_ssh_client=self._use_ssh_client,
        )
        if not self._url.startswith(("tcp://", "http://", "https://")):
            # requests scans the whole environment for proxy settings on every call, which
            # cannot apply to a local socket: a measurable cost on every engine request.
            api.trust_env = False
        with self._lock:
            if self._api is None:
                self._api = api
                return api
        api.close()  # another request connected first
        return self._api

    def _tls_config(self) -> docker.tls.TLSConfig | bool:
        if self._tls is None:
            return False
        cert = None
        if self._tls.client_cert and self._tls.client_key:
            cert = (str(self._tls.client_cert), str(self._tls.client_key))
        return docker.tls.TLSConfig(
            client_cert=cert,
            ca_cert=str(self._tls.ca_cert) if self._tls.ca_cert else None,
            verify=self._tls.verify,
        )

    # -- listings ---------------------------------------------------------------------------

    def _ps(self, op: operations.ListContainers) -> results.ContainerList:
        return listings.container_list(
            self._client(), op, environments=self._environments, inspect=self._inspected
        )

    def _inspected(self, container_id: str) -> dict[str, Any] | None:
        """A container's inspect document; None if it cannot be read (removed meanwhile)."""
        try:
            doc: dict[str, Any] = self._client().inspect_container(container_id)
        except (docker.errors.APIError, requests.exceptions.RequestException):
            return None
        return doc

    def _images(self, op: operations.ListImages) -> results.ImageList:
        return listings.image_list(self._client(), op)

    # -- pull -------------------------------------------------------------------------------

    def _pull(self, op: operations.Pull, progress: ProgressCallback | None) -> results.PullResult:
        image = op.image
        reference = image.repository if op.all_tags else image.familiar()
        digest: str | None = None
        up_to_date = False
        for event in pulls.pull_events(
            self._client(),
            image,
            all_tags=op.all_tags,
            platform=op.platform,
            auth_config=self._registry_auth.for_reference(reference),
        ):
            status = str(event.get("status", ""))
            if status.startswith("Digest: "):
                digest = status.removeprefix("Digest: ").strip()
            elif "Image is up to date" in status:
                up_to_date = True
            layer = pulls.progress_of(event)
            if progress is not None and layer is not None:
                progress(layer)
        if op.all_tags:
            return results.PullResult(
                reference=reference,
                image_id=None,
                digest=None,
                size=None,
                up_to_date=up_to_date,
                quiet=op.quiet,
            )
        doc = self._client().inspect_image(image.familiar())
        return results.PullResult(
            reference=reference,
            image_id=doc.get("Id"),
            digest=digest,
            size=doc.get("Size"),
            up_to_date=up_to_date,
            tags=tuple(doc.get("RepoTags") or ()),
            quiet=op.quiet,
        )

    # -- run --------------------------------------------------------------------------------

    def _run(
        self, op: operations.RunContainer, progress: ProgressCallback | None
    ) -> results.RunResult:
        api = self._client()
        try:
            created = self._create(op)
        except docker.errors.ImageNotFound:
            # Like the Docker CLI: pull a missing image, then create again.
            self._pull(operations.Pull(image=op.image, quiet=True), progress)
            created = self._create(op)
        container_id = created["Id"]
        doc = api.inspect_container(container_id)
        labels = (doc.get("Config") or {}).get("Labels")
        if is_protected(labels):
            # Labels come from the image too: nobody may make a container chat cannot manage.
            self._discard(container_id)
            raise Protected(
                f"Not allowed: image `{op.image.familiar()}` carries the label "
                "chatops.protected, which only the deployment may set; the container was removed."
            )
        inherited = self._protection.inherited_reserved(labels, given=(k for k, _ in op.labels))
        if inherited:
            self._discard(container_id)
            shown = ", ".join(f"`{key}`" for key in inherited)
            raise AccessDenied(
                f"Not allowed: image `{op.image.familiar()}` carries labels reserved for the bot "
                f"({shown}); the container was removed. An admin may set them with -l."
            )
        name = mapping.generated_name(op, doc)
        if op.auto_remove and not op.detach:
            return self._run_removed(op, container_id, name)
        self._start(container_id)
        if op.detach:
            return results.RunResult(container_id=container_id, name=name, detached=True)
        return self._wait_for(op, container_id, name)

    def _start(self, container_id: str) -> None:
        try:
            self._client().start(container_id)
        except docker.errors.APIError as err:
            # Leave no half-made container behind: it would hold the name and block a retry.
            self._discard(container_id)
            error = start_error(api_error(err))
            raise type(error)(f"The container could not start and was removed: {error}") from None

    def _run_removed(
        self, op: operations.RunContainer, container_id: str, name: str
    ) -> results.RunResult:
        """``run --rm`` as the Docker CLI does it: the engine removes the container when it
        exits (AutoRemove), even if the bot stopped waiting first. Its exit code then reaches
        only a wait registered before the start, and its output only an attach: both are set
        up before the container starts."""
        api = self._client()
        limit = self._limits.run_wait_seconds
        # docker-py's wait() blocks until the body; the daemon sends the headers as soon as
        # the wait is registered, so a streamed POST (docker-py's own helpers, untyped)
        # returns exactly then.
        raw: Any = api
        waiting: Any = None
        try:
            # Read now: the container may be gone by the time its output is shown.
            secrets = events.secret_values(api.inspect_container(container_id))
            waiting = raw._post(
                raw._url("/containers/{0}/wait", container_id),
                params={"condition": "removed"},
                stream=True,
                timeout=math.ceil(limit),
            )
            raw._raise_for_status(waiting)
            attached = api.attach(container_id, stdout=True, stderr=True, stream=True, logs=True)
        except BaseException:
            # Never started, so AutoRemove will not remove it: it would hold the name.
            if waiting is not None:
                waiting.close()
            self._discard(container_id)
            raise
        status: dict[str, Any] | None = None
        try:
            output = _OutputTail(attached, lines=self._limits.run_output_lines, secrets=secrets)
            try:
                self._start(container_id)
                status = _read_wait(waiting)
            finally:
                # After an exit the attach ends by itself; after a timeout it is cut.
                text, truncated = output.close(wait=status is not None)
        finally:
            waiting.close()
        if status is None:
            return results.RunResult(
                container_id=container_id,
                name=name,
                detached=False,
                output=text,
                output_truncated=truncated,
                timed_out_after=limit,
                removed=False,
                removes_on_exit=True,
            )
        return results.RunResult(
            container_id=container_id,
            name=name,
            detached=False,
            exit_code=int(status.get("StatusCode", -1)),
            output=text,
            output_truncated=truncated,
            removed=True,
        )

    def _create(self, op: operations.RunContainer) -> Any:
        api = self._client()
        op = check_run_targets(api, op, self._protection, volume_allowlist=self._volume_allowlist)
        binds, host_mounts, anonymous = mapping.binds_and_volumes(op.volumes)
        bindings = mapping.port_bindings(op.ports)
        restart: dict[str, Any] | None = None
        if op.restart is not None:
            restart = {"Name": op.restart.name.value}
            if op.restart.maximum_retry_count:
                restart["MaximumRetryCount"] = op.restart.maximum_retry_count
        host_config = api.create_host_config(
            port_bindings=bindings or None,
            binds=binds or None,
            mounts=host_mounts or None,
            restart_policy=restart,
            mem_limit=op.memory_bytes,
            nano_cpus=op.nano_cpus,
            pids_limit=op.pids_limit,
            network_mode=op.network,
            privileged=op.privileged,
            cap_add=list(op.cap_add) or None,
            cap_drop=list(op.cap_drop) or None,
            pid_mode=op.pid_mode,
            ipc_mode=op.ipc_mode,
            uts_mode=op.uts_mode,
            userns_mode=op.userns_mode,
            devices=list(op.devices) or None,
            security_opt=list(op.security_opt) or None,
            # Without -d the bot waits, reads the output, then removes the container itself.
            auto_remove=op.auto_remove,
        )
        container_ports = mapping.exposed_ports(op.ports)
        return api.create_container(
            image=op.image.familiar(),
            command=list(op.command) or None,
            name=op.name,
            environment=[f"{key}={value}" for key, value in op.env] or None,
            labels=dict(op.labels) or None,
            ports=container_ports or None,
            volumes=anonymous or None,
            working_dir=op.workdir,
            user=op.user,
            # The Docker CLI takes --entrypoint as one word; "" clears the image's.
            entrypoint=[op.entrypoint] if op.entrypoint is not None else None,
            hostname=op.hostname,
            host_config=host_config,
        )

    def _wait_for(
        self, op: operations.RunContainer, container_id: str, name: str
    ) -> results.RunResult:
        api = self._client()
        try:
            status = api.wait(container_id, timeout=math.ceil(self._limits.run_wait_seconds))
        except requests.exceptions.ConnectionError as err:
            if "timed out" not in str(err).lower():
                raise
            status = None
        except requests.exceptions.Timeout:
            status = None
        output, truncated = self._tail(container_id, self._limits.run_output_lines)
        if status is None:
            return results.RunResult(
                container_id=container_id,
                name=name,
                detached=False,
                output=output,
                output_truncated=truncated,
                timed_out_after=self._limits.run_wait_seconds,
            )
        return results.RunResult(
            container_id=container_id,
            name=name,
            detached=False,
            exit_code=int(status.get("StatusCode", -1)),
            output=output,
            output_truncated=truncated,
        )

    def _discard(self, container_id: str) -> None:
        # Best effort: the caller reports the original problem.
        with contextlib.suppress(docker.errors.APIError, requests.exceptions.RequestException):
            self._client().remove_container(container_id, force=True, v=True)

    def _tail(
        self, container: str, lines: int, *, doc: dict[str, Any] | None = None, **options: Any
    ) -> tuple[str, bool]:
        """The container's last ``lines`` of output, redacted (its environment values and
        secret shapes) before it is cut to the size limit. ``doc``: its inspect document, if
        the caller has just read it (else it is read here)."""
        api = self._client()
        secrets = events.secret_values(doc if doc is not None else api.inspect_container(container))
        raw = api.logs(container, stdout=True, stderr=True, tail=lines, **options)
        data = raw if isinstance(raw, bytes) else b"".join(raw)
        truncated = data.count(b"\n") >= lines or len(data) > _LOG_BYTES_LIMIT
        return redaction.redacted_tail(data, _LOG_BYTES_LIMIT, secrets), truncated

    # -- container actions --------------------------------------------------------------------

    def _change(self, op: operations.ChangeContainers) -> results.ActionResult:
        api = self._client()
        calls = {
            operations.ContainerAction.REMOVE: lambda c: api.remove_container(
                c, v=op.volumes, force=op.force
            ),
            operations.ContainerAction.START: lambda c: api.start(c),
            operations.ContainerAction.STOP: lambda c: api.stop(c, **self._stop_timeout(op)),
            operations.ContainerAction.RESTART: lambda c: api.restart(c, **self._stop_timeout(op)),
            operations.ContainerAction.PAUSE: lambda c: api.pause(c),
            operations.ContainerAction.UNPAUSE: lambda c: api.unpause(c),
        }
        call = calls[op.action]
        # Every target is checked before any is acted on, and acted on by its checked ID (one
        # missing then is missing, even if something took its name since).
        ids = checked_ids(api, op.containers, self._protection)

        def act(target: str) -> Any:
            if target not in ids:
                raise NotFound(f"No such container: {target}")
            return call(ids[target])

        return self._each(op.action.value, op.containers, act)

    @staticmethod
    def _stop_timeout(op: operations.ChangeContainers) -> dict[str, int]:
        return {} if op.timeout is None else {"timeout": op.timeout}

    def _each(self, action: str, targets: tuple[str, ...], call: Any) -> results.ActionResult:
        """Apply ``call`` to each target, carrying on past failures like the Docker CLI.

        With a single target, its failure is raised as the error itself.
        """
        outcomes: list[results.TargetOutcome] = []
        details: list[str] = []
        for target in targets:
            try:
                with self._errors():
                    answer = call(target)
            except EngineError as err:
                if len(targets) == 1:
                    raise
                outcomes.append(results.TargetOutcome(target=target, ok=False, detail=str(err)))
                continue
            for entry in answer if isinstance(answer, list) else ():
                details.extend(f"{key}: {value}" for key, value in entry.items())
            outcomes.append(results.TargetOutcome(target=target, ok=True))
        return results.ActionResult(action=action, outcomes=tuple(outcomes), details=tuple(details))

    def _rmi(self, op: operations.RemoveImages) -> results.ActionResult:
        api = self._client()
        return self._each(
            "rmi",
            op.images,
            lambda image: api.remove_image(image, force=op.force, noprune=op.no_prune),
        )

    # -- logs, inspect, prune -----------------------------------------------------------------

    def _logs(self, op: operations.ShowLogs) -> results.LogsResult:
        limit = self._limits.logs_max_lines
        lines = limit if op.tail is None else min(op.tail, limit)
        options: dict[str, Any] = {"timestamps": op.timestamps}
        if op.since is not None:
            # A float keeps sub-second precision (a datetime is truncated to whole seconds).
            options["since"] = op.since.timestamp()
        doc = checked_container(self._client(), op.container, self._protection)
        text, truncated = self._tail(doc["Id"], lines, doc=doc, **options)
        bounded = truncated and (op.tail is None or op.tail > limit)
        return results.LogsResult(container=op.container, text=text, truncated=bounded)

    def _inspect(self, op: operations.Inspect) -> results.InspectResult:
        items: list[results.InspectItem] = []
        missing: list[str] = []
        for target in op.targets:
            item = self._inspect_one(target, op.type)
            if item is None:
                missing.append(target)
            else:
                items.append(item)
        if not items:
            what = {
                operations.InspectType.CONTAINER: "container",
                operations.InspectType.IMAGE: "image",
            }.get(op.type, "container or image")
            raise NotFound(f"No such {what}: {', '.join(missing)}")
        return results.InspectResult(items=tuple(items), missing=tuple(missing))

    def _inspect_one(self, target: str, kind: operations.InspectType) -> results.InspectItem | None:
        api = self._client()
        if kind in (operations.InspectType.ANY, operations.InspectType.CONTAINER):
            try:
                return mapping.container_item(checked_container(api, target, self._protection))
            except docker.errors.NotFound:
                pass
        if kind in (operations.InspectType.ANY, operations.InspectType.IMAGE):
            try:
                return mapping.image_item(api.inspect_image(target))
            except docker.errors.NotFound:
                pass
        return None

    def _prune_containers(self, op: operations.PruneContainers) -> results.PruneResult:
        """The stopped containers the filters select, protected ones left out, removed one by
        one by ID: the engine's own prune would take protected ones too (a ``label!`` filter
        added to the user's is and-ed with theirs, not or-ed)."""
        api = self._client()
        plan = planning.make_plan(api, op, self._cleanup_rules, protection=self._protection)
        deleted: list[str] = []
        reclaimed = 0
        for item in plan.items:
            try:
                api.remove_container(item.id)
            except docker.errors.APIError:
                continue  # started or removed since the listing: the engine's prune skips it too
            deleted.append(item.id)
            reclaimed += item.size
        return results.PruneResult(
            kind=ObjectKind.CONTAINER, deleted=tuple(deleted), space_reclaimed=reclaimed
        )

    def _prune_images(self, op: operations.PruneImages) -> results.PruneResult:
        filters = operations.filters_as_dict(op.filters)
        if op.all:
            filters["dangling"] = ["false"]
        answer = self._client().prune_images(filters=filters or None)
        deleted = [
            value
            for entry in answer.get("ImagesDeleted") or ()
            for key, value in entry.items()
            if key == "Deleted"
        ]
        return results.PruneResult(
            kind=ObjectKind.IMAGE,
            deleted=tuple(deleted),
            space_reclaimed=int(answer.get("SpaceReclaimed") or 0),
        )

    # -- diagnostics --------------------------------------------------------------------------

    def _stats(self, op: operations.ShowStats) -> results.StatsResult:
        """One snapshot per container, sampled concurrently within a deadline.

        Where the engine offers one-shot stats (API 1.41), each container is read twice, a
        second apart, and CPU % is computed between the two reads: the plain non-streaming
        call waits one to two seconds per container for the engine's own second sample.
        """
        api = self._client()
        limits = self._limits
        targets, left_out = self._stats_targets(op)
        if not targets:
            return results.StatsResult(rows=(), no_trunc=op.no_trunc, left_out=left_out)
        one_shot = docker.utils.version_gte(api.api_version, "1.41")
        deadline = time.monotonic() + limits.stats_deadline_seconds
        pool = ThreadPoolExecutor(max_workers=min(limits.stats_workers, len(targets)))
        try:
            started = time.monotonic()
            first = self._stats_round(pool, targets, one_shot, deadline, named=bool(op.containers))
            second: dict[str, dict[str, Any] | None] = {}
            if one_shot and first:
                # The interval CPU % is measured over (production pacing, not a test's wait).
                pause = started + limits.stats_interval_seconds - time.monotonic()
                time.sleep(max(0.0, min(pause, deadline - time.monotonic())))
                again = [target for target in targets if first.get(target[0]) is not None]
                second = self._stats_round(pool, again, one_shot, deadline, named=False)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        rows: list[results.StatsRow] = []
        for ident, name in targets:
            if (ident in first and first[ident] is None) or second.get(ident, {}) is None:
                continue  # removed between the listing and its sample
            doc = first.get(ident)
            if one_shot and doc is not None:
                later = second.get(ident)
                doc = None if later is None else {**later, "precpu_stats": doc.get("cpu_stats")}
            if doc is None:  # not answered before the deadline
                rows.append(results.StatsRow(id=ident, name=name, sampled=False))
            else:
                rows.append(mapping.stats_row(doc, fallback_id=ident, fallback_name=name))
        return results.StatsResult(rows=tuple(rows), no_trunc=op.no_trunc, left_out=left_out)

    def _stats_targets(self, op: operations.ShowStats) -> tuple[list[tuple[str, str]], int]:
        """(key, name) of the containers to sample, and how many were left out by the cap."""
        cap = self._limits.stats_max_containers
        if op.containers:
            named = op.containers[:cap]
            ids = checked_ids(self._client(), named, self._protection)
            missing = [name for name in named if name not in ids]
            if missing:  # as the Docker CLI: a named container that is not there fails it
                raise NotFound(f"No such container: {', '.join(missing)}")
            return [(ids[name], name) for name in named], max(0, len(op.containers) - cap)
        docs = [
            doc
            for doc in self._client().containers(all=op.all, trunc=False)
            if listable(doc, self._protection)
        ]
        targets = [(str(doc["Id"]), str((doc.get("Names") or [""])[0]).lstrip("/")) for doc in docs]
        return targets[:cap], max(0, len(targets) - cap)

    def _stats_round(
        self,
        pool: ThreadPoolExecutor,
        targets: list[tuple[str, str]],
        one_shot: bool,
        deadline: float,
        *,
        named: bool,
    ) -> dict[str, dict[str, Any] | None]:
        """key -> stats document (None: the container is gone), for those answered before
        ``deadline``. A container the user named that does not exist fails the request, as
        in the Docker CLI; one that went away after the listing is only left out."""
        api = self._client()
        options: dict[str, Any] = {"stream": False}
        if one_shot:
            options["one_shot"] = True
        futures: dict[Future[Any], str] = {
            pool.submit(api.stats, ident, **options): ident for ident, _ in targets
        }
        done, _ = wait(futures, timeout=max(0.0, deadline - time.monotonic()))
        answers: dict[str, dict[str, Any] | None] = {}
        for future in done:
            error = future.exception()
            if error is None:
                answers[futures[future]] = future.result()
            elif named or not went_away(api, futures[future], error):
                raise error
            else:
                answers[futures[future]] = None
        return answers

    def _top(self, op: operations.ShowTop) -> results.TopResult:
        api = self._client()
        checked = checked_container(api, op.container, self._protection)
        answer = api.top(checked["Id"])
        # A process's command line often holds an expanded secret: the container's own
        # environment values are redacted from it, as from its logs in notices.
        secrets = events.secret_values(checked)
        titles = tuple(str(title)[:200] for title in answer.get("Titles") or ())
        processes = tuple(
            tuple(events.redact_values(str(cell), secrets) for cell in process)
            for process in (answer.get("Processes") or ())[:_TOP_PROCESSES]
        )
        return results.TopResult(container=op.container, titles=titles, processes=processes)

    def _port(self, op: operations.ShowPorts) -> results.PortList:
        ports = mapping.published_ports(
            checked_container(self._client(), op.container, self._protection)
        )
        if op.private_port is None:
            return results.PortList(container=op.container, ports=ports)
        chosen = tuple(
            p
            for p in ports
            if p.container_port == op.private_port and p.protocol == op.protocol.value
        )
        if not chosen:
            raise NotFound(
                f"No public port '{op.private_port}/{op.protocol.value}' published for "
                f"{op.container}"
            )
        return results.PortList(container=op.container, ports=chosen, selected=True)

    def _swarm_services(self) -> swarm.SwarmServices:
        # A service's monitor period is the upgrades' settle: how long new tasks must hold.
        return swarm.SwarmServices(
            api=self._client(), monitor=self._upgrade_settle, registry_auth=self._registry_auth
        )

    def _swarm_read(self, read: Callable[[swarm.SwarmServices], _T]) -> _T:
        try:
            return read(self._swarm_services())
        except docker.errors.APIError as err:
            if err.status_code == 503:  # "This node is not a swarm manager"
                raise swarm.not_a_manager(self._name) from None
            raise

    def _service_logs(self, op: operations.ShowServiceLogs) -> results.LogsResult:
        doc = swarm.inspect_service(self._client(), op.service, engine=self._name)
        env = ((doc["Spec"].get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Env")
        tail = min(op.tail, self._limits.logs_max_lines)
        text = self._swarm_read(
            lambda s: s.logs(
                op.service,
                tail=tail,
                limit=MAX_SERVICE_LOG_CHARACTERS,
                secrets=redaction.secret_values(env or ()),
            )
        )
        return results.LogsResult(container=str(doc["Spec"]["Name"]), text=text)

    def _updates(self) -> results.UpdateList:
        api = self._client()
        running = []
        for doc in api.containers():
            if listable(doc, self._protection):
                with contextlib.suppress(docker.errors.NotFound):  # gone since the listing
                    running.append(api.inspect_container(doc["Id"]))
        images = {}
        for doc in running:
            with contextlib.suppress(docker.errors.NotFound):
                images[doc["Image"]] = api.inspect_image(doc["Image"])
        found = updates.check_updates(
            containers=running,
            images=images,
            read_digest=updates.engine_digest_reader(api, self._registry_auth),
            budget=self._limits.timeout_seconds,
        )
        rows = tuple(
            results.UpdateRow(
                container=u.name,
                reference=u.reference,
                current_digest=u.current_digest,
                available_digest=u.available_digest,
                current_created=u.current_created,
                container_id=u.container_id,
            )
            for u in found.updates
        )
        return results.UpdateList(rows=rows, failures=found.failures, checked=found.checked)

    def _volumes(self, op: operations.ListVolumes) -> results.VolumeList:
        answer = self._client().volumes(filters=operations.filters_as_dict(op.filters) or None)
        rows = sorted(
            (mapping.volume_row(doc) for doc in answer.get("Volumes") or ()),
            key=lambda row: row.name,
        )
        return results.VolumeList(rows=tuple(rows), quiet=op.quiet)

    def _networks(self, op: operations.ListNetworks) -> results.NetworkList:
        docs = self._client().networks(filters=operations.filters_as_dict(op.filters) or None)
        rows = sorted((mapping.network_row(doc) for doc in docs), key=lambda row: row.name)
        return results.NetworkList(rows=tuple(rows), quiet=op.quiet, no_trunc=op.no_trunc)

    def _events(self, op: operations.ShowEvents) -> results.EventList:
        """Past events in a window that ends no later than the engine's now: the engine closes
        the stream once it has sent them, so this always ends (or times out)."""
        api = self._client()
        now_ns = events.engine_time_ns(api)
        since_ns = now_ns - round(op.since.total_seconds()) * 1_000_000_000
        until_ns = now_ns - round(op.until.total_seconds()) * 1_000_000_000
        stream = api.events(  # type: ignore[call-overload]
            since=_api_time(since_ns),
            until=_api_time(until_ns),
            filters=operations.filters_as_dict(op.filters) or None,
            decode=True,
        )
        kept: deque[results.EngineEvent] = deque(maxlen=self._limits.events_shown)
        read = 0
        stopped = False
        # docker-py reads events with no timeout: a stalled engine (or a half-open connection)
        # would hold this worker for good. The stream is cut at the deadline instead.
        cut = threading.Event()

        def cut_stream() -> None:
            cut.set()
            _close_quietly(stream)

        watchdog = threading.Timer(self._limits.events_deadline_seconds, cut_stream)
        watchdog.daemon = True
        watchdog.start()
        try:
            for doc in stream:
                if not isinstance(doc, dict):
                    continue
                read += 1
                kept.append(mapping.engine_event(doc))
                if read >= self._limits.events_read:
                    stopped = True
                    break
        except Exception:
            if not cut.is_set():
                raise
        finally:
            watchdog.cancel()
            _close_quietly(stream)
        stopped = stopped or cut.is_set()  # cut at the deadline: what was read stands
        return results.EventList(
            events=tuple(kept),
            since=_utc(since_ns),
            until=_utc(until_ns),
            left_out=read - len(kept),
            stopped_early=stopped,
        )


def _api_time(time_ns: int) -> str:
    """Seconds with nanoseconds, as the Engine API takes them."""
    return f"{time_ns // 1_000_000_000}.{time_ns % 1_000_000_000:09d}"


def _utc(time_ns: int) -> datetime:
    return datetime.fromtimestamp(time_ns / 1_000_000_000, tz=UTC)


def _read_wait(response: requests.Response) -> dict[str, Any] | None:
    """The body of a wait (``{"StatusCode": N}``), or None if it did not come in time."""
    try:
        body = response.json()
    except requests.exceptions.Timeout:
        return None
    except requests.exceptions.ConnectionError as err:
        if "timed out" not in str(err).lower():
            raise
        return None
    return body if isinstance(body, dict) else None


def start_error(error: EngineError) -> EngineError:
    """A start refused because of the container's command, as the Docker CLI tells it apart
    (exit status 127: not found; 126: found but not runnable)."""
    text = str(error)
    if any(words in text for words in _NOT_FOUND_WORDS):
        return CommandNotFound(text)
    if any(words in text for words in _NOT_RUNNABLE_WORDS):
        return CommandNotRunnable(text)
    return error


_NOT_FOUND_WORDS = ("executable file not found", "no such file or directory")
_NOT_RUNNABLE_WORDS = ("permission denied", "is a directory")


class _OutputTail:
    """The last lines of a container's attached output, read on a thread of its own."""

    def __init__(self, stream: Any, *, lines: int, secrets: list[str]) -> None:
        self._stream = stream
        self._lines = lines
        self._secrets = secrets
        # Kept beyond the limit: a secret the limit would cut is redacted whole first.
        self._keep = _LOG_BYTES_LIMIT + redaction.TAIL_MARGIN + max(map(len, secrets), default=0)
        self._data = bytearray()
        self._cut = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, name="run-output", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for chunk in self._stream:
                with self._lock:
                    self._data += chunk
                    if len(self._data) > self._keep:
                        del self._data[: len(self._data) - self._keep]
                        self._cut = True
        except Exception:  # a cut stream ends the output; what was read stands
            return

    def close(self, *, wait: bool) -> tuple[str, bool]:
        """The output so far (text, whether it was cut); ``wait``: the container exited, so
        let the stream drain (briefly) first."""
        if wait:
            self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self._stream.close()
        with self._lock:
            data, cut = bytes(self._data), self._cut
        text = redaction.redacted_tail(data, _LOG_BYTES_LIMIT, self._secrets, cut=cut)
        cut = cut or len(data) > _LOG_BYTES_LIMIT
        kept = text.splitlines(keepends=True)
        if len(kept) > self._lines:
            kept, cut = kept[-self._lines :], True
        return "".join(kept), cut


def _close_quietly(stream: Any) -> None:
    with contextlib.suppress(Exception):
        stream.close()


def went_away(api: docker.APIClient, ident: str, error: BaseException) -> bool:
    """Did reading ``ident``'s stats fail because it went away? The engine answers 404 when it
    was gone before the read, but cuts the answer short (a connection error) when it goes
    during one: asked again, a container that is gone is a 404."""
    if isinstance(error, docker.errors.NotFound):
        return True
    try:
        api.inspect_container(ident)
    except docker.errors.NotFound:
        return True
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        return False
    return False
