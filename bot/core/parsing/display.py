"""The command as shown and stored: rendered from the parsed operation, secrets redacted.

Acknowledgements, channel credits, approval requests, the audit log and log lines show this,
never the text as typed: whatever spelling put a secret into ``-e`` (``-deKEY=v``,
``--env=KEY=v``, after the image...), the parser knows it was an environment value, and only
its name is rendered. What is shown is also what runs: options in Docker's own order.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from datetime import UTC, timedelta
from typing import assert_never

from bot.core import operations
from bot.core.redaction import REDACTED, redact


def shown_command(operation: operations.Operation, *, engine: str | None = None) -> str:
    """``operation`` in Docker CLI spelling, without ``docker``; ``-e`` values redacted, and
    any word holding a recognisable secret (a token typed into ``sh -c '…'``, a password in
    a URL): what is shown is also stored, in approvals and the audit log."""
    words = ["-c", engine] if engine else []
    return shlex.join(words + [redact(word) for word in operation_words(operation)])


def operation_words(operation: operations.Operation) -> list[str]:
    """The words of ``operation``'s command line (environment values redacted)."""
    match operation:
        case operations.ListContainers():
            return [
                "ps",
                *_flags(operation.all, "-a"),
                *_flags(operation.quiet, "-q"),
                *_value("-n", operation.last),
                *_flags(operation.latest, "-l"),
                *_flags(operation.no_trunc, "--no-trunc"),
                *_filters(operation.filters),
            ]
        case operations.ListImages():
            return [
                "images",
                *_flags(operation.all, "-a"),
                *_flags(operation.quiet, "-q"),
                *_flags(operation.digests, "--digests"),
                *_flags(operation.no_trunc, "--no-trunc"),
                *_filters(operation.filters),
            ]
        case operations.Pull():
            return [
                "pull",
                *_flags(operation.all_tags, "-a"),
                *_value("--platform", operation.platform),
                *_flags(operation.quiet, "-q"),
                operation.image.familiar(),
            ]
        case operations.RemoveImages():
            return [
                "rmi",
                *_flags(operation.force, "-f"),
                *_flags(operation.no_prune, "--no-prune"),
                *operation.images,
            ]
        case operations.RunContainer():
            # A command that starts like an option needs `--`, or it would read as one.
            separator = ["--"] if operation.command and operation.command[0].startswith("-") else []
            return [
                "run",
                *_run_options(operation),
                operation.image.familiar(),
                *separator,
                *operation.command,
            ]
        case operations.ChangeContainers():
            return [
                operation.action.value,
                *_flags(operation.force, "-f"),
                *_flags(operation.volumes, "-v"),
                *_value("-t", operation.timeout),
                *operation.containers,
            ]
        case operations.ShowLogs():
            since = operation.since.astimezone(UTC).isoformat() if operation.since else None
            return [
                "logs",
                *_value("-n", operation.tail),
                *_value("--since", since),
                *_flags(operation.timestamps, "-t"),
                operation.container,
            ]
        case operations.Inspect():
            kind = None if operation.type is operations.InspectType.ANY else operation.type.value
            return ["inspect", *_value("--type", kind), *operation.targets]
        case operations.ShowStats():
            return [
                "stats",
                "--no-stream",
                *_flags(operation.all, "-a"),
                *_flags(operation.no_trunc, "--no-trunc"),
                *_positionals(operation.containers),
            ]
        case operations.ShowTop():
            return ["top", *_positionals((operation.container,))]
        case operations.ShowPorts():
            port = (
                ()
                if operation.private_port is None
                else (f"{operation.private_port}/{operation.protocol.value}",)
            )
            return ["port", *_positionals((operation.container, *port))]
        case operations.DiskUsage():
            return ["system", "df"]
        case operations.ListVolumes():
            return [
                "volume",
                "ls",
                *_flags(operation.quiet, "-q"),
                *_filters(operation.filters),
            ]
        case operations.RemoveVolumes():
            return [
                "volume",
                "rm",
                *_flags(operation.force, "-f"),
                *_positionals(operation.volumes),
            ]
        case operations.UpgradeContainers():
            image = ["--image", operation.image.familiar()] if operation.image else []
            return ["upgrade", *image, *_positionals(operation.containers)]
        case operations.RollbackContainer():
            return ["rollback", *_positionals((operation.container,))]
        case operations.ListUpdates():
            return ["updates"]
        case operations.ListServices():
            return ["service", "ls"]
        case operations.ShowServiceTasks():
            return ["service", "ps", *_positionals((operation.service,))]
        case operations.ShowServiceLogs():
            return [
                "service",
                "logs",
                "-n",
                str(operation.tail),
                *_positionals((operation.service,)),
            ]
        case operations.UpdateServiceImage():
            wanted = operation.image.familiar()
            return ["service", "update", "--image", wanted, *_positionals((operation.service,))]
        case operations.ScaleService():
            return [
                "service",
                "scale",
                *_positionals((f"{operation.service}={operation.replicas}",)),
            ]
        case operations.RollbackService():
            return ["service", "rollback", *_positionals((operation.service,))]
        case operations.ListNetworks():
            return [
                "network",
                "ls",
                *_flags(operation.quiet, "-q"),
                *_flags(operation.no_trunc, "--no-trunc"),
                *_filters(operation.filters),
            ]
        case operations.ShowEvents():
            return [
                "events",
                "--since",
                duration_text(operation.since),
                "--until",
                duration_text(operation.until),
                *_filters(operation.filters),
            ]
        case operations.PruneContainers():
            return ["container", "prune", "-f", *_filters(operation.filters)]
        case operations.PruneImages():
            return [
                "image",
                "prune",
                "-f",
                *_flags(operation.all, "-a"),
                *_filters(operation.filters),
            ]
        case operations.Help():
            return ["help", *([operation.topic] if operation.topic else [])]
        case operations.ListApprovals():
            return ["approvals"]
        case operations.CancelApproval():
            return ["cancel", str(operation.approval_id)]
        case operations.ShowAudit():
            return ["audit", str(operation.count)]
        case operations.SilenceContainers():
            return [
                "silence",
                *_positionals((operation.pattern,)),
                duration_text(operation.duration),
            ]
        case operations.ListSilences():
            return ["silences"]
        case operations.Unsilence():
            return ["unsilence", str(operation.silence_id)]
        case operations.Cleanup():
            return ["cleanup", *_flags(operation.dry_run, "--dry-run")]
        case operations.CleanupStatusQuery():
            return ["cleanup", "status"]
        case operations.CheckAccess():
            return ["can", operation.user_id, *operation_words(operation.asked)]
        case _:
            assert_never(operation)


