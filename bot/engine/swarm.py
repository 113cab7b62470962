"""Swarm services on a manager engine: list, tasks, logs, and changes the engine carries out as
rolling updates with automatic rollback, followed to their end.

An image update asks the engine for ``UpdateConfig.FailureAction = "rollback"`` with a monitor
period, so a new task that fails within it makes the engine go back by itself; the bot only
follows ``UpdateStatus.State`` (``updating`` -> ``completed``, or ``rollback_started`` ->
``rollback_completed``, or ``paused``) and tells the failed tasks' errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import docker
import docker.auth
import docker.errors
import requests

from bot.core.plans import ObjectKind, Plan, PlanItem
from bot.core.protection import is_protected
from bot.core.redaction import redacted_tail
from bot.core.results import ActionResult, TargetOutcome
from bot.core.services import ServiceChange, ServiceRow, TaskRow, UpdateEnd
from bot.engine.registry_auth import NO_REGISTRY_AUTH, RegistryAuth
from bot.errors import Conflict, NotFound, PlanChanged, Protected

_NS = 1_000_000_000
_FINAL = {
    "completed": UpdateEnd.COMPLETED,
    "rollback_completed": UpdateEnd.ROLLED_BACK,
    "paused": UpdateEnd.PAUSED,
    "rollback_paused": UpdateEnd.PAUSED,
}


class SwarmServices:
    """The services of one swarm manager engine; ``clock``/``sleep`` pace the following."""

    def __init__(
        self,
        *,
        api: docker.APIClient,
        monitor: float = 30.0,
        follow_for: float = 600.0,
        poll: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        registry_auth: RegistryAuth = NO_REGISTRY_AUTH,
    ) -> None:
        """``registry_auth``: the login sent with an update to a new image, which the swarm
        hands to the nodes that pull it (as ``docker service update --with-registry-auth``)."""
        self._api = api
        self._registry_auth = registry_auth
        self._monitor = monitor
        self._follow_for = follow_for
        self._poll = poll
        self._clock = clock
        self._sleep = sleep

    def is_manager(self) -> bool:
        info = self._api.info()
        swarm = info.get("Swarm") or {}
        return bool(swarm.get("ControlAvailable"))

    def services(self) -> tuple[ServiceRow, ...]:
        rows = []
        for doc in self._api.services(status=True):
            spec = doc["Spec"]
            status = doc.get("ServiceStatus") or {}
            mode = "global" if "Global" in spec.get("Mode", {}) else "replicated"
            ports = ", ".join(
                f"*:{p.get('PublishedPort')}->{p.get('TargetPort')}/{p.get('Protocol', 'tcp')}"
                for p in (doc.get("Endpoint") or {}).get("Ports") or ()
            )
            rows.append(
                ServiceRow(
                    id=str(doc["ID"]),
                    name=str(spec["Name"]),
                    mode=mode,
                    running=int(status.get("RunningTasks") or 0),
                    desired=int(status.get("DesiredTasks") or 0),
                    image=_image(spec),
                    ports=ports,
                    update_state=(doc.get("UpdateStatus") or {}).get("State"),
                )
            )
        return tuple(sorted(rows, key=lambda row: row.name))

    def tasks(self, service: str) -> tuple[TaskRow, ...]:
        doc = self._api.inspect_service(service)
        name = str(doc["Spec"]["Name"])
        nodes = {str(n["ID"]): str(n["Description"]["Hostname"]) for n in self._api.nodes()}
        rows = []
        tasks = self._api.tasks(filters={"service": doc["ID"]})
        tasks.sort(key=lambda t: (t.get("Slot") or 0, t.get("CreatedAt", "")), reverse=True)
        tasks.sort(key=lambda t: t.get("Slot") or 0)
        for task in tasks:
            status = task.get("Status") or {}
            node = nodes.get(str(task.get("NodeID")), str(task.get("NodeID") or ""))
            slot = task.get("Slot")
            rows.append(
                TaskRow(
                    id=str(task["ID"]),
                    name=f"{name}.{slot}" if slot else f"{name}.{node}",
                    image=_image({"TaskTemplate": task.get("Spec") or {}}),
                    node=node,
                    desired_state=str(task.get("DesiredState") or ""),
                    current_state=str(status.get("State") or ""),
                    error=_task_error(status),
                )
            )
        return tuple(rows)

    def logs(self, service: str, *, tail: int, limit: int, secrets: tuple[str, ...] = ()) -> str:
        """The service's last ``tail`` lines, at most ``limit`` characters, redacted."""
        chunks = self._api.service_logs(service, stdout=True, stderr=True, tail=str(tail))
        text = b"".join(chunks)
        return redacted_tail(text, limit, secrets)

    def update_image(self, service: str, image: str) -> ServiceChange:
        """A rolling update to ``image`` that the engine rolls back if a new task fails."""
        doc = self._api.inspect_service(service)
        spec = doc["Spec"]
        template = dict(spec["TaskTemplate"])
        template["ContainerSpec"] = {**template.get("ContainerSpec", {}), "Image": image}
        update = dict(spec.get("UpdateConfig") or {})
        update.update(FailureAction="rollback", Monitor=int(self._monitor * _NS))
        update.setdefault("Parallelism", 1)
        body = {**spec, "TaskTemplate": template, "UpdateConfig": update}
        body.setdefault("RollbackConfig", {"Parallelism": 1, "Monitor": int(self._monitor * _NS)})
        self._post_update(doc, body, login=self._login(image))
        return self._follow(doc, "update")

    def scale(self, service: str, replicas: int) -> ServiceChange:
        doc = self._api.inspect_service(service)
        spec = doc["Spec"]
        if "Replicated" not in spec.get("Mode", {}):
            raise Conflict(f"{spec['Name']} is a global service: it runs one task per node.")
        body = {**spec, "Mode": {"Replicated": {"Replicas": replicas}}}
        self._post_update(doc, body)
        deadline = self._clock() + self._follow_for
        while True:
            tasks = self._api.tasks(filters={"service": doc["ID"], "desired-state": "running"})
            running = len([t for t in tasks if (t.get("Status") or {}).get("State") == "running"])
            if running == replicas:
                end = UpdateEnd.COMPLETED
                break
            if self._clock() >= deadline:
                end = UpdateEnd.TIMED_OUT
                break
            self._sleep(self._poll)
        return ServiceChange(
            service=str(spec["Name"]),
            action="scale",
            end=end,
            image=_image(spec),
            replicas=replicas,
            message=f"{running}/{replicas} running",
        )

    def rollback(self, service: str) -> ServiceChange:
        """Back to the service's previous spec, as ``docker service rollback`` asks."""
        doc = self._api.inspect_service(service)
        if not doc.get("PreviousSpec"):
            raise Conflict(f"{doc['Spec']['Name']} has no previous version to go back to.")
        self._post_update(doc, doc["Spec"], rollback=True)
        return self._follow(doc, "rollback")

    # --- Following ------------------------------------------------------------------------

    def _login(self, image: str) -> str | None:
        """The X-Registry-Auth header for ``image``: the bot's [registries] login, else the
        client's own (docker login's), else none."""
        login = self._registry_auth.for_reference(image)
        if login is not None:
            header: bytes | str | None = docker.auth.encode_header(login) if login else None
        else:
            registry, _ = docker.auth.resolve_repository_name(image)
            header = docker.auth.get_config_header(self._api, registry)
        if isinstance(header, bytes):  # docker-py encodes it as base64 bytes
            return header.decode("ascii")
        return header or None

    def _post_update(
        self,
        doc: dict[str, Any],
        body: dict[str, Any],
        *,
        rollback: bool = False,
        login: str | None = None,
    ) -> None:
        params: dict[str, Any] = {"version": doc["Version"]["Index"]}
        if rollback:
            params["rollback"] = "previous"
        # docker-py's update_service sends no ``rollback``: the update is posted as it would.
        url = f"{self._api.base_url}/v{self._api.api_version}/services/{doc['ID']}/update"
        headers = {"X-Registry-Auth": login} if login else None
        response = self._api.post(url, json=body, params=params, headers=headers)
        try:
            response.raise_for_status()
        except requests.HTTPError as err:
            raise docker.errors.create_api_error_from_http_exception(err) from err

    def _follow(self, before: dict[str, Any], action: str) -> ServiceChange:
        deadline = self._clock() + self._follow_for
        started = (before.get("UpdateStatus") or {}).get("StartedAt")
        while True:
            doc = self._api.inspect_service(before["ID"])
            status = doc.get("UpdateStatus") or {}
            fresh = status.get("StartedAt") != started
            state = str(status.get("State") or "")
            if fresh and state in _FINAL:
                end = _FINAL[state]
                break
            if self._clock() >= deadline:
                end = UpdateEnd.TIMED_OUT
                break
            self._sleep(self._poll)
        # The engine calls an update done once it has told its tasks; the answer waits
        # (within the same bound) until they run, so "completed" means serving.
        while end is not UpdateEnd.TIMED_OUT and self._clock() < deadline:
            tasks = self.tasks(before["ID"])
            if all(t.current_state == "running" for t in tasks if t.desired_state == "running"):
                break
            self._sleep(self._poll)
        errors = tuple(
            row.error
            for row in self.tasks(before["ID"])
            if row.error and row.desired_state != "running"
        )
        return ServiceChange(
            service=str(doc["Spec"]["Name"]),
            action=action,
            end=end,
            message=str(status.get("Message") or ""),
            task_errors=errors[:5],
            image=_image(doc["Spec"]),
        )


