"""Host paths for bind mounts, decided by a rule that holds on a filesystem the bot cannot see.

The engine resolves a bind source on *its* host, which is not the bot's when the bot runs in a
container or talks to a ``tcp://``/``ssh://`` engine; and even on one host a check that resolves
symlinks races the mount. So nothing is resolved here. Paths are compared as text, after a
lexical clean-up (``//`` and ``.`` collapse; ``..`` is refused outright), by this rule:

* ``host_path_allowlist`` entries may be mounted **exactly** (read-write or read-only), never a
  path below them. A container that can write into ``/srv/shared`` can plant
  ``/srv/shared/root -> /`` there, but nobody may mount ``/srv/shared/root``.
* ``host_path_readonly_trees`` entries and any path below them may be mounted **read-only**.
  No container can write there (every mount of it is read-only), so no container can plant a
  symlink that a later mount would follow.
* No entry may lie inside another (checked at start-up): a writable entry inside a tree, or
  any entry inside a writable one, would bring the symlink back.

* Nothing under ``/proc``, ``/sys`` or ``/dev`` is ever mountable: ``/proc/1/root`` *is* the
  host's root (Docker socket included) whatever any rule says about the path's text.
* Nothing that is or holds an engine's socket (``*.sock``, ``/run``, ``/var/run``, ``/``, the
  configured ``unix://`` engines) unless ``allow_docker_socket``: a read-only mount of a
  socket still connects.

Symlinks that the host's own administrators put inside these paths are theirs to own.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

DOCKER_SOCKETS = (
    PurePosixPath("/var/run/docker.sock"),
    PurePosixPath("/run/docker.sock"),
    PurePosixPath("/run/containerd/containerd.sock"),
    PurePosixPath("/var/run/containerd/containerd.sock"),
    PurePosixPath("/run/podman/podman.sock"),
)
# Kernel views of the host: /proc/1/root is the host's root, /sys and /dev its devices.
FORBIDDEN_TREES = (PurePosixPath("/proc"), PurePosixPath("/sys"), PurePosixPath("/dev"))


class HostPathError(ValueError):
    """A host path that cannot be compared safely (relative, or with ``..``)."""


def clean_host_path(text: str) -> PurePosixPath:
    """``text`` as an absolute path with ``//``, ``.`` and a trailing ``/`` removed.

    ``..`` is refused rather than collapsed: on the engine's host ``a/link/..`` need not be
    ``a``, and a path that needs ``..`` is never one an allowlist names.
    """
    if not text.startswith("/"):
        raise HostPathError(f"{text!r} is not an absolute path")
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise HostPathError(f"{text!r} contains '..'")
    return PurePosixPath("/", *parts)


def exposes_docker_socket(path: PurePosixPath, *, sockets: Iterable[str] = ()) -> bool:
    """True for a socket (``*.sock``), a known or configured engine socket, or a folder that
    holds one."""
    known = [*DOCKER_SOCKETS, *(PurePosixPath(socket) for socket in sockets)]
    return path.name.endswith(".sock") or any(
        socket == path or socket.is_relative_to(path) for socket in known
    )


def in_forbidden_tree(path: PurePosixPath) -> bool:
    """Under /proc, /sys or /dev (or one of them): never mountable."""
    return any(path.is_relative_to(tree) for tree in FORBIDDEN_TREES)


def nested_entries(exact: Iterable[str], trees: Iterable[str]) -> str | None:
    """Why the two lists may not be used together (one entry inside another), or None."""
    entries = [(clean_host_path(p), "host_path_allowlist") for p in exact]
    entries += [(clean_host_path(p), "host_path_readonly_trees") for p in trees]
    for path, kind in entries:
        if in_forbidden_tree(path):
            return f"{path} ({kind}) is under /proc, /sys or /dev: /proc/1/root is the host's root"
    for index, (path, kind) in enumerate(entries):
        for other, other_kind in entries[index + 1 :]:
            if path.is_relative_to(other) or other.is_relative_to(path):
                return (
                    f"{path} ({kind}) and {other} ({other_kind}) overlap: a container that may "
                    "write into one could plant a symlink that a mount of the other follows"
                )
    return None


def host_path_refusal(
    source: str, *, read_only: bool, exact: Iterable[str], trees: Iterable[str]
) -> str | None:
    """Why ``source`` may not be bind-mounted under the rule above, or None if it may."""
    try:
        path = clean_host_path(source)
    except HostPathError as err:
        return f"host path {err} (give the exact path as allowed)"
    if in_forbidden_tree(path):
        return f"host path `{source}` is under /proc, /sys or /dev, which are never mounted"
    if any(path == clean_host_path(entry) for entry in exact):
        return None
    for tree in trees:
        if path.is_relative_to(clean_host_path(tree)):
            if read_only:
                return None
            return (
                f"host path `{source}` is in [run_policy] host_path_readonly_trees: "
                "mount it read-only (`:ro`)"
            )
    return (
        f"host path `{source}` is not allowed: only the exact paths in [run_policy] "
        "host_path_allowlist, or read-only paths below host_path_readonly_trees"
    )