def _run_options(op: operations.RunContainer) -> list[str]:
    words = [*_flags(op.detach, "-d"), *_value("--name", op.name), *_flags(op.auto_remove, "--rm")]
    words += _each("-e", [f"{key}={REDACTED}" for key, _ in op.env])
    words += _each("-l", [f"{key}={value}" for key, value in op.labels])
    words += _each("-p", [publish_spec(port) for port in op.ports])
    words += _each("-v", [volume_spec(volume) for volume in op.volumes])
    words += _value("-w", op.workdir) + _value("-u", op.user)
    words += _value("--entrypoint", op.entrypoint)
    if op.restart is not None:
        count = op.restart.maximum_retry_count
        words += [f"--restart={op.restart.name.value}" + (f":{count}" if count else "")]
    words += _value("-m", _size(op.memory_bytes))
    words += _value("--cpus", _cpus(op.nano_cpus))
    words += _value("--pids-limit", op.pids_limit)
    words += _value("-h", op.hostname) + _value("--network", op.network)
    words += _flags(op.privileged, "--privileged")
    words += _each("--cap-add", op.cap_add) + _each("--cap-drop", op.cap_drop)
    for option, mode in (
        ("--pid", op.pid_mode),
        ("--ipc", op.ipc_mode),
        ("--uts", op.uts_mode),
        ("--userns", op.userns_mode),
    ):
        words += _value(option, mode)
    return words + _each("--device", op.devices) + _each("--security-opt", op.security_opt)


def publish_spec(port: operations.PortMapping) -> str:
    """``-p`` in Docker's spelling: ``127.0.0.1:8080:80``, ``[::1]::80/udp``."""
    ip = port.host_ip or ""
    if ":" in ip:
        ip = f"[{ip}]"
    host = port.host_port_text() or ""
    container = str(port.container_port)
    if port.container_port_end is not None:
        container += f"-{port.container_port_end}"
    body = f"{ip}:{host}:{container}" if ip else (f"{host}:{container}" if host else container)
    return body if port.protocol is operations.PortProtocol.TCP else f"{body}/{port.protocol.value}"


def volume_spec(volume: operations.VolumeMount) -> str:
    """``-v`` in Docker's spelling: ``SOURCE:TARGET[:OPTIONS]`` or ``TARGET``."""
    parts = [volume.source] if volume.source else []
    parts.append(volume.target)
    if volume.options:
        parts.append(",".join(volume.options))
    return ":".join(parts)


def _cpus(nano_cpus: int | None) -> str | None:
    if nano_cpus is None:
        return None
    return f"{nano_cpus / 1e9:.9f}".rstrip("0").rstrip(".")  # every digit, as it will run


def _size(size: int | None) -> str | None:
    if size is None:
        return None
    for unit, factor in (("g", 2**30), ("m", 2**20), ("k", 2**10)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}b"


def duration_text(duration: timedelta) -> str:
    """A whole-second duration in Go's spelling: ``1h30m``, ``10m``, ``90s`` -> ``1m30s``."""
    seconds = int(duration.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{seconds}s" if seconds or not text else "")


def _positionals(words: tuple[str, ...]) -> list[str]:
    # A word that starts like an option needs `--` before it, or it would read as one.
    return ["--", *words] if any(word.startswith("-") for word in words) else list(words)


def _flags(on: bool, flag: str) -> list[str]:
    return [flag] if on else []


def _value(option: str, value: object) -> list[str]:
    return [] if value is None else [option, str(value)]


def _each(option: str, values: Iterable[str]) -> list[str]:
    return [word for value in values for word in (option, value)]


def _filters(filters: operations.FilterPairs) -> list[str]:
    return _each("--filter", [f"{key}={value}" for key, value in filters])
