"""Which container the bot itself runs in, if any: protected from chat even without a label.

The engine bind-mounts each container's ``hostname``, ``hosts`` and ``resolv.conf`` from
``<data-root>/containers/<full ID>/``, and that path shows in the container's own mount table
whatever the cgroup version or the hostname; under cgroup v1 ``/proc/self/cgroup`` names
the ID too. Nothing found: the bot does not run in a container (or not in a Docker one).
"""

from __future__ import annotations

import re
from pathlib import Path

_FROM_MOUNTS = re.compile(r"/containers/([0-9a-f]{64})/(?:hostname|hosts|resolv\.conf)\s")
_FROM_CGROUP = re.compile(r"(?:/docker/|docker-)([0-9a-f]{64})(?:\.scope)?\s*$", re.MULTILINE)
_PROC = Path("/proc/self")


def own_container_ids(proc: Path = _PROC) -> frozenset[str]:
    """The full IDs of the container this process runs in (empty outside one)."""
    found: set[str] = set()
    for name, pattern in (("mountinfo", _FROM_MOUNTS), ("cgroup", _FROM_CGROUP)):
        try:
            text = (proc / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found.update(pattern.findall(text))
    return frozenset(found)
