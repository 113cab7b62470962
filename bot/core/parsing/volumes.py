"""``-v/--volume`` specifications: host paths, named volumes and anonymous volumes."""

from __future__ import annotations

import posixpath
import re

from bot.core.operations import MountKind, VolumeMount
from bot.errors import ParseError

_VOLUME_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*\Z")
_MODES = frozenset(
    {"ro", "rw", "z", "Z", "nocopy", "shared", "rshared", "slave", "rslave", "private", "rprivate"}
)


def parse_volume(spec: str) -> VolumeMount:
    """Parse one ``-v`` value: ``/host:/ctr[:opts]``, ``name:/ctr[:opts]`` or ``/ctr``."""
    parts = spec.split(":")
    if len(parts) > 3 or not all(parts):
        raise _error(spec, "expected SOURCE:TARGET[:OPTIONS] or TARGET")
    if len(parts) == 1:
        return VolumeMount(kind=MountKind.ANONYMOUS, target=_target(spec, parts[0]))
    source, target = parts[0], _target(spec, parts[1])
    options = tuple(parts[2].split(",")) if len(parts) == 3 else ()
    for option in options:
        if option not in _MODES:
            raise _error(
                spec, f"unknown option {option!r} (use ro, rw, z, Z or a propagation mode)"
            )
    if "ro" in options and "rw" in options:
        raise _error(spec, "ro and rw contradict each other")
    if source.startswith("/"):
        return VolumeMount(kind=MountKind.BIND, source=source, target=target, options=options)
    if source.startswith(".") or "/" in source:
        raise _error(
            spec,
            f"host path {source!r} is relative; the bot runs elsewhere than your shell, "
            "so give an absolute path",
        )
    if not _VOLUME_NAME.match(source):
        raise _error(spec, f"{source!r} is not a valid volume name")
    return VolumeMount(kind=MountKind.VOLUME, source=source, target=target, options=options)


def _target(spec: str, target: str) -> str:
    if not target.startswith("/"):
        raise _error(spec, f"the container path {target!r} must be absolute")
    if posixpath.normpath(target) == "/":
        raise _error(spec, "the container path cannot be '/'")
    return target


def _error(spec: str, detail: str) -> ParseError:
    return ParseError(f"Invalid volume {spec!r}: {detail}.")