def _task_error(status: dict[str, Any]) -> str:
    """The engine's words on a failed task, or its container's exit code."""
    if status.get("Err"):
        return str(status["Err"])
    code = (status.get("ContainerStatus") or {}).get("ExitCode")
    return f"exited with code {code}" if code not in (None, 0) else ""


def _image(spec: dict[str, Any]) -> str:
    """The image a spec runs, without the digest the engine pins it by."""
    image = str(((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image") or "")
    return image.split("@", 1)[0]


# --- Plans: what a service change will do, made before anyone is asked --------------------

SERVICE_UPDATE = "service update"
SERVICE_SCALE = "service scale"
SERVICE_ROLLBACK = "service rollback"
SERVICE_ACTIONS = frozenset({SERVICE_UPDATE, SERVICE_SCALE, SERVICE_ROLLBACK})


def not_a_manager(engine: str) -> Conflict:
    return Conflict(
        f"Engine {engine} is not a swarm manager: services are listed and changed on a "
        "manager (`docker swarm init`, or name a manager's engine with -c)."
    )


def inspect_service(api: docker.APIClient, service: str, *, engine: str) -> dict[str, Any]:
    """The service's document; a protected one (label chatops.protected=true) is refused."""
    try:
        doc: dict[str, Any] = api.inspect_service(service)
    except docker.errors.NotFound:
        raise NotFound(f"No such service: {service}") from None
    except docker.errors.APIError as err:
        if err.status_code == 503:
            raise not_a_manager(engine) from None
        raise
    labels = doc["Spec"].get("Labels") or {}
    if is_protected(labels):  # as containers are: any value but an explicit no
        raise Protected(f"Not allowed: service {doc['Spec']['Name']} is protected.")
    return doc


def plan_service_change(
    api: docker.APIClient,
    *,
    action: str,
    service: str,
    engine: str,
    image: str = "",
    replicas: int = 0,
) -> Plan:
    """One service, as it is now, and what the change will make of it."""
    doc = inspect_service(api, service, engine=engine)
    spec = doc["Spec"]
    name = str(spec["Name"])
    current = _image(spec)
    if action == SERVICE_UPDATE:
        what, payload = f"{current} -> {image} (rolling; the engine rolls back a failure)", image
    elif action == SERVICE_SCALE:
        if "Replicated" not in spec.get("Mode", {}):
            raise Conflict(f"{name} is a global service: it runs one task per node.")
        now = spec["Mode"]["Replicated"].get("Replicas", 0)
        what, payload = f"{now} -> {replicas} replicas", str(replicas)
    else:
        previous = doc.get("PreviousSpec")
        if not previous:
            raise Conflict(f"{name} has no previous version to go back to.")
        what, payload = f"{current} -> {_image(previous)} (its previous spec)", "previous"
    item = PlanItem(
        kind=ObjectKind.SERVICE,
        id=str(doc["ID"]),
        target=name,
        description=f"{name}: {what}",
        # The service must still be at this version when the change runs.
        marker=f"{doc['Version']['Index']} {payload}",
    )
    return Plan(action=action, items=(item,))


def execute_service_change(
    api: docker.APIClient, plan: Plan, *, swarm: SwarmServices
) -> ActionResult:
    """Run a planned service change, followed to its end; refused whole if the service
    changed since the plan."""
    outcomes = []
    for item in plan.items:
        version, _, payload = item.marker.partition(" ")
        try:
            doc = api.inspect_service(item.id)
        except docker.errors.NotFound:
            raise PlanChanged(f"Service {item.target} is gone since the plan.") from None
        if str(doc["Version"]["Index"]) != version:
            raise PlanChanged(f"Service {item.target} changed since the plan: ask again.")
        if plan.action == SERVICE_UPDATE:
            change = swarm.update_image(item.id, payload)
        elif plan.action == SERVICE_SCALE:
            change = swarm.scale(item.id, int(payload))
        else:
            change = swarm.rollback(item.id)
        outcomes.append(_outcome(plan.action, change))
    return ActionResult(action=plan.action, outcomes=tuple(outcomes))


def _outcome(action: str, change: ServiceChange) -> TargetOutcome:
    wanted = UpdateEnd.ROLLED_BACK if action == SERVICE_ROLLBACK else UpdateEnd.COMPLETED
    ok = change.end is wanted
    parts = [f"{change.end.value}" + (f": runs {change.image}" if change.image else "")]
    if change.replicas is not None or (change.message and not ok):
        parts.append(change.message)
    if change.task_errors:
        parts.append("tasks failed: " + "; ".join(change.task_errors))
    return TargetOutcome(target=change.service, ok=ok, detail=" · ".join(parts))
